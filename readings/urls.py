from django.urls import path

from readings import views, views_sessions, views_verdicts

app_name = "readings"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("examen/<int:exam_id>/", views.read_exam, name="read"),
    path("verdict/<int:reading_id>/annuler/", views_verdicts.withdraw, name="withdraw"),
    path("session/demarrer/", views_sessions.session_start, name="session_start"),
    path("session/<int:session_id>/terminer/", views_sessions.session_end, name="session_end"),
]
