"""URLs of the indicators pages (issue 6)."""

from django.urls import path

from readings import views_indicators

app_name = "indicators"
urlpatterns = [
    path("", views_indicators.indicators_page, name="page"),
    path("export.<str:fmt>", views_indicators.indicators_export, name="export"),
    path("fiche/", views_indicators.feedback_pick, name="feedback_pick"),
    path("fiche/<int:radiologist_id>/<int:year>/", views_indicators.feedback_pdf, name="feedback_pdf"),
    path("mes-indicateurs/", views_indicators.my_indicators, name="mine"),
]
