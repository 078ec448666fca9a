from django.urls import path

from readings import api_workstation, views, views_sessions, views_verdicts, views_workstation

app_name = "readings"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("examen/<int:exam_id>/", views.read_exam, name="read"),
    path("verdict/<int:reading_id>/annuler/", views_verdicts.withdraw, name="withdraw"),
    path("poste/", views_workstation.workstation, name="workstation"),
    # The reading workstation's JSON endpoints and the originals of the views (issue 5).
    path("api/cas/<int:exam_id>/", api_workstation.case, name="api_case"),
    path("api/cas/<int:exam_id>/verdict/", api_workstation.verdict, name="api_verdict"),
    path("api/cas/<int:exam_id>/mettre-de-cote/", api_workstation.defer, name="api_defer"),
    path("api/preferences/", api_workstation.preferences, name="api_preferences"),
    path("dicom/<str:sop_uid>/", api_workstation.dicom, name="dicom"),
    path("session/demarrer/", views_sessions.session_start, name="session_start"),
    path("session/<int:session_id>/terminer/", views_sessions.session_end, name="session_end"),
]
