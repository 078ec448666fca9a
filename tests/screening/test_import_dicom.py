"""`manage.py import_dicom`: folders and DICOMDIRs through the same ingest as uploads, with a JSON summary."""

import io
import json
import shutil

import pytest
from django.core.management import CommandError, call_command
from pydicom import dcmread
from pydicom.fileset import FileSet

from screening.models import DicomInstance, IngestFile
from tests.factories import PracticeFactory, draft_exam, l1_of, staff_of
from tests.screening.test_dicom_scp import exam_images

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def practice():
    return PracticeFactory()


def _exam(practice, accession: str):
    return draft_exam(
        practice=practice, staff=staff_of(practice), l1=l1_of(practice), accession_number=accession
    )


def _import(practice, *paths) -> dict:
    out = io.StringIO()
    call_command("import_dicom", "--practice", practice.code, *map(str, paths), stdout=out)
    return json.loads(out.getvalue())


def test_a_folder_is_walked_and_summarised(practice, tmp_path):
    exam = _exam(practice, "RIS-IMP-1")
    folder = tmp_path / "usb"
    files = exam_images(exam, folder / "etude")
    (folder / "notes.txt").write_text("compte rendu à part\n", encoding="utf-8")
    (folder / "vide.dcm").write_bytes(b"")
    (folder / "zz_copie").mkdir()
    shutil.copy(files[0], folder / "zz_copie" / "IM0001")

    summary = _import(practice, folder)

    assert summary["accepted"] == 4
    assert summary["duplicates"] == 1
    assert summary["received"] == 0 and summary["quarantined"] == [] and summary["errors"] == []
    refused = {entry["file"].rsplit("/", 1)[-1]: entry for entry in summary["refused"]}
    assert set(refused) == {"notes.txt", "vide.dcm"}
    assert refused["notes.txt"]["code"] == "not_dicom"
    assert refused["vide.dcm"]["code"] == "empty_file"
    assert all(entry["reason"] for entry in summary["refused"])

    rows = IngestFile.objects.filter(practice=practice)
    assert set(rows.values_list("source", flat=True)) == {IngestFile.Source.IMPORT}
    assert set(rows.filter(state=IngestFile.State.ACCEPTED).values_list("exam_id", flat=True)) == {exam.pk}
    assert DicomInstance.objects.filter(exam=exam).count() == 4


def test_a_dicomdir_imports_what_it_references_and_nothing_else(practice, tmp_path):
    exam = _exam(practice, "RIS-IMP-DIR")
    fileset = FileSet()
    for path in exam_images(exam, tmp_path / "source", compress=True):
        fileset.add(dcmread(path))
    cd = tmp_path / "cd"
    fileset.write(cd)
    (cd / "VIEWER.EXE").write_bytes(b"MZ\x90\x00 not a DICOM file")
    (cd / "AUTORUN.INF").write_text("[autorun]\n")

    summary = _import(practice, cd)
    assert (summary["accepted"], summary["refused"], summary["duplicates"]) == (4, [], 0)
    assert DicomInstance.objects.filter(exam=exam).count() == 4

    again = _import(practice, cd / "DICOMDIR")  # the DICOMDIR itself, as found on a CD
    assert (again["accepted"], again["duplicates"], again["refused"]) == (0, 4, [])


def test_usage_errors_fail_loudly(practice, tmp_path):
    with pytest.raises(CommandError, match="Cabinet inconnu"):
        call_command("import_dicom", "--practice", "NOPE", str(tmp_path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="introuvable"):
        call_command(
            "import_dicom", "--practice", practice.code, str(tmp_path / "absent"), stdout=io.StringIO()
        )
    assert not IngestFile.objects.exists()
