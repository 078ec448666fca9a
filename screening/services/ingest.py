"""Receiving DICOM files: stage (streamed, hashed), then validate, classify and store (ADR 0003).

A file is either fully stored (original + rows + renditions) or refused with a stable code and a French
reason: never half-stored. Sending the same file twice is harmless.
"""

import hashlib
import io
import logging
import uuid

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image
from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from screening.dicom.classify import Refusal, check_acceptable, classify
from screening.dicom.render import reduce_to, to_display
from screening.models import (
    DicomInstance,
    DicomSeries,
    DicomStudy,
    Exam,
    ExamState,
    IngestFile,
    Participant,
    Rendition,
    User,
)

from .errors import ServiceError

log = logging.getLogger(__name__)
UPLOAD_STATES = (ExamState.DRAFT, ExamState.INCOMPLETE, ExamState.SUBMITTED)
RENDITION_HEIGHTS = {Rendition.Kind.DISPLAY: 2048, Rendition.Kind.THUMBNAIL: 256}


def ingest_file_receive(*, exam: Exam, upload: File, original_name: str, actor: User) -> IngestFile:
    """Stream an upload to staging while hashing it, record it, and queue its check."""
    if exam.state not in UPLOAD_STATES:
        raise ServiceError(
            "exam_closed_for_upload",
            f"L'examen est « {exam.get_state_display()} » : il n'accepte plus d'images.",
        )
    if upload.size is not None and upload.size > settings.MAX_DICOM_FILE_BYTES:
        raise ServiceError("file_too_large", f"{original_name} : fichier trop volumineux.")
    digest = hashlib.sha256()
    staged_name = f"staging/{uuid.uuid4().hex}.dcm"
    size = 0
    with default_storage.open(default_storage.save(staged_name, ContentFile(b"")), "wb") as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if size == 0:
        default_storage.delete(staged_name)
        raise ServiceError("empty_file", f"{original_name} : fichier vide.")
    with transaction.atomic():
        record = IngestFile.objects.create(
            exam=exam,
            original_name=original_name[:255],
            staged_path=staged_name,
            sha256=digest.hexdigest(),
            size_bytes=size,
            uploaded_by=actor,
        )
        from screening import tasks

        transaction.on_commit(lambda: tasks.ingest_file_process.delay(record.pk))
    return record


def _finish(record: IngestFile, state: str, code: str = "", reason: str = "", instance=None) -> IngestFile:
    record.state, record.reason_code, record.reason = state, code, reason
    record.instance = instance
    record.processed_at = timezone.now()
    record.save(update_fields=["state", "reason_code", "reason", "instance", "processed_at"])
    staged = record.staged_path
    transaction.on_commit(lambda: default_storage.delete(staged) if default_storage.exists(staged) else None)
    return record


def _check_identity(ds, participant: Participant, exam: Exam) -> None:
    """A mismatch between the image and the exam's woman blocks the file: never a silent attach."""
    birth = str(ds.get("PatientBirthDate", "")).strip()
    name = str(ds.get("PatientName", "")).split("^")[0].strip().casefold()
    problems = []
    if birth and birth != participant.birth_date.strftime("%Y%m%d"):
        problems.append(f"date de naissance {birth[6:8]}/{birth[4:6]}/{birth[:4]}")
    if name and name not in {participant.last_name.casefold(), participant.birth_name.casefold()}:
        problems.append(f"nom « {str(ds.get('PatientName', '')).replace('^', ' ')} »")
    study_date = str(ds.get("StudyDate", "")).strip()
    if study_date and study_date != exam.mammogram_date.strftime("%Y%m%d"):
        problems.append(f"date d'examen {study_date[6:8]}/{study_date[4:6]}/{study_date[:4]}")
    if problems:
        raise Refusal(
            "identity_mismatch",
            "L'image ne correspond pas à l'examen (" + ", ".join(problems) + ") : vérifiez la patiente.",
        )


def _store_renditions(instance: DicomInstance, ds, pixels, written: list[str]) -> None:
    display, center, width = to_display(ds, pixels)
    image = Image.fromarray(display)  # uint8 2-D → mode "L"
    for kind, height in RENDITION_HEIGHTS.items():
        reduced = reduce_to(image, height)
        buffer = io.BytesIO()
        reduced.save(buffer, format="PNG", optimize=False, compress_level=3)
        name = default_storage.save(
            f"renditions/{instance.sop_uid}/{kind.lower()}.png", ContentFile(buffer.getvalue())
        )
        written.append(name)
        Rendition.objects.create(
            instance=instance,
            kind=kind,
            file=name,
            width=reduced.width,
            height=reduced.height,
            window_center=center,
            window_width=width,
        )


def _default_for_slot(instance: DicomInstance) -> None:
    """C6: the latest acquisition of a slot is the default; earlier ones become extra views."""
    if not instance.slot:
        return
    same = list(DicomInstance.objects.filter(exam=instance.exam, slot=instance.slot))
    latest = max(same, key=lambda i: (i.acquisition_datetime, i.instance_number or 0, i.pk))
    for other in same:
        wanted = other.pk == latest.pk
        if other.is_default_for_slot != wanted:
            other.is_default_for_slot = wanted
            other.save(update_fields=["is_default_for_slot"])


