"""Chunked, resumable browser uploads (a small tus-like protocol) feeding the one intake pipeline (ADR 0007).

A browser announces a file (name, size) and gets an upload id; it then sends the bytes in chunks, each with
the offset it starts at. A chunk is kept only if it starts exactly where the upload stands, so a chunk sent
twice (a retry after a dropped connection whose request did reach the server) is refused with the current
offset instead of being appended twice. When the last byte is in, the chunks are handed, as one stream, to
`ingest_file_receive`: the answer is the file's status like any other way in.

No database table: each upload is a folder of the default storage,

    uploads/<upload_id>/manifest.json      who, which exam, name, size (written once)
    uploads/<upload_id>/part-<offset>      one file per accepted chunk, named by the offset it starts at
    uploads/<upload_id>/result.json        the IngestFile id once finalised (the parts are then deleted)

A chunk is first written to a temporary file of the folder, then committed under its part name with an
exclusive create (a hard link on a local file system), so a concurrent reader never sees half a chunk and
two requests for the same offset never both succeed. Folders left behind (abandoned uploads) are removed by
`chunked_uploads_purge`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.utils import timezone

from screening.models import Exam, IngestFile, User

from .errors import ServiceError
from .ingest import UPLOAD_STATES, ingest_file_receive
from .ingest_checks import safe_file_name
from .parts_reader import PartsReader as _PartsReader

log = logging.getLogger(__name__)

ROOT = "uploads"
CHUNK_SIZE = 4 * 1024 * 1024  # what the browser sends per request (the last chunk is shorter)
MAX_CHUNK_BYTES = CHUNK_SIZE  # what the server accepts per request
FINALISE_STALE = dt.timedelta(minutes=10)  # a finalisation lock older than this was left by a crash
_READ = 64 * 1024
_ID = re.compile(r"^[0-9a-f]{32}$")
_PART = re.compile(r"^part-(\d{12})$")


class OffsetMismatch(ServiceError):
    """The chunk does not start where the upload stands: the client must resume from `offset`."""

    def __init__(self, offset: int) -> None:
        super().__init__(
            "offset_mismatch",
            f"Ce morceau ne commence pas là où l'envoi en est resté (octet {offset}) : reprenez à partir de là.",
        )
        self.offset = offset


class UploadNotFound(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            "upload_not_found", "Envoi introuvable ou expiré : recommencez l'envoi de ce fichier."
        )


@dataclass(frozen=True)
class ChunkedUpload:
    upload_id: str
    exam_id: int
    practice_id: int
    user_id: int
    name: str
    size: int
    created_at: str
    offset: int
    ingest_file_id: int | None = None
    just_finalised: bool = False  # True only in the answer of the request that finalised it

    @property
    def complete(self) -> bool:
        return self.offset >= self.size

    @property
    def ingest_file(self) -> IngestFile | None:
        if self.ingest_file_id is None:
            return None
        return IngestFile.objects.select_related("instance").filter(pk=self.ingest_file_id).first()


# ----------------------------------------------------------------------------------------------- API


def chunked_upload_create(*, exam: Exam, actor: User, name: str, size: int) -> ChunkedUpload:
    """Announce one file of `size` bytes for `exam`; nothing is stored but the manifest."""
    display = safe_file_name(name)
    if exam.state not in UPLOAD_STATES:
        raise ServiceError(
            "exam_closed_for_upload",
            f"L'examen est « {exam.get_state_display()} » : il n'accepte plus d'images.",
        )
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ServiceError("invalid_size", "Taille du fichier invalide.", field="size")
    if size == 0:
        raise ServiceError("empty_file", f"{display} : fichier vide.", field="size")
    if size > settings.MAX_DICOM_FILE_BYTES:
        limit = settings.MAX_DICOM_FILE_BYTES // (1024 * 1024)
        raise ServiceError(
            "file_too_large",
            f"{display} : fichier trop volumineux (au plus {limit} Mo par fichier).",
            field="size",
        )
    upload_id = uuid.uuid4().hex
    manifest = {
        "upload_id": upload_id,
        "exam_id": exam.pk,
        "practice_id": exam.practice_id,
        "user_id": actor.pk,
        "name": (name or "")[:1000],
        "size": size,
        "created_at": timezone.now().isoformat(),
    }
    default_storage.save(_path(upload_id, "manifest.json"), ContentFile(json.dumps(manifest).encode()))
    return _upload(manifest, offset=0)


def chunked_upload_get(*, exam: Exam, actor: User, upload_id: str) -> ChunkedUpload:
    """The upload as it stands (its offset is what a client resumes from). Someone else's: not found."""
    manifest = _manifest(upload_id)
    if manifest["exam_id"] != exam.pk or manifest["user_id"] != actor.pk:
        raise UploadNotFound()
    result = _result(upload_id)
    if result is not None:
        return _upload(manifest, offset=manifest["size"], ingest_file_id=result["ingest_file_id"])
    return _upload(manifest, offset=_offset(upload_id))


