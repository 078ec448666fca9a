"""STOW-RS (PS3.18 10.5): `POST /dicomweb/studies[/{study}]`, multipart/related; type="application/dicom".

The body is read as a stream, one part at a time to a temporary file (never the whole body in memory);
each part goes to `ingest_file_receive(practice=token's practice, source=STOW, sender=token name)`.
Response (application/dicom+json, Store Instances Response): 200 all stored, 202 some failed, 409 none
stored. ReferencedSOPSequence items carry the RetrieveURL; FailedSOPSequence items the FailureReason:

    0xA700 out of resources (part above MAX_DICOM_FILE_BYTES)
    0xA900 data set does not match SOP class (laterality or view missing, another study than the URL's)
    0xC000 cannot understand (not DICOM, UIDs missing, pixel data unreadable, part not application/dicom)
    0x0111 duplicate SOP instance (same SOP Instance UID, different content: quarantined)
    0x0122 SOP class not supported (not MG For Presentation: other modality, tomosynthesis, film…)
    0x0110 processing failure (anything else, e.g. identity mismatch)

and, in a private block, the stable reason code and the French reason (see dicom_json.private_reason).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_header_parameters
from pydicom import dcmread

from screening.models import AuditEvent, IngestFile
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.services.ingest import ingest_file_receive

from .common import dicom_json, error
from .dicom_json import attr, base_url, instance_url, private_reason, study_url
from .multipart import MultipartError, Part, iter_parts

OUT_OF_RESOURCES, NOT_MATCHING_CLASS, CANNOT_UNDERSTAND = 0xA700, 0xA900, 0xC000
DUPLICATE_SOP, CLASS_NOT_SUPPORTED, PROCESSING_FAILURE = 0x0111, 0x0122, 0x0110
FAILURE_REASONS = {
    "file_too_large": OUT_OF_RESOURCES,
    "laterality_missing": NOT_MATCHING_CLASS,
    "view_missing": NOT_MATCHING_CLASS,
    "dimensions_missing": NOT_MATCHING_CLASS,
    "study_mismatch": NOT_MATCHING_CLASS,
    "not_dicom": CANNOT_UNDERSTAND,
    "empty_file": CANNOT_UNDERSTAND,
    "uid_missing": CANNOT_UNDERSTAND,
    "uid_invalid": CANNOT_UNDERSTAND,
    "part_not_dicom": CANNOT_UNDERSTAND,
    "pixel_data_unreadable": CANNOT_UNDERSTAND,
    "absurd_dimensions": CANNOT_UNDERSTAND,
    "uid_conflict": DUPLICATE_SOP,
    "wrong_modality": CLASS_NOT_SUPPORTED,
    "for_processing": CLASS_NOT_SUPPORTED,
    "digitised_film": CLASS_NOT_SUPPORTED,
    "not_an_image": CLASS_NOT_SUPPORTED,
    "tomosynthesis": CLASS_NOT_SUPPORTED,
    "multiframe": CLASS_NOT_SUPPORTED,
}
# IGNORED objects (raw images, reports) are stored as received but kept out of reading: referenced, with the notice.
STORED = (
    IngestFile.State.ACCEPTED,
    IngestFile.State.DUPLICATE,
    IngestFile.State.RECEIVED,
    IngestFile.State.IGNORED,
)
PENDING_REASON = "Reçu : contrôle de l'image en cours ; son état final se lit sur l'instance (QIDO-RS)."


@dataclass
class Outcome:
    sop_class: str
    sop_uid: str
    study_uid: str
    series_uid: str
    stored: bool
    code: str = ""
    reason: str = ""


def _peek(part: Part) -> tuple[str, str, str, str]:
    """SOP class, SOP instance, study and series UIDs from the header, or blanks if unreadable."""
    try:
        ds = dcmread(part.file, stop_before_pixels=True)
    except Exception:  # noqa: BLE001  (any parse error: the ingest service refuses it with its reason)
        return "", "", "", ""
    finally:
        part.file.seek(0)
    return tuple(
        str(ds.get(key, "")).strip()[:64]
        for key in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
    )


def _store_part(request: HttpRequest, part: Part, target_study: str | None) -> Outcome:
    sop_class, sop_uid, study_uid, series_uid = _peek(part)
    outcome = Outcome(sop_class, sop_uid, study_uid, series_uid, stored=False)
    media = parse_header_parameters(part.headers.get("content-type", "application/dicom"))[0].lower()
    mb = settings.MAX_DICOM_FILE_BYTES // (1024 * 1024)
    if part.too_large:
        outcome.code, outcome.reason = (
            "file_too_large",
            f"Partie {part.index} : fichier trop volumineux ({mb} Mo au plus).",
        )
    elif media != "application/dicom":
        outcome.code = "part_not_dicom"
        outcome.reason = f"Partie {part.index} : type « {media} » ; seul application/dicom est accepté."
    elif target_study and study_uid and study_uid != target_study:
        outcome.code = "study_mismatch"
        outcome.reason = f"Partie {part.index} : l'instance appartient à une autre étude que celle de l'URL."
    if outcome.code:
        return outcome
    token = request.api_token
    name = f"{sop_uid or f'stow-partie-{part.index}'}.dcm"
    try:
        record = ingest_file_receive(
            practice=token.practice,
            upload=File(part.file, name=name),
            original_name=name,
            actor=request.user,
            source=IngestFile.Source.STOW,
            sender=token.name,
        )
    except ServiceError as refusal:
        outcome.code, outcome.reason = refusal.code, f"Partie {part.index} : {refusal.message}"
        return outcome
    record.refresh_from_db()
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.FILE_UPLOAD,
        exam=record.exam,
        object_ref=f"STOW-RS {sop_uid or name}",
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    outcome.stored = record.state in STORED
    outcome.code, outcome.reason = record.reason_code, record.reason
    if record.state == IngestFile.State.RECEIVED:
        outcome.code, outcome.reason = "pending_check", PENDING_REASON
    return outcome


def _response(request: HttpRequest, outcomes: list[Outcome]) -> HttpResponse:
    base = base_url(request)
    referenced, failed = [], []
    for outcome in outcomes:
        item = {"00081150": attr("UI", outcome.sop_class), "00081155": attr("UI", outcome.sop_uid)}
        if outcome.stored:
            item["00081190"] = attr(
                "UR", instance_url(base, outcome.study_uid, outcome.series_uid, outcome.sop_uid)
            )
            if outcome.code:  # duplicate (harmless) or check still running
                item.update(private_reason(outcome.code, outcome.reason))
            referenced.append(dict(sorted(item.items())))
        else:
            item["00081197"] = attr("US", FAILURE_REASONS.get(outcome.code, PROCESSING_FAILURE))
            item.update(private_reason(outcome.code, outcome.reason))
            failed.append(dict(sorted(item.items())))
    body: dict = {}
    studies = {outcome.study_uid for outcome in outcomes if outcome.stored}
    if len(studies) == 1 and "" not in studies:
        body["00081190"] = attr("UR", study_url(base, studies.pop()))
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    if referenced:
        body["00081199"] = {"vr": "SQ", "Value": referenced}
    status = 200 if not failed else 202 if referenced else 409
    return dicom_json(body, status=status)


def store(request: HttpRequest, study_uid: str | None = None) -> HttpResponse:
    media, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    part_type = params.get("type", "application/dicom").lower()
    if media.lower() != "multipart/related" or part_type != "application/dicom":
        return error(
            415,
            "unsupported_media_type",
            'Type de contenu attendu : multipart/related; type="application/dicom" '
            "(instances DICOM Part 10 ; ni métadonnées JSON/XML ni données en masse).",
        )
    outcomes: list[Outcome] = []
    try:
        for part in iter_parts(
            request,
            params.get("boundary", ""),
            max_part_bytes=settings.MAX_DICOM_FILE_BYTES,
            temp_dir=settings.FILE_UPLOAD_TEMP_DIR,
        ):
            outcomes.append(_store_part(request, part, study_uid))
    except MultipartError as exc:
        if not outcomes:
            return error(400, "multipart_invalid", str(exc))
        outcomes.append(Outcome("", "", "", "", stored=False, code="multipart_invalid", reason=str(exc)))
    if not outcomes:
        return error(400, "no_parts", "Aucune instance DICOM dans la requête.")
    return _response(request, outcomes)
