"""Receiving DICOM files from every way in (browser, REST, STOW-RS, C-STORE, import): ADR 0003.

receive: stream to staging while hashing, check the header synchronously (cheap), answer at once with a
refusal, a duplicate, a quarantine, or RECEIVED with the pixel work queued. process (Celery, heavy
queue): match the exam, decode, store the original and its renditions. A file is either fully stored or
refused with a stable code and a French reason: never half-stored. Sending the same file twice is harmless.
"""

import hashlib
import logging
import uuid

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from screening.dicom.classify import KeptOutOfReading, Refusal
from screening.models import DicomInstance, DicomStudy, Exam, ExamState, IngestFile, Practice, User

from .errors import ServiceError
from .ingest_checks import (
    RETAKE_UPLOAD_STATES,
    content_sha256,
    exam_match,
    header_check,
    header_read,
    identity_check,
    safe_file_name,
)
from .ingest_store import instance_store

log = logging.getLogger(__name__)
# Retake states too: the retaken views join the originals of the same exam (R-CTI-4), never replacing them.
UPLOAD_STATES = (ExamState.DRAFT, ExamState.INCOMPLETE, ExamState.SUBMITTED, *RETAKE_UPLOAD_STATES)
S = IngestFile.State


def _stage(upload: File, original_name: str) -> tuple[str, str, int]:
    if upload.size is not None and upload.size > settings.MAX_DICOM_FILE_BYTES:
        raise ServiceError("file_too_large", f"{original_name} : fichier trop volumineux.")
    digest, size = hashlib.sha256(), 0
    staged = default_storage.save(f"staging/{uuid.uuid4().hex}.dcm", ContentFile(b""))
    with default_storage.open(staged, "wb") as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            size += len(chunk)
            if size > settings.MAX_DICOM_FILE_BYTES:
                out.close()
                default_storage.delete(staged)
                raise ServiceError("file_too_large", f"{original_name} : fichier trop volumineux.")
            out.write(chunk)
    if size == 0:
        default_storage.delete(staged)
        raise ServiceError("empty_file", f"{original_name} : fichier vide.")
    return staged, digest.hexdigest(), size


def ingest_file_receive(
    *,
    practice: Practice,
    upload: File,
    original_name: str,
    actor: User | None,
    exam: Exam | None = None,
    source: str = IngestFile.Source.BROWSER,
    sender: str = "",
) -> IngestFile:
    """Stage and check one file; queue its pixel work. Raises ServiceError only for request-level problems."""
    name = safe_file_name(original_name)
    if exam is not None:
        if exam.practice_id != practice.pk:
            raise ServiceError("exam_other_practice", "Cet examen n'appartient pas à ce cabinet.")
        if exam.state not in UPLOAD_STATES:
            raise ServiceError(
                "exam_closed_for_upload",
                f"L'examen est « {exam.get_state_display()} » : il n'accepte plus d'images.",
            )
    staged, sha256, size = _stage(upload, name)
    record = IngestFile(
        practice=practice, exam=exam, source=source, sender=sender[:100], original_name=name,
        staged_path=staged, sha256=sha256, size_bytes=size, uploaded_by=actor,
    )  # fmt: skip
    try:
        with default_storage.open(staged, "rb") as fh:
            header = header_read(fh)
            record.content_sha256 = content_sha256(fh)
        uids, _classification, _orientation = header_check(header)
        record.study_uid, record.sop_uid = uids["study"], uids["sop"]
        if exam is not None:
            identity_check(header, exam.participant, exam)
    except KeptOutOfReading as kept:
        record.save()
        return _keep(record, kept)
    except Refusal as refusal:
        record.save()
        return _finish(record, S.REFUSED, refusal.code, refusal.reason)
    with transaction.atomic():
        record.save()
        existing = (
            DicomInstance.objects.select_related("series__study").filter(sop_uid=record.sop_uid).first()
        )
        if existing is not None:
            return _duplicate_or_conflict(record, existing)
        from screening import tasks

        transaction.on_commit(lambda: tasks.ingest_file_process.delay(record.pk))
    return record