def chunked_upload_append(
    *, exam: Exam, actor: User, upload_id: str, offset: int, length: int, body: BinaryIO
) -> ChunkedUpload:
    """Append `length` bytes read from `body` at `offset`; finalise when the file is complete.

    Raises OffsetMismatch when `offset` is not where the upload stands. A chunk whose body ends early (a
    dropped connection) is discarded whole: the upload stays where it was. Sending no bytes at the final
    offset finalises an upload whose finalisation did not finish (e.g. a crash of the server).
    """
    upload = chunked_upload_get(exam=exam, actor=actor, upload_id=upload_id)
    if upload.ingest_file_id is not None:
        raise OffsetMismatch(upload.size)
    if offset != upload.offset:
        raise OffsetMismatch(upload.offset)
    if length < 0 or length > MAX_CHUNK_BYTES or offset + length > upload.size:
        raise ServiceError(
            "invalid_chunk",
            f"Morceau invalide : au plus {MAX_CHUNK_BYTES} octets, sans dépasser la taille annoncée.",
        )
    if length == 0 and offset < upload.size:
        raise ServiceError("invalid_chunk", "Morceau vide.")
    if length:
        _commit_chunk(upload_id, offset, length, body)
        upload = chunked_upload_get(exam=exam, actor=actor, upload_id=upload_id)
    if upload.complete and upload.ingest_file_id is None:
        upload = _finalise(upload, exam=exam, actor=actor)
    return upload


def chunked_uploads_purge(*, older_than: dt.timedelta) -> int:
    """Delete upload folders untouched for longer than `older_than` (abandoned or long finished).

    Meant for the periodic reconciler, e.g. `chunked_uploads_purge(older_than=timedelta(hours=24))`.
    Returns the number of folders removed.
    """
    cutoff = timezone.now() - older_than
    try:
        folders, _files = default_storage.listdir(ROOT)
    except FileNotFoundError:
        return 0
    removed = 0
    for upload_id in folders:
        if not _ID.match(upload_id):
            continue
        try:
            _dirs, names = default_storage.listdir(_path(upload_id))
            times = [default_storage.get_modified_time(_path(upload_id, n)) for n in names]
        except FileNotFoundError:  # finalised or removed meanwhile: the next run sees it
            continue
        if times and max(times) >= cutoff:
            continue
        _remove_folder(upload_id, names)
        removed += 1
    return removed


# ------------------------------------------------------------------------------------------ internals


def _path(upload_id: str, name: str = "") -> str:
    if not _ID.match(upload_id or ""):
        raise UploadNotFound()
    return f"{ROOT}/{upload_id}/{name}" if name else f"{ROOT}/{upload_id}"


def _upload(manifest: dict, *, offset: int, ingest_file_id: int | None = None) -> ChunkedUpload:
    return ChunkedUpload(
        upload_id=manifest["upload_id"],
        exam_id=manifest["exam_id"],
        practice_id=manifest["practice_id"],
        user_id=manifest["user_id"],
        name=manifest["name"],
        size=manifest["size"],
        created_at=manifest["created_at"],
        offset=offset,
        ingest_file_id=ingest_file_id,
    )


def _read_json(name: str) -> dict | None:
    try:
        with default_storage.open(name, "rb") as fh:
            return json.loads(fh.read())
    except FileNotFoundError:
        return None


def _manifest(upload_id: str) -> dict:
    manifest = _read_json(_path(upload_id, "manifest.json"))
    if manifest is None:
        raise UploadNotFound()
    return manifest


def _result(upload_id: str) -> dict | None:
    return _read_json(_path(upload_id, "result.json"))


def _parts(upload_id: str) -> list[tuple[int, str]]:
    """The committed chunks from offset 0, contiguous, as (offset, storage name)."""
    _dirs, names = default_storage.listdir(_path(upload_id))
    by_offset = {int(m.group(1)): n for n in names if (m := _PART.match(n))}
    parts, offset = [], 0
    while offset in by_offset:
        name = _path(upload_id, by_offset[offset])
        size = default_storage.size(name)
        if size == 0:
            break
        parts.append((offset, name))
        offset += size
    return parts


