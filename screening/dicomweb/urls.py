"""DICOMweb routes (PS3.18): STOW-RS, QIDO-RS and WADO-RS, all behind a practice token."""

from django.urls import path

from . import qido, stow, wado
from .common import endpoint

S, SE, SOP = "<str:study_uid>", "<str:series_uid>", "<str:sop_uid>"

app_name = "dicomweb"
urlpatterns = [
    path("studies", endpoint(GET=qido.search_studies, POST=stow.store), name="studies"),
    path(f"studies/{S}", endpoint(GET=wado.retrieve, POST=stow.store), name="study"),
    path(f"studies/{S}/metadata", endpoint(GET=wado.metadata), name="study_metadata"),
    path(f"studies/{S}/series", endpoint(GET=qido.search_series), name="series_search"),
    path(f"studies/{S}/series/{SE}", endpoint(GET=wado.retrieve), name="series"),
    path(f"studies/{S}/series/{SE}/metadata", endpoint(GET=wado.metadata), name="series_metadata"),
    path(f"studies/{S}/series/{SE}/instances", endpoint(GET=qido.search_instances), name="instances_search"),
    path(f"studies/{S}/series/{SE}/instances/{SOP}", endpoint(GET=wado.retrieve), name="instance"),
    path(
        f"studies/{S}/series/{SE}/instances/{SOP}/metadata",
        endpoint(GET=wado.metadata),
        name="instance_metadata",
    ),
]
