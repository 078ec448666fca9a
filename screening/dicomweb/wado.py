"""WADO-RS (PS3.18 10.4): the stored originals, byte for byte, as multipart/related; type="application/dicom",
streamed from storage in chunks; and their metadata (application/dicom+json, read without pixel data).

No transcoding: a transfer-syntax other than the stored one (or `*`) in Accept is refused with 406.
Every retrieval is written to the audit log (IMAGE_VIEW; metadata: EXAM_VIEW) with the service user.
"""

import uuid
from collections.abc import Iterable, Iterator

from django.core.files.storage import storages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from pydicom import dcmread

from screening.models import AuditEvent, DicomInstance
from screening.services.audit import audit_record

from .common import accepted_media, dicom_json, error
from .dicom_json import base_url, instance_url, metadata_json
from .selectors import instances_for_practice

CHUNK_BYTES = 256 * 1024


def _wanted_syntax(request: HttpRequest) -> tuple[bool, set[str]]:
    """(acceptable at all, transfer syntaxes asked for; empty = any)."""
    syntaxes: set[str] = set()
    acceptable = False
    for media, params in accepted_media(request):
        part_type = params.get("type", "application/dicom").lower()
        if media in ("*/*", "multipart/*") or (
            media == "multipart/related" and part_type in ("application/dicom", "*/*", "application/*")
        ):
            acceptable = True
            syntax = params.get("transfer-syntax", "*")
            if syntax == "*":
                return True, set()
            syntaxes.add(syntax)
    return acceptable, syntaxes


def _audit(request: HttpRequest, instances: Iterable[DicomInstance], action: str, what: str) -> None:
    for instance in instances:
        audit_record(
            actor=request.user,
            action=action,
            exam=instance.exam,
            object_ref=f"DICOMweb {what} {instance.sop_uid}",
            ip_address=request.META.get("REMOTE_ADDR"),
        )


def _stream(instances: list[DicomInstance], boundary: str, base: str) -> Iterator[bytes]:
    for instance in instances:
        series = instance.series
        location = instance_url(base, series.study.study_uid, series.series_uid, instance.sop_uid)
        yield (
            f"--{boundary}\r\n"
            f"Content-Type: application/dicom; transfer-syntax={instance.transfer_syntax_uid}\r\n"
            f"Content-Length: {instance.size_bytes}\r\n"
            f"Content-Location: {location}\r\n\r\n"
        ).encode("ascii")
        with storages["originals"].open(instance.file, "rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                yield chunk
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode("ascii")


def retrieve(
    request: HttpRequest, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
) -> HttpResponse:
    instances = list(
        instances_for_practice(
            practice=request.api_token.practice, study_uid=study_uid, series_uid=series_uid, sop_uid=sop_uid
        )
    )
    acceptable, syntaxes = _wanted_syntax(request)
    if not acceptable:
        return error(406, "not_acceptable", 'Seul multipart/related; type="application/dicom" est proposé.')
    if syntaxes and any(instance.transfer_syntax_uid not in syntaxes for instance in instances):
        return error(
            406,
            "transcoding_unsupported",
            "Pas de transcodage : les originaux sont rendus dans leur syntaxe de transfert "
            "(transfer-syntax=* accepté).",
        )
    if any(not storages["originals"].exists(instance.file) for instance in instances):
        return error(404, "original_missing", "Fichier original indisponible : signalez-le au centre.")
    _audit(request, instances, AuditEvent.Action.IMAGE_VIEW, "WADO-RS")
    boundary = uuid.uuid4().hex
    response = StreamingHttpResponse(
        _stream(instances, boundary, base_url(request)),
        content_type=f'multipart/related; type="application/dicom"; boundary={boundary}',
    )
    response["Cache-Control"] = "private, no-store"
    return response


def metadata(
    request: HttpRequest, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
) -> HttpResponse:
    instances = list(
        instances_for_practice(
            practice=request.api_token.practice, study_uid=study_uid, series_uid=series_uid, sop_uid=sop_uid
        )
    )
    base, results = base_url(request), []
    for instance in instances:
        if not storages["originals"].exists(instance.file):
            return error(404, "original_missing", "Fichier original indisponible : signalez-le au centre.")
        with storages["originals"].open(instance.file, "rb") as fh:
            ds = dcmread(fh, stop_before_pixels=True)
        results.append(metadata_json(ds, instance, base))
    _audit(request, instances, AuditEvent.Action.EXAM_VIEW, "métadonnées")
    return dicom_json(results)
