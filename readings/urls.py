from django.urls import path

from readings import (
    api_stations,
    api_wado,
    api_workstation,
    views,
    views_preferences,
    views_sessions,
    views_stations,
    views_verdicts,
    views_workstation,
)

app_name = "readings"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("examen/<int:exam_id>/", views.read_exam, name="read"),
    path("verdict/<int:reading_id>/annuler/", views_verdicts.withdraw, name="withdraw"),
    path("poste/", views_workstation.workstation, name="workstation"),
    path("preferences/", views_preferences.preferences, name="preferences"),
    # The reading workstation's JSON endpoints and the originals of the views (issue 5).
    path("api/cas/<int:exam_id>/", api_workstation.case, name="api_case"),
    path("api/cas/<int:exam_id>/verdict/", api_workstation.verdict, name="api_verdict"),
    path("api/cas/<int:exam_id>/mettre-de-cote/", api_workstation.defer, name="api_defer"),
    path("api/preferences/", api_workstation.preferences, name="api_preferences"),
    path("dicom/<str:sop_uid>/", api_workstation.dicom, name="dicom"),
    # Declared reading station (spec §9): enrolment of the station's browser, display check.
    path("poste-de-lecture/enroler/<int:station_id>/", views_stations.enrol, name="station_enrol"),
    path("api/poste/mire/", api_stations.pattern, name="api_station_pattern"),
    path("api/poste/controle/", api_stations.check, name="api_station_check"),
    # WADO-RS for the workstation: metadata and the HTJ2K lossless frame of each view.
    path(
        "wado/studies/<str:study_uid>/series/<str:series_uid>/instances/<str:sop_uid>/metadata",
        api_wado.metadata,
        name="wado_metadata",
    ),
    path(
        "wado/studies/<str:study_uid>/series/<str:series_uid>/instances/<str:sop_uid>/frames/<str:frame_list>",
        api_wado.frames,
        name="wado_frames",
    ),
    path("session/demarrer/", views_sessions.session_start, name="session_start"),
    path("session/<int:session_id>/terminer/", views_sessions.session_end, name="session_end"),
]
