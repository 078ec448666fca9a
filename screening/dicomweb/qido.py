"""QIDO-RS (PS3.18 10.6): search studies, a study's series, a series' instances; application/dicom+json.

Matching keys, by keyword or tag: PatientID, PatientName, AccessionNumber (single value, `*`/`?` wildcards),
StudyDate (YYYYMMDD, or a range YYYYMMDD-YYYYMMDD, open on either side), StudyInstanceUID (UID list,
comma- or backslash-separated), ModalitiesInStudy; Modality and SeriesInstanceUID for series;
SOPInstanceUID and SOPClassUID for instances. `limit` / `offset` page the results. No match: 200 and [].
"""

import re

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse

from screening.models import DicomInstance
from screening.services.errors import ServiceError

from .common import DICOM_JSON, accepts, dicom_json, error
from .dicom_json import base_url, instance_json, series_json, study_json
from .selectors import series_for_study, studies_for_practice, study_for_practice

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
KEYS = {
    "00100020": "PatientID",
    "00100010": "PatientName",
    "00080020": "StudyDate",
    "00080050": "AccessionNumber",
    "0020000D": "StudyInstanceUID",
    "00080061": "ModalitiesInStudy",
    "00080060": "Modality",
    "0020000E": "SeriesInstanceUID",
    "00080018": "SOPInstanceUID",
    "00080016": "SOPClassUID",
}
DATE = re.compile(r"^\d{8}$")


def _params(request: HttpRequest) -> dict[str, str]:
    """Query keys by keyword, whether sent as keyword or as tag (0020000D)."""
    params = {}
    for key, value in request.GET.items():
        keyword = KEYS.get(key.upper(), key)
        if value != "":
            params[keyword] = value
    return params


def _int(params: dict[str, str], name: str, default: int, maximum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise ServiceError("invalid_query", f"« {name} » doit être un entier positif.")
    return min(int(raw), maximum)


def _text(field: str, value: str, *, ignore_case: bool = False) -> Q:
    """Single value matching, with `*` (any run) and `?` (one character) wildcards (PS3.4 C.2.2.2)."""
    if "*" not in value and "?" not in value:
        return Q(**{f"{field}__iexact" if ignore_case else field: value})
    pattern = "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value) + "$"
    return Q(**{f"{field}__iregex" if ignore_case else f"{field}__regex": pattern})


def _uids(value: str) -> list[str]:
    return [uid.strip() for uid in re.split(r"[\\,]", value) if uid.strip()]


def _date(field: str, value: str) -> Q:
    low, sep, high = value.partition("-")
    if not sep:
        low = high = value
    bad = (low and not DATE.match(low)) or (high and not DATE.match(high)) or not (low or high)
    if bad:
        raise ServiceError("invalid_query", "StudyDate : AAAAMMJJ ou intervalle AAAAMMJJ-AAAAMMJJ attendu.")
    q = Q()
    if low:
        q &= Q(**{f"{field}__gte": low})
    if high:
        q &= Q(**{f"{field}__lte": high})
    return q


def _page(items: QuerySet, params: dict[str, str]) -> QuerySet:
    offset = _int(params, "offset", 0, 10**9)
    limit = _int(params, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    return items[offset : offset + limit]


def _not_json(request: HttpRequest) -> HttpResponse | None:
    if accepts(request, DICOM_JSON) or accepts(request, "application/json"):
        return None
    return error(406, "not_acceptable", "Seul application/dicom+json est proposé (pas de XML).")


def search_studies(request: HttpRequest) -> HttpResponse:
    if (refusal := _not_json(request)) is not None:
        return refusal
    params = _params(request)
    studies = studies_for_practice(practice=request.api_token.practice)
    if "PatientID" in params:
        studies = studies.filter(_text("patient_id", params["PatientID"]))
    if "PatientName" in params:
        studies = studies.filter(_text("patient_name", params["PatientName"], ignore_case=True))
    if "AccessionNumber" in params:
        studies = studies.filter(_text("accession_number", params["AccessionNumber"]))
    if "StudyDate" in params:
        studies = studies.filter(_date("study_date", params["StudyDate"]))
    if "StudyInstanceUID" in params:
        studies = studies.filter(study_uid__in=_uids(params["StudyInstanceUID"]))
    if "ModalitiesInStudy" in params:
        wanted = [m.upper() for m in _uids(params["ModalitiesInStudy"])]
        studies = studies.filter(
            pk__in=studies.model.objects.filter(series__modality__in=wanted).values("pk")
        )
    base = base_url(request)
    results = []
    for study in _page(studies, params):
        study.modalities = sorted({series.modality for series in study.series.all()})
        results.append(study_json(study, base))
    return dicom_json(results)


def search_series(request: HttpRequest, study_uid: str) -> HttpResponse:
    if (refusal := _not_json(request)) is not None:
        return refusal
    params = _params(request)
    study = study_for_practice(practice=request.api_token.practice, study_uid=study_uid)
    series = series_for_study(study=study)
    if "Modality" in params:
        series = series.filter(modality__in=[m.upper() for m in _uids(params["Modality"])])
    if "SeriesInstanceUID" in params:
        series = series.filter(series_uid__in=_uids(params["SeriesInstanceUID"]))
    base = base_url(request)
    return dicom_json([series_json(item, base) for item in _page(series, params)])


def search_instances(request: HttpRequest, study_uid: str, series_uid: str) -> HttpResponse:
    if (refusal := _not_json(request)) is not None:
        return refusal
    params = _params(request)
    study = study_for_practice(practice=request.api_token.practice, study_uid=study_uid)
    instances = (
        DicomInstance.objects.filter(series__study=study, series__series_uid=series_uid)
        .select_related("series__study")
        .order_by("instance_number", "pk")
    )
    if "SOPInstanceUID" in params:
        instances = instances.filter(sop_uid__in=_uids(params["SOPInstanceUID"]))
    if "SOPClassUID" in params:
        instances = instances.filter(sop_class_uid__in=_uids(params["SOPClassUID"]))
    base = base_url(request)
    return dicom_json([instance_json(item, base) for item in _page(instances, params)])