def _duplicate_or_conflict(record: IngestFile, existing: DicomInstance) -> IngestFile:
    same_practice = existing.series.study.practice_id == record.practice_id
    same_content = existing.sha256 == record.sha256 or (
        bool(existing.content_sha256) and existing.content_sha256 == record.content_sha256
    )
    if same_content and same_practice:
        record.exam_id = record.exam_id or existing.exam_id
        return _finish(record, S.DUPLICATE, "duplicate", "Fichier déjà reçu : sans effet.", existing)
    quarantined = default_storage.save(
        f"quarantine/{record.sop_uid}/{record.sha256}.dcm", default_storage.open(record.staged_path, "rb")
    )
    record.staged_path = quarantined
    record.state, record.reason_code = S.QUARANTINED, "uid_conflict"
    if not same_practice:  # never link one practice's upload to another practice's exam
        record.reason_code = "uid_other_practice"
    record.reason = "Une autre image porte déjà ce SOP Instance UID avec un contenu différent : la première est conservée, celle-ci est mise en quarantaine."
    record.processed_at = timezone.now()
    record.save()
    return record


def _keep(record: IngestFile, kept: KeptOutOfReading) -> IngestFile:
    """Store a valid object that is never read (raw image, report) as received, with a notice."""
    with default_storage.open(record.staged_path, "rb") as fh:
        name = default_storage.save(f"kept/{record.sha256[:2]}/{record.sha256}.dcm", File(fh))
    default_storage.delete(record.staged_path)
    record.staged_path = name
    record.state, record.reason_code, record.reason = S.IGNORED, kept.code, kept.reason
    record.processed_at = timezone.now()
    record.save()
    return record


def _finish(record: IngestFile, state: str, code: str = "", reason: str = "", instance=None) -> IngestFile:
    record.state, record.reason_code, record.reason = state, code, reason
    record.instance = instance
    record.processed_at = timezone.now()
    record.save()
    staged = record.staged_path
    transaction.on_commit(lambda: default_storage.delete(staged) if default_storage.exists(staged) else None)
    return record


def ingest_file_process(*, ingest_file_id: int) -> IngestFile:
    """Match, decode and store one staged file. Idempotent: a processed file is left as it is."""
    written: list = []
    try:
        with transaction.atomic():
            record = (
                IngestFile.objects.select_for_update(of=("self",))
                .select_related("practice")
                .get(pk=ingest_file_id)
            )
            if record.state != S.RECEIVED:
                return record
            try:
                with transaction.atomic():
                    with default_storage.open(record.staged_path, "rb") as fh:
                        header = header_read(fh)
                    exam = _exam_for(record, header)
                    existing = (
                        DicomInstance.objects.select_related("series__study")
                        .filter(sop_uid=record.sop_uid)
                        .first()
                    )
                    if existing is not None:
                        return _duplicate_or_conflict(record, existing)
                    instance = instance_store(record=record, exam=exam, written=written)
            except Refusal as refusal:
                _remove(written)
                return _finish(record, S.REFUSED, refusal.code, refusal.reason)
            except IntegrityError:
                _remove(written)
                return _finish(
                    record, S.REFUSED, "uid_conflict", "Image reçue en même temps par un autre envoi."
                )
            record.exam = exam
            record = _finish(record, S.ACCEPTED, instance=instance)
            if exam is not None and exam.state == ExamState.SUBMITTED:
                from screening import tasks

                transaction.on_commit(lambda: tasks.exam_intake_check.delay(exam.pk))
            return record
    except Exception:
        _remove(written)
        raise


def _exam_for(record: IngestFile, header) -> Exam | None:
    """The exam given at upload, else the one its study is already attached to, else a match, else None."""
    exam = record.exam
    if exam is None:
        study = DicomStudy.objects.filter(study_uid=record.study_uid, practice=record.practice).first()
        exam = (
            study.exam
            if study is not None and study.exam_id
            else exam_match(practice=record.practice, header=header)
        )
    if exam is None:
        return None
    exam = Exam.objects.select_for_update(of=("self",)).select_related("participant").get(pk=exam.pk)
    identity_check(header, exam.participant, exam)
    return exam


def _remove(written: list) -> None:
    """Undo what a failed store wrote: (storage, name) pairs."""
    for storage, name in written:
        try:
            storage.delete(name)
        except Exception:  # best effort (OSError, S3 errors): the reconciler's sweep finds orphans
            log.warning("could not remove %s", name)
    written.clear()