def _store(record: IngestFile, exam: Exam, written: list[str]) -> tuple[DicomInstance, bool]:
    """Store the original, its rows and renditions. Returns (instance, created)."""
    with default_storage.open(record.staged_path, "rb") as fh:
        try:
            header = dcmread(fh, stop_before_pixels=True)
        except (InvalidDicomError, EOFError, ValueError, TypeError, OSError) as exc:
            raise Refusal("not_dicom", "Ce fichier n'est pas un fichier DICOM lisible.") from exc
    check_acceptable(header)
    _check_identity(header, exam.participant, exam)
    sop_uid = str(header.get("SOPInstanceUID", ""))
    study_uid, series_uid = str(header.get("StudyInstanceUID", "")), str(header.get("SeriesInstanceUID", ""))
    if not (sop_uid and study_uid and series_uid):
        raise Refusal("uid_missing", "Identifiants DICOM (UID) absents : fichier incomplet.")
    existing = DicomInstance.objects.filter(sop_uid=sop_uid).first()
    if existing is not None:
        if existing.sha256 == record.sha256 and existing.exam_id == exam.pk:
            return existing, False  # harmless duplicate
        raise Refusal(
            "uid_conflict", "Une autre image porte déjà ce SOP Instance UID : l'original n'est pas remplacé."
        )
    study = DicomStudy.objects.filter(study_uid=study_uid).first()
    if study is not None and study.exam_id not in (None, exam.pk):
        raise Refusal("study_other_exam", "Cette étude DICOM est déjà rattachée à un autre examen.")
    classification, orientation = classify(header)
    with default_storage.open(record.staged_path, "rb") as fh:
        try:
            ds = dcmread(fh)
            pixels = ds.pixel_array
        except Exception as exc:  # any decoder failure: truncated stream, unsupported syntax
            raise Refusal(
                "pixel_data_unreadable",
                "Données d'image illisibles (fichier tronqué ou compression non gérée).",
            ) from exc
    if pixels.ndim != 2:
        raise Refusal("multiframe", "Image multi-trames : non lue en seconde lecture dans cette version.")
    with default_storage.open(record.staged_path, "rb") as fh:
        name = default_storage.save(f"originals/{study_uid}/{series_uid}/{sop_uid}.dcm", File(fh))
    written.append(name)
    if study is None:
        study = DicomStudy.objects.create(
            study_uid=study_uid,
            practice=exam.practice,
            exam=exam,
            patient_id=str(ds.get("PatientID", ""))[:64],
            patient_name=str(ds.get("PatientName", ""))[:200],
            patient_birth_date=str(ds.get("PatientBirthDate", ""))[:8],
            study_date=str(ds.get("StudyDate", ""))[:8],
            accession_number=str(ds.get("AccessionNumber", ""))[:64],
        )
    series, _ = DicomSeries.objects.get_or_create(
        series_uid=series_uid,
        defaults={
            "study": study,
            "modality": "MG",
            "series_description": str(ds.get("SeriesDescription", ""))[:200],
        },
    )
    spacing = ds.get("ImagerPixelSpacing") or ds.get("PixelSpacing")
    instance = DicomInstance.objects.create(
        sop_uid=sop_uid,
        series=series,
        exam=exam,
        sop_class_uid=str(ds.SOPClassUID),
        transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
        laterality=classification.laterality,
        view=classification.view,
        view_modifiers=classification.modifiers,
        slot=classification.slot,
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        bits_stored=int(ds.BitsStored),
        photometric=str(ds.PhotometricInterpretation),
        pixel_spacing_mm=float(spacing[0]) if spacing else None,
        patient_orientation=orientation,
        flip_horizontal=classification.flip_horizontal,
        flip_vertical=classification.flip_vertical,
        flags=classification.flags,
        lossy="lossy" in classification.flags,
        acquisition_datetime=str(ds.get("AcquisitionDateTime", ""))[:26],
        instance_number=int(ds.InstanceNumber) if ds.get("InstanceNumber") is not None else None,
        file=name,
        sha256=record.sha256,
        size_bytes=record.size_bytes,
    )
    _store_renditions(instance, ds, pixels, written)
    _default_for_slot(instance)
    return instance, True


def ingest_file_process(*, ingest_file_id: int) -> IngestFile:
    """Validate and store one staged file. Idempotent: a processed file is left as it is."""
    written: list[str] = []
    try:
        with transaction.atomic():
            record = (
                IngestFile.objects.select_for_update()
                .select_related("exam__participant")
                .get(pk=ingest_file_id)
            )
            if record.state != IngestFile.State.RECEIVED:
                return record
            exam = (
                Exam.objects.select_for_update()
                .select_related("participant", "practice")
                .get(pk=record.exam_id)
            )
            try:
                with transaction.atomic():
                    instance, created = _store(record, exam, written)
            except Refusal as refusal:
                _remove(written)
                return _finish(record, IngestFile.State.REFUSED, refusal.code, refusal.reason)
            except IntegrityError:
                _remove(written)
                return _finish(
                    record, IngestFile.State.REFUSED, "uid_conflict", "Image déjà reçue par ailleurs."
                )
            if not created:
                return _finish(
                    record,
                    IngestFile.State.DUPLICATE,
                    "duplicate",
                    "Fichier déjà reçu : sans effet.",
                    instance,
                )
            record = _finish(record, IngestFile.State.ACCEPTED, instance=instance)
            if exam.state == ExamState.SUBMITTED:
                from screening import tasks

                transaction.on_commit(lambda: tasks.exam_intake_check.delay(exam.pk))
            return record
    except Exception:
        _remove(written)
        raise


def _remove(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # best effort: the reconciler's sweep finds orphans
            log.warning("could not remove %s", name)
    names.clear()
