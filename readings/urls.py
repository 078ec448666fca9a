from django.urls import path

from readings import views, views_sessions

app_name = "readings"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("examen/<int:exam_id>/", views.read_exam, name="read"),
    path("session/demarrer/", views_sessions.session_start, name="session_start"),
    path("session/<int:session_id>/terminer/", views_sessions.session_end, name="session_end"),
]
