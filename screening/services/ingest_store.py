"""Storing an accepted original with its rows and derived renditions (called by services.ingest)."""

import hashlib
import io

import numpy as np
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage, storages
from PIL import Image
from pydicom import dcmread

from screening.dicom.classify import Refusal
from screening.dicom.render import breast_box, reduce_to, to_display
from screening.models import DicomInstance, DicomSeries, DicomStudy, Exam, IngestFile, Rendition
from screening.services.renditions import rendition_preview_build, workstation_renditions_build

from .ingest_checks import header_check, pixel_length_check

RENDITION_HEIGHTS = {Rendition.Kind.DISPLAY: 2048, Rendition.Kind.THUMBNAIL: 256}


def _study_for(ds, record: IngestFile, exam: Exam | None) -> DicomStudy:
    study = DicomStudy.objects.select_for_update().filter(study_uid=record.study_uid).first()
    if study is None:
        return DicomStudy.objects.create(
            study_uid=record.study_uid,
            practice=record.practice,
            exam=exam,
            patient_id=str(ds.get("PatientID", ""))[:64],
            patient_name=str(ds.get("PatientName", ""))[:200],
            patient_birth_date=str(ds.get("PatientBirthDate", ""))[:8],
            study_date=str(ds.get("StudyDate", ""))[:8],
            accession_number=str(ds.get("AccessionNumber", ""))[:64],
        )
    if study.practice_id != record.practice_id:
        raise Refusal("study_other_practice", "Cette étude DICOM a été envoyée par un autre cabinet.")
    if exam is not None and study.exam_id not in (None, exam.pk):
        raise Refusal("study_other_exam", "Cette étude DICOM est déjà rattachée à un autre examen.")
    if exam is not None and study.exam_id is None:
        study_attach(study=study, exam=exam)
    return study


def study_attach(*, study: DicomStudy, exam: Exam) -> None:
    """Attach an inbox study (and its images) to an exam, then re-elect the default image per view."""
    study.exam = exam
    study.save(update_fields=["exam"])
    DicomInstance.objects.filter(series__study=study).update(exam=exam)
    IngestFile.objects.filter(
        study_uid=study.study_uid, practice_id=study.practice_id, exam__isnull=True
    ).update(exam=exam)
    for slot in set(DicomInstance.objects.filter(exam=exam).exclude(slot="").values_list("slot", flat=True)):
        default_for_slot(exam=exam, study=None, slot=slot)


def default_for_slot(*, exam: Exam | None, study: DicomStudy | None, slot: str) -> None:
    """C6: the latest acquisition of a slot is the default; earlier ones become extra views."""
    same = DicomInstance.objects.filter(slot=slot)
    same = list(
        same.filter(exam=exam) if exam is not None else same.filter(series__study=study, exam__isnull=True)
    )
    if not same:
        return
    latest = max(same, key=lambda i: (i.acquisition_datetime, i.instance_number or 0, i.pk))
    for other in same:
        wanted = other.pk == latest.pk
        if other.is_default_for_slot != wanted:
            other.is_default_for_slot = wanted
            other.save(update_fields=["is_default_for_slot"])


def _renditions(instance: DicomInstance, ds, pixels, written: list) -> None:
    display, center, width = to_display(ds, pixels)
    image = Image.fromarray(display)  # uint8 2-D → mode "L"
    instance.breast_box = breast_box(np.asarray(reduce_to(image, 512)))
    instance.save(update_fields=["breast_box"])
    for kind, height in RENDITION_HEIGHTS.items():
        reduced = reduce_to(image, height)
        buffer = io.BytesIO()
        reduced.save(buffer, format="PNG", optimize=False, compress_level=1)  # speed over size (bench/)
        name = default_storage.save(
            f"renditions/{instance.sop_uid}/{kind.lower()}.png", ContentFile(buffer.getvalue())
        )
        written.append((default_storage, name))
        Rendition.objects.create(
            instance=instance, kind=kind, file=name, width=reduced.width, height=reduced.height,
            window_center=center, window_width=width,
        )  # fmt: skip
    rendition_preview_build(instance=instance, image=image, center=center, width=width, written=written)
    workstation_renditions_build(instance=instance, ds=ds, pixels=pixels, written=written)


def original_verify(*, name: str, sha256: str) -> None:
    """Read the stored original back and check its SHA-256: what is stored is exactly what was sent."""
    digest = hashlib.sha256()
    with storages["originals"].open(name, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        raise Refusal(
            "storage_corrupted", "L'original enregistré ne correspond pas au fichier reçu : renvoyez-le."
        )


def instance_store(*, record: IngestFile, exam: Exam | None, written: list) -> DicomInstance:
    """Decode, store the original byte for byte (content addressed), create the rows and renditions."""
    with default_storage.open(record.staged_path, "rb") as fh:
        try:
            ds = dcmread(fh)
            pixel_length_check(ds)
            frames = int(ds.get("NumberOfFrames", 1) or 1)
            if frames > 1:  # tomosynthesis: the renditions show the middle slice; never decode the volume
                ds.pixel_array_options(index=frames // 2)
            pixels = ds.pixel_array
        except Refusal:
            raise
        except Exception as exc:  # any decoder failure: truncated stream, unsupported syntax
            raise Refusal(
                "pixel_data_unreadable",
                "Données d'image illisibles (fichier tronqué ou compression non gérée).",
            ) from exc
    if pixels.ndim != 2:
        raise Refusal("not_greyscale", "Image non monochrome : une mammographie est en niveaux de gris.")
    uids, classification, orientation = header_check(ds)
    originals = storages["originals"]
    with default_storage.open(record.staged_path, "rb") as fh:
        name = originals.save(f"originals/{record.sha256[:2]}/{record.sha256}.dcm", File(fh))
    written.append((originals, name))
    original_verify(name=name, sha256=record.sha256)
    study = _study_for(ds, record, exam)
    series, _ = DicomSeries.objects.get_or_create(
        series_uid=uids["series"],
        defaults={
            "study": study,
            "modality": "MG",
            "series_description": str(ds.get("SeriesDescription", ""))[:200],
        },
    )
    spacing = ds.get("ImagerPixelSpacing") or ds.get("PixelSpacing")
    instance = DicomInstance.objects.create(
        sop_uid=uids["sop"],
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
        content_sha256=record.content_sha256,
        size_bytes=record.size_bytes,
    )
    _renditions(instance, ds, pixels, written)
    if instance.slot:
        default_for_slot(exam=exam, study=study, slot=instance.slot)
    return instance
