"""DICOM JSON model (PS3.18 F.2) for QIDO-RS results, WADO-RS metadata and the STOW-RS response.

Human-readable reasons of the STOW-RS response go in a private block (PS3.5 7.8) of each item:
(0009,0010) LO private creator "L2PLATFORM", (0009,1001) LO stable reason code, (0009,1002) LT French reason.
"""

from django.http import HttpRequest
from pydicom import Dataset

from screening.models import DicomInstance, DicomSeries, DicomStudy

PRIVATE_CREATOR = "L2PLATFORM"
CHARSET = "ISO_IR 192"


def attr(vr: str, *values) -> dict:
    """One attribute; empty values give the attribute without a value (`{"vr": …}`)."""
    kept = [v for v in values if v not in (None, "")]
    return {"vr": vr, "Value": kept} if kept else {"vr": vr}


def person_name(value: str) -> dict:
    return attr("PN", {"Alphabetic": value} if value else None)


def private_reason(code: str, reason: str) -> dict:
    return {
        "00090010": attr("LO", PRIVATE_CREATOR),
        "00091001": attr("LO", code),
        "00091002": attr("LT", reason),
    }


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/dicomweb").rstrip("/")


def study_url(base: str, study_uid: str) -> str:
    return f"{base}/studies/{study_uid}"


def series_url(base: str, study_uid: str, series_uid: str) -> str:
    return f"{study_url(base, study_uid)}/series/{series_uid}"


def instance_url(base: str, study_uid: str, series_uid: str, sop_uid: str) -> str:
    return f"{series_url(base, study_uid, series_uid)}/instances/{sop_uid}"


def _study_attrs(study: DicomStudy) -> dict:
    return {
        "00080005": attr("CS", CHARSET),
        "00080020": attr("DA", study.study_date),
        "00080050": attr("SH", study.accession_number),
        "00100010": person_name(study.patient_name),
        "00100020": attr("LO", study.patient_id),
        "00100030": attr("DA", study.patient_birth_date),
        "0020000D": attr("UI", study.study_uid),
    }


def study_json(study: DicomStudy, base: str) -> dict:
    """A QIDO-RS study result; expects `modalities`, `n_series` and `n_instances` from the selector."""
    data = _study_attrs(study)
    data.update(
        {
            "00080061": attr("CS", *study.modalities),
            "00081190": attr("UR", study_url(base, study.study_uid)),
            "00201206": attr("IS", study.n_series),
            "00201208": attr("IS", study.n_instances),
        }
    )
    return dict(sorted(data.items()))


def series_json(series: DicomSeries, base: str) -> dict:
    """A QIDO-RS series result; expects `n_instances` from the selector."""
    data = {
        "00080005": attr("CS", CHARSET),
        "00080060": attr("CS", series.modality),
        "0008103E": attr("LO", series.series_description),
        "00081190": attr("UR", series_url(base, series.study.study_uid, series.series_uid)),
        "0020000D": attr("UI", series.study.study_uid),
        "0020000E": attr("UI", series.series_uid),
        "00201209": attr("IS", series.n_instances),
    }
    return dict(sorted(data.items()))


def instance_json(instance: DicomInstance, base: str) -> dict:
    series = instance.series
    data = {
        "00080005": attr("CS", CHARSET),
        "00080016": attr("UI", instance.sop_class_uid),
        "00080018": attr("UI", instance.sop_uid),
        "00080060": attr("CS", series.modality),
        "00081190": attr(
            "UR", instance_url(base, series.study.study_uid, series.series_uid, instance.sop_uid)
        ),
        "00083002": attr("UI", instance.transfer_syntax_uid),
        "00185101": attr("CS", instance.view),
        "0020000D": attr("UI", series.study.study_uid),
        "0020000E": attr("UI", series.series_uid),
        "00200013": attr("IS", instance.instance_number),
        "00200062": attr("CS", instance.laterality),
        "00280010": attr("US", instance.rows),
        "00280011": attr("US", instance.columns),
    }
    return dict(sorted(data.items()))


def metadata_json(ds: Dataset, instance: DicomInstance, base: str) -> dict:
    """WADO-RS metadata: the stored header without pixel data, plus where to fetch the instance."""
    data = ds.to_json_dict(bulk_data_threshold=4096, suppress_invalid_tags=True)
    series = instance.series
    data["00081190"] = attr(
        "UR", instance_url(base, series.study.study_uid, series.series_uid, instance.sop_uid)
    )
    data["00083002"] = attr("UI", instance.transfer_syntax_uid)
    return dict(sorted(data.items()))
