"""Chunked, resumable browser uploads (session + CSRF), scoped to the user's practice exams.

    POST  /api/examens/<exam_id>/envois/               {"name", "size"} → 201 {upload_id, url, offset: 0, size,
                                                        chunk_size}
    PATCH /api/examens/<exam_id>/envois/<upload_id>/   header Upload-Offset, raw body (application/offset+
                                                        octet-stream) → 200 {offset, size}; the last chunk → 201
                                                        with the file's status (as /fichiers/); wrong offset →
                                                        409 {code: offset_mismatch, offset}
    HEAD / GET  same URL                               the current offset (header Upload-Offset; GET also
                                                        returns the file's status once finalised) to resume

Errors carry a stable `code` and a French `detail` (screening.api_errors).
"""

import io

from django.urls import reverse
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from screening.api import IngestFileSerializer, _exam_for
from screening.models import AuditEvent
from screening.services.audit import audit_record
from screening.services.chunked_upload import (
    CHUNK_SIZE,
    ChunkedUpload,
    OffsetMismatch,
    UploadNotFound,
    chunked_upload_append,
    chunked_upload_create,
    chunked_upload_get,
)
from screening.services.errors import ServiceError

OFFSET_HEADER = "Upload-Offset"
CHUNK_CONTENT_TYPE = "application/offset+octet-stream"


def _headers(upload: ChunkedUpload) -> dict[str, str]:
    return {OFFSET_HEADER: str(upload.offset), "Upload-Length": str(upload.size), "Cache-Control": "no-store"}


def _state(upload: ChunkedUpload) -> dict:
    data = {
        "upload_id": upload.upload_id,
        "url": reverse("api_exam_upload", args=[upload.exam_id, upload.upload_id]),
        "name": upload.name,
        "offset": upload.offset,
        "size": upload.size,
        "chunk_size": CHUNK_SIZE,
        "file": None,
    }
    record = upload.ingest_file
    if record is not None:
        data["file"] = IngestFileSerializer(record).data
    return data


def _error(error: ServiceError, code: int, **extra) -> Response:
    return Response({"code": error.code, "detail": error.message, "field": error.field, **extra}, status=code)


def _int(value, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ServiceError("invalid_" + field, f"Valeur invalide pour « {field} ».", field=field)


@api_view(["POST"])
def upload_create(request: Request, exam_id: int) -> Response:
    exam = _exam_for(request, exam_id)
    name = str(request.data.get("name") or "")
    size = _int(request.data.get("size"), "size")
    upload = chunked_upload_create(exam=exam, actor=request.user, name=name, size=size)
    response = Response(_state(upload), status=status.HTTP_201_CREATED, headers=_headers(upload))
    response["Location"] = response.data["url"]
    return response


@api_view(["GET", "HEAD", "PATCH"])
def upload_detail(request: Request, exam_id: int, upload_id: str) -> Response:
    exam = _exam_for(request, exam_id)
    try:
        if request.method == "PATCH":
            return _append(request, exam, upload_id)
        upload = chunked_upload_get(exam=exam, actor=request.user, upload_id=upload_id)
    except UploadNotFound as error:
        return _error(error, status.HTTP_404_NOT_FOUND)
    except OffsetMismatch as error:
        return Response(
            {"code": error.code, "detail": error.message, "offset": error.offset},
            status=status.HTTP_409_CONFLICT,
            headers={OFFSET_HEADER: str(error.offset), "Cache-Control": "no-store"},
        )
    return Response(_state(upload), headers=_headers(upload))


def _append(request: Request, exam, upload_id: str) -> Response:
    content_type = (request.content_type or "").split(";")[0].strip()
    if content_type != CHUNK_CONTENT_TYPE:
        raise ServiceError("invalid_content_type", f"Type de contenu attendu : {CHUNK_CONTENT_TYPE}.")
    offset = _int(request.headers.get(OFFSET_HEADER), "offset")
    length = _int(request.META.get("CONTENT_LENGTH") or "0", "length")
    # The raw body, read as a stream from Django's request (never request.body: no whole chunk in memory).
    upload = chunked_upload_append(
        exam=exam,
        actor=request.user,
        upload_id=upload_id,
        offset=offset,
        length=length,
        body=request.stream or io.BytesIO(),
    )
    if upload.ingest_file_id is None:
        return Response(
            {"upload_id": upload.upload_id, "offset": upload.offset, "size": upload.size},
            headers=_headers(upload),
        )
    record = upload.ingest_file
    if upload.just_finalised:  # one audit row per file, by the request that handed it to the pipeline
        audit_record(
            actor=request.user,
            action=AuditEvent.Action.FILE_UPLOAD,
            exam=exam,
            object_ref=record.original_name,
        )
    return Response(
        IngestFileSerializer(record).data, status=status.HTTP_201_CREATED, headers=_headers(upload)
    )
