"""Checks made on a received DICOM header, before any pixel is decoded (cheap, synchronous).

Each refusal carries a stable code (API, DICOM status) and a French reason (UI).
"""

import unicodedata
from typing import BinaryIO

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError

from screening.dicom.classify import Classification, Refusal, check_acceptable, classify
from screening.models import Exam, ExamState, Participant, Practice

# A retake (R-CTI-4) comes back to the exam that asked for it, acquired on a later day than the mammogram.
RETAKE_UPLOAD_STATES = (ExamState.RETAKE_PENDING, ExamState.RETAKE_OVERDUE)

# A 4096×3328 mammogram has 13.6 Mpx and a tomosynthesis volume ~100 frames: far beyond is a decompression bomb.
MAX_FRAME_PIXELS = 60_000_000
MAX_FRAMES = 500


def safe_file_name(name: str) -> str:
    """The last path component only (no traversal), printable, at most 255 characters."""
    # Names read from a disk may carry undecodable bytes (surrogate escapes): show them as U+FFFD.
    name = (name or "").encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch if unicodedata.category(ch)[0] != "C" else "_" for ch in name).strip(" .")
    return (name or "fichier-sans-nom")[:255]


def header_read(fh: BinaryIO) -> Dataset:
    """The header only: pixel data is never loaded here."""
    errors = (
        InvalidDicomError,
        EOFError,
        ValueError,
        TypeError,
        OSError,
        KeyError,
        AttributeError,
        IndexError,
    )
    try:
        header = dcmread(fh, stop_before_pixels=True)
    except InvalidDicomError:
        # Some CD exports omit the preamble: accept a bare dataset that carries its SOP identity.
        fh.seek(0)
        try:
            header = dcmread(fh, stop_before_pixels=True, force=True)
        except errors as exc:
            raise Refusal("not_dicom", "Ce fichier n'est pas un fichier DICOM lisible.") from exc
        if "SOPClassUID" not in header or "Modality" not in header:
            raise Refusal("not_dicom", "Ce fichier n'est pas un fichier DICOM lisible.") from None
    except errors as exc:
        raise Refusal("not_dicom", "Ce fichier n'est pas un fichier DICOM lisible.") from exc
    if "SOPClassUID" not in header and "Modality" not in header:
        raise Refusal("not_dicom", "Ce fichier n'est pas un fichier DICOM lisible.")
    return header


def header_check(header: Dataset) -> tuple[dict[str, str], Classification, str]:
    """Acceptability, UIDs, dimensions and classification. Returns (uids, classification, orientation)."""
    check_acceptable(header)
    uids = {
        "study": str(header.get("StudyInstanceUID", "")).strip(),
        "series": str(header.get("SeriesInstanceUID", "")).strip(),
        "sop": str(header.get("SOPInstanceUID", "")).strip(),
    }
    if not all(uids.values()):
        raise Refusal("uid_missing", "Identifiants DICOM (UID) absents : fichier incomplet.")
    if any(len(uid) > 64 for uid in uids.values()):
        raise Refusal(
            "uid_invalid", "Identifiant DICOM (UID) de plus de 64 caractères : fichier non conforme."
        )
    rows, columns = int(header.get("Rows", 0) or 0), int(header.get("Columns", 0) or 0)
    frames = int(header.get("NumberOfFrames", 1) or 1)
    if rows <= 0 or columns <= 0:
        raise Refusal("dimensions_missing", "Dimensions de l'image absentes.")
    if rows * columns > MAX_FRAME_PIXELS or frames > MAX_FRAMES:
        raise Refusal(
            "absurd_dimensions",
            f"Dimensions déclarées invraisemblables ({columns}×{rows}×{frames}) : fichier refusé.",
        )
    classification, orientation = classify(header)
    return uids, classification, orientation