def _offset(upload_id: str) -> int:
    parts = _parts(upload_id)
    if not parts:
        return 0
    last_offset, last_name = parts[-1]
    return last_offset + default_storage.size(last_name)


def _commit_chunk(upload_id: str, offset: int, length: int, body: BinaryIO) -> None:
    temp = default_storage.save(_path(upload_id, f"tmp-{uuid.uuid4().hex}"), ContentFile(b""))
    try:
        received = 0
        with default_storage.open(temp, "wb") as out:
            while received < length:
                data = body.read(min(_READ, length - received))
                if not data:
                    break
                out.write(data)
                received += len(data)
        if received != length:  # the connection dropped mid-chunk: keep nothing of it
            raise ServiceError("incomplete_chunk", "Morceau incomplet : connexion interrompue.")
        if _offset(upload_id) != offset:  # another request got there first
            raise OffsetMismatch(_offset(upload_id))
        if not _create_exclusive(temp, _path(upload_id, f"part-{offset:012d}")):
            raise OffsetMismatch(_offset(upload_id))
    finally:
        _delete(temp)


def _create_exclusive(source: str, target: str) -> bool:
    """Give `source`'s bytes the name `target`, all at once; False if `target` already exists."""
    try:
        source_path, target_path = default_storage.path(source), default_storage.path(target)
    except NotImplementedError:  # remote storage: copy, and accept a name collision as a loss
        with default_storage.open(source, "rb") as fh:
            saved = default_storage.save(target, fh)
        if saved != target:
            _delete(saved)
            return False
        return True
    try:
        os.link(source_path, target_path)  # atomic, and refuses an existing name
    except FileExistsError:
        return False
    return True


def _finalise(upload: ChunkedUpload, *, exam: Exam, actor: User) -> ChunkedUpload:
    """Hand the assembled file to the intake pipeline; keep only the answer (the IngestFile id)."""
    lock = _path(upload.upload_id, "finalising")
    if not _claim(lock):
        raise ServiceError("upload_finalising", "Ce fichier est en cours de vérification : patientez.")
    try:
        result = _result(upload.upload_id)
        if result is not None:  # finalised by another request meanwhile
            return replace(upload, offset=upload.size, ingest_file_id=result["ingest_file_id"])
        names = [name for _offset, name in _parts(upload.upload_id)]
        stream = io.BufferedReader(_PartsReader(names), buffer_size=1024 * 1024)
        try:
            stream_file = File(stream, name=upload.name)
            stream_file.size = upload.size
            try:
                record = ingest_file_receive(
                    practice=exam.practice,
                    exam=exam,
                    upload=stream_file,
                    original_name=upload.name,
                    actor=actor,
                )
            except ServiceError:  # a request-level refusal: this upload can never succeed
                _remove_folder(upload.upload_id)
                raise
        finally:
            stream.close()
        default_storage.save(
            _path(upload.upload_id, "result.json"),
            ContentFile(json.dumps({"ingest_file_id": record.pk}).encode()),
        )
        for name in names:
            _delete(name)
    finally:
        _delete(lock)
    return replace(upload, offset=upload.size, ingest_file_id=record.pk, just_finalised=True)


def _claim(lock: str) -> bool:
    """Create `lock` unless it exists; a lock older than FINALISE_STALE (a crashed request) is taken over."""
    for _attempt in range(2):
        claimed = default_storage.save(lock, ContentFile(b""))
        if claimed == lock:
            return True
        _delete(claimed)
        try:
            stale = default_storage.get_modified_time(lock) < timezone.now() - FINALISE_STALE
        except FileNotFoundError:
            continue
        if not stale:
            return False
        _delete(lock)
    return False


def _delete(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError:  # best effort: the purge removes the folder later
        log.warning("could not remove %s", name)


def _remove_folder(upload_id: str, names: Iterable[str] | None = None) -> None:
    folder = _path(upload_id)
    if names is None:
        try:
            _dirs, names = default_storage.listdir(folder)
        except FileNotFoundError:
            return
    for name in names:
        _delete(f"{folder}/{name}")
    try:
        os.rmdir(default_storage.path(folder))
    except NotImplementedError:  # remote storages have no folders to remove
        pass
    except OSError:
        log.warning("could not remove the folder %s", folder)
