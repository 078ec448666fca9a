"""URLs of the indicators pages (issue 6)."""

from django.urls import path  # noqa: F401

app_name = "indicators"
urlpatterns: list = []
