"""Compressed originals decode at ingest (JPEG lossless, JPEG-LS, RLE, deflate, JPEG 2000), are stored as
received, and a lossy original is flagged as not decision-grade. The encoders are dcmtk's, not ours."""

import shutil
import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread

from screening.models import DicomInstance, IngestFile
from tests.factories import PracticeFactory, draft_exam, exam_files, l1_of, staff_of, upload

pytestmark = pytest.mark.django_db(transaction=True)

ENCODERS = {
    "jpeg_lossless": (["dcmcjpeg", "+e1"], "1.2.840.10008.1.2.4.70"),
    "jpeg_ls_lossless": (["dcmcjpls"], "1.2.840.10008.1.2.4.80"),
    "rle": (["dcmcrle"], "1.2.840.10008.1.2.5"),
    "deflate": (["dcmconv", "+td"], "1.2.840.10008.1.2.1.99"),
}


def _encode(tool: list[str], source: Path, target: Path) -> Path:
    if shutil.which(tool[0]) is None:
        pytest.fail(f"dcmtk's {tool[0]} is missing: install Debian's dcmtk (the CI does)")
    subprocess.run([*tool, str(source), str(target)], check=True, capture_output=True)
    return target


@pytest.fixture
def exam_and_source(tmp_path):
    practice = PracticeFactory()
    staff, l1 = staff_of(practice), l1_of(practice)
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    source = exam_files(exam, tmp_path / "native", views=("RCC",))[0]
    return exam, staff, source


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_compressed_original_decodes_to_the_same_pixels_and_is_stored_as_received(
    exam_and_source, tmp_path, name
):
    exam, staff, source = exam_and_source
    tool, syntax = ENCODERS[name]
    encoded = _encode(tool, source, tmp_path / f"{name}.dcm")
    assert str(dcmread(encoded, stop_before_pixels=True).file_meta.TransferSyntaxUID) == syntax
    record = upload(exam, encoded, staff)
    record.refresh_from_db()
    assert record.state == IngestFile.State.ACCEPTED, record.reason
    instance = DicomInstance.objects.get(pk=record.instance_id)
    assert instance.transfer_syntax_uid == syntax and not instance.lossy
    from django.core.files.storage import default_storage

    with default_storage.open(instance.file, "rb") as stored:
        assert stored.read() == encoded.read_bytes()  # the original, never transcoded
    assert (dcmread(encoded).pixel_array == dcmread(source).pixel_array).all()


def test_lossy_jpeg_original_is_accepted_but_flagged_not_decision_grade(exam_and_source, tmp_path):
    exam, staff, source = exam_and_source
    native = dcmread(source)
    native.BitsStored, native.HighBit = 12, 11  # baseline-extended JPEG needs ≤ 12 bits
    twelve = tmp_path / "12bit.dcm"
    native.save_as(twelve)
    encoded = _encode(["dcmcjpeg", "+ee"], twelve, tmp_path / "lossy.dcm")
    record = upload(exam, encoded, staff)
    record.refresh_from_db()
    assert record.state == IngestFile.State.ACCEPTED, record.reason
    instance = DicomInstance.objects.get(pk=record.instance_id)
    assert instance.lossy and "lossy" in instance.flags
