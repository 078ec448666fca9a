"""Importing DICOM files from folders and DICOMDIRs (CD/DVD/USB from a practice) into the ingest.

Each file goes through `ingest_file_receive` (source IMPORT), exactly as if it had been uploaded: the
same checks, refusals, duplicates and quarantine. A folder holding a DICOMDIR is read through it (only
the files it references: a CD's viewer software is not "refused"); other folders are walked recursively.
"""

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files import File
from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from pydicom.fileset import FileSet

from screening.models import IngestFile, Practice

from .errors import ServiceError
from .ingest import ingest_file_receive

log = logging.getLogger(__name__)
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
IMPORT_SENDER = "import_dicom"


@dataclass
class ImportReport:
    accepted: int = 0
    received: int = 0
    duplicates: int = 0
    ignored: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)
    quarantined: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # internal failures, not the file's fault

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "received": self.received,
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "refused": self.refused,
            "quarantined": self.quarantined,
            "errors": self.errors,
        }


def _problem(path: Path | str, code: str, reason: str) -> dict[str, str]:
    return {"file": str(path), "code": code, "reason": reason}


def _is_dicomdir(path: Path) -> bool:
    if path.name.upper() == "DICOMDIR":
        return True
    try:
        with open(path, "rb") as fh:
            fh.seek(128)
            if fh.read(4) != b"DICM":
                return False
            fh.seek(0)
            meta = dcmread(fh, stop_before_pixels=True, specific_tags=["MediaStorageSOPClassUID"]).file_meta
    except (OSError, InvalidDicomError, ValueError, TypeError, EOFError, AttributeError):
        return False
    return str(meta.get("MediaStorageSOPClassUID", "")) == DICOMDIR_SOP_CLASS


def _dicomdir_files(dicomdir: Path, problems: list[dict[str, str]]) -> list[Path] | None:
    """The files a DICOMDIR references (absolute paths), or None when it cannot be read."""
    try:
        fileset = FileSet(dcmread(dicomdir))
        paths = [Path(instance.path) for instance in fileset]
    except Exception as exc:  # pydicom raises many kinds on a damaged DICOMDIR
        log.warning("DICOMDIR %s illisible : %s", dicomdir, exc)
        problems.append(
            _problem(
                dicomdir,
                "dicomdir_unreadable",
                "DICOMDIR illisible : les fichiers du dossier sont importés un par un.",
            )
        )
        return None
    for path in paths:
        if not path.is_file():
            problems.append(_problem(path, "file_missing", "Fichier référencé par le DICOMDIR introuvable."))
    return [path for path in paths if path.is_file()]


def _walk(folder: Path, problems: list[dict[str, str]], *, use_dicomdir: bool = True) -> Iterator[Path]:
    """Files under `folder`, sorted; a (sub)folder with a readable DICOMDIR gives only what it references."""
    for root, dirs, files in os.walk(folder, onerror=lambda exc: problems.append(_unreadable(exc))):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        dicomdir = next((name for name in files if name.upper() == "DICOMDIR"), None)
        if dicomdir is not None and use_dicomdir:
            referenced = _dicomdir_files(Path(root) / dicomdir, problems)
            if referenced is not None:
                dirs[:] = []
                yield from referenced
                continue
        for name in sorted(files):
            path = Path(root) / name
            if not name.startswith(".") and name.upper() != "DICOMDIR" and path.is_file():
                yield path


def _unreadable(exc: OSError) -> dict[str, str]:
    return _problem(exc.filename or "?", "unreadable", "Dossier ou fichier illisible (droits d'accès ?).")


def dicom_import_collect(*, paths: Sequence[Path]) -> tuple[list[Path], list[dict[str, str]]]:
    """The files to import under `paths` (folders, DICOMDIRs, files), once each, and what went wrong."""
    problems: list[dict[str, str]] = []
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(_walk(path, problems))
        elif path.is_file() and _is_dicomdir(path):
            referenced = _dicomdir_files(path, problems)
            if referenced is None:
                referenced = list(_walk(path.parent, problems, use_dicomdir=False))
            found.extend(referenced)
        elif path.is_file():
            found.append(path)
        else:
            problems.append(_problem(path, "not_found", "Chemin introuvable."))
    seen: set[Path] = set()
    unique = []
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique, problems


def _tally(report: ImportReport, path: Path, record: IngestFile) -> None:
    if record.state == IngestFile.State.ACCEPTED:
        report.accepted += 1
    elif record.state == IngestFile.State.RECEIVED:
        report.received += 1
    elif record.state == IngestFile.State.DUPLICATE:
        report.duplicates += 1
    elif record.state == IngestFile.State.IGNORED:
        report.ignored += 1
    elif record.state == IngestFile.State.QUARANTINED:
        report.quarantined.append(_problem(path, record.reason_code, record.reason))
    else:
        report.refused.append(_problem(path, record.reason_code, record.reason))


def dicom_import_files(
    *,
    practice: Practice,
    files: Iterable[Path],
    sender: str = IMPORT_SENDER,
    report: ImportReport | None = None,
) -> ImportReport:
    """Ingest each file for `practice` (matched to its exam by the ingest, else left in the inbox)."""
    report = report or ImportReport()
    for path in files:
        try:
            with open(path, "rb") as fh:
                record = ingest_file_receive(
                    practice=practice,
                    upload=File(fh, name=path.name),
                    original_name=path.name,
                    actor=None,
                    source=IngestFile.Source.IMPORT,
                    sender=sender,
                )
            record.refresh_from_db()  # the pixel work may already have run (eager tasks)
        except ServiceError as exc:
            report.refused.append(_problem(path, exc.code, exc.message))
            continue
        except OSError as exc:
            log.warning("import %s : %s", path, exc)
            report.refused.append(_problem(path, "unreadable", "Fichier illisible (droits d'accès ?)."))
            continue
        except Exception:
            log.exception("import %s : erreur interne", path)
            report.errors.append(_problem(path, "internal_error", "Erreur interne : fichier non importé."))
            continue
        _tally(report, path, record)
    return report


def dicom_import_paths(
    *, practice: Practice, paths: Sequence[Path], sender: str = IMPORT_SENDER
) -> ImportReport:
    """Collect then ingest everything under `paths`; problems finding files are reported as refusals."""
    files, problems = dicom_import_collect(paths=paths)
    report = ImportReport(refused=problems)
    return dicom_import_files(practice=practice, files=files, sender=sender, report=report)
