"""DICOMweb reads, always scoped to the token's practice (DicomStudy.practice): another practice gets 404."""

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404

from screening.models import DicomInstance, DicomSeries, DicomStudy, Practice


def studies_for_practice(*, practice: Practice) -> QuerySet[DicomStudy]:
    return (
        DicomStudy.objects.filter(practice=practice)
        .annotate(n_series=Count("series", distinct=True), n_instances=Count("series__instances"))
        .prefetch_related(Prefetch("series", queryset=DicomSeries.objects.only("study_id", "modality")))
        .order_by("-study_date", "study_uid")
    )


def study_for_practice(*, practice: Practice, study_uid: str) -> DicomStudy:
    study = DicomStudy.objects.filter(practice=practice, study_uid=study_uid).first()
    if study is None:
        raise Http404("Étude introuvable.")
    return study


def series_for_study(*, study: DicomStudy) -> QuerySet[DicomSeries]:
    return (
        study.series.select_related("study").annotate(n_instances=Count("instances")).order_by("series_uid")
    )


def instances_for_practice(
    *, practice: Practice, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
) -> QuerySet[DicomInstance]:
    """The stored instances of a study (or one series, or one instance) of the practice; 404 if none."""
    instances = DicomInstance.objects.filter(
        series__study__practice=practice, series__study__study_uid=study_uid
    ).select_related("series__study", "exam")
    if series_uid is not None:
        instances = instances.filter(series__series_uid=series_uid)
    if sop_uid is not None:
        instances = instances.filter(sop_uid=sop_uid)
    instances = instances.order_by("series__series_uid", "instance_number", "pk")
    if not instances.exists():
        raise Http404(
            "Instance introuvable."
            if sop_uid
            else "Série introuvable."
            if series_uid
            else "Étude introuvable."
        )
    return instances
