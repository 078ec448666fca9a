from django.urls import path

from readings import views

app_name = "readings"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("examen/<int:exam_id>/", views.read_exam, name="read"),
]