def identity_check(header: Dataset, participant: Participant, exam: Exam) -> None:
    """A mismatch between the image and the exam's woman blocks the file: never a silent attach."""
    birth = str(header.get("PatientBirthDate", "")).strip()
    name = str(header.get("PatientName", "")).split("^")[0].strip().casefold()
    problems = []
    if birth and birth != participant.birth_date.strftime("%Y%m%d"):
        problems.append(f"date de naissance {birth[6:8]}/{birth[4:6]}/{birth[:4]}")
    if name and name not in {participant.last_name.casefold(), participant.birth_name.casefold()}:
        problems.append(f"nom « {str(header.get('PatientName', '')).replace('^', ' ')} »")
    study_date = str(header.get("StudyDate", "")).strip()
    mammogram_day = exam.mammogram_date.strftime("%Y%m%d")
    retake_later = (
        exam.state in RETAKE_UPLOAD_STATES
        and len(study_date) == 8
        and study_date.isdigit()
        and study_date > mammogram_day
    )
    if study_date and study_date != mammogram_day and not retake_later:
        problems.append(f"date d'examen {study_date[6:8]}/{study_date[4:6]}/{study_date[:4]}")
    if problems:
        raise Refusal(
            "identity_mismatch",
            "L'image ne correspond pas à l'examen (" + ", ".join(problems) + ") : vérifiez la patiente.",
        )


def exam_match(*, practice: Practice, header: Dataset) -> Exam | None:
    """Accession Number first, else PatientID + StudyDate, within the practice's open exams."""
    exams = Exam.objects.filter(practice=practice).exclude(state=ExamState.CANCELLED)
    accession = str(header.get("AccessionNumber", "")).strip()
    if accession:
        match = exams.filter(accession_number=accession).order_by("-pk").first()
        if match is not None:
            return match
    patient_id, study_date = (
        str(header.get("PatientID", "")).strip(),
        str(header.get("StudyDate", "")).strip(),
    )
    if patient_id and len(study_date) == 8 and study_date.isdigit():
        day = f"{study_date[:4]}-{study_date[4:6]}-{study_date[6:]}"
        match = exams.filter(participant__programme_id=patient_id, mammogram_date=day).order_by("-pk").first()
        if match is None:  # a retake, shot later, goes to her exam that awaits it (R-CTI-4)
            match = (
                exams.filter(
                    participant__programme_id=patient_id,
                    state__in=RETAKE_UPLOAD_STATES,
                    mammogram_date__lt=day,
                )
                .order_by("-mammogram_date", "-pk")
                .first()
            )
        return match
    return None


def pixel_length_check(ds: Dataset) -> None:
    """Native pixel data must be as long as declared (one padding byte allowed)."""
    if ds.file_meta.TransferSyntaxUID.is_compressed or "PixelData" not in ds:
        return
    expected = (
        int(ds.Rows)
        * int(ds.Columns)
        * int(ds.get("SamplesPerPixel", 1))
        * int(ds.get("NumberOfFrames", 1) or 1)
    )
    expected = expected * int(ds.BitsAllocated) // 8
    actual = len(ds.PixelData)
    if actual not in (expected, expected + 1):
        raise Refusal(
            "pixel_length_mismatch",
            f"Données d'image de {actual} octets pour {expected} annoncés : fichier tronqué ou corrompu.",
        )


def content_sha256(fh: BinaryIO) -> str:
    """SHA-256 of the dataset after the file meta group (Part 10 header), streamed.

    Two routes (browser upload, C-STORE, STOW) wrap the same dataset in different file headers; the
    dataset itself is what identifies a duplicate.
    """
    import hashlib
    import struct

    fh.seek(0)
    start = fh.read(144)
    offset = 0
    if len(start) >= 144 and start[128:132] == b"DICM" and start[132:136] == b"\x02\x00\x00\x00":
        offset = 144 + struct.unpack("<I", start[140:144])[0]
    fh.seek(offset)
    digest = hashlib.sha256()
    for chunk in iter(lambda: fh.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()
