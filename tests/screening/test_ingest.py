"""Intake: validation, classification, storage, routing to L2 — and every refusal leaves nothing behind."""

import os
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from readings.models import Assignment
from screening.dicom.synth import make_mammogram, write_mammogram
from screening.models import DicomInstance, ExamState, IngestFile, Rendition
from screening.services.exams import exam_submit
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    draft_exam,
    exam_files,
    l1_of,
    reader_at,
    staff_of,
    submitted_exam,
    upload,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup():
    practice = PracticeFactory()
    site = SiteFactory()
    return {
        "practice": practice,
        "staff": staff_of(practice),
        "l1": l1_of(practice),
        "reader": reader_at(site),
    }


def _tags(exam):
    p = exam.participant
    return {
        "patient_id": p.programme_id,
        "patient_name": f"{p.last_name}^{p.first_name}",
        "birth_date": p.birth_date.strftime("%Y%m%d"),
        "study_date": exam.mammogram_date.strftime("%Y%m%d"),
        "accession_number": "A1",
    }


def _stored_files() -> list[str]:
    root = Path(default_storage.location)
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_four_views_are_stored_classified_rendered_queued_and_assigned(setup):
    exam = submitted_exam(practice=setup["practice"], staff=setup["staff"], l1=setup["l1"], compress=True)
    assert exam.state == ExamState.ASSIGNED
    slots = set(
        DicomInstance.objects.filter(exam=exam, is_default_for_slot=True).values_list("slot", flat=True)
    )
    assert slots == {"RCC", "LCC", "RMLO", "LMLO"}
    instance = DicomInstance.objects.get(exam=exam, slot="RCC")
    assert instance.transfer_syntax_uid == "1.2.840.10008.1.2.4.90"  # JPEG 2000 lossless decoded at ingest
    assert len(instance.sha256) == 64 and instance.size_bytes > 0
    assert default_storage.exists(instance.file)
    # display, thumbnail, WebP preview and HTJ2K lossless frame per view
    assert Rendition.objects.filter(instance__exam=exam).count() == 16
    assert all(f.state == IngestFile.State.ACCEPTED for f in exam.ingest_files.all())
    assert not [f for f in _stored_files() if f.startswith("staging/")], "staging must be emptied"
    history = list(exam.status_events.values_list("to_state", flat=True))
    assert history == ["DRAFT", "SUBMITTED", "QUEUED", "ASSIGNED"]
    assert Assignment.objects.get(exam=exam).reader == setup["reader"]


def test_same_file_twice_is_harmless(setup, tmp_path):
    exam = draft_exam(practice=setup["practice"], staff=setup["staff"], l1=setup["l1"])
    path = exam_files(exam, tmp_path, views=("RCC",))[0]
    first = upload(exam, path, setup["staff"])
    second = upload(exam, path, setup["staff"])
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == IngestFile.State.ACCEPTED
    assert second.state == IngestFile.State.DUPLICATE
    assert DicomInstance.objects.filter(exam=exam).count() == 1


@pytest.mark.parametrize(
    ("kwargs", "drop", "code"),
    [
        ({"modality": "CT"}, (), "wrong_modality"),
        ({"set_view_code": False}, ("ViewPosition", "SeriesDescription"), "view_missing"),
        ({"set_image_laterality": False}, ("ImageLaterality", "SeriesDescription"), "laterality_missing"),
    ],
)
def test_bad_dicom_is_refused_with_a_french_reason_and_nothing_stored(setup, tmp_path, kwargs, drop, code):
    exam = draft_exam(practice=setup["practice"], staff=setup["staff"], l1=setup["l1"])
    ds = make_mammogram(**{**_tags(exam), "laterality": "R", "view": "CC", **kwargs})
    for keyword in drop:
        if keyword in ds:
            delattr(ds, keyword)
    path = tmp_path / "bad.dcm"
    ds.save_as(path, enforce_file_format=True)
    record = upload(exam, path, setup["staff"])
    record.refresh_from_db()
    assert record.state == IngestFile.State.REFUSED
    assert record.reason_code == code
    assert record.reason and record.reason[0].isupper()
    assert DicomInstance.objects.count() == 0
    assert [f for f in _stored_files() if not f.startswith("staging/")] == []


def test_non_dicom_and_truncated_files_are_refused(setup, tmp_path):
    exam = draft_exam(practice=setup["practice"], staff=setup["staff"], l1=setup["l1"])
    text = tmp_path / "compte-rendu.pdf"
    text.write_bytes(b"%PDF-1.4 not an image")
    native = exam_files(exam, tmp_path / "native", views=("LCC",))[0]
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(native.read_bytes()[: os.path.getsize(native) // 2])
    compressed = exam_files(exam, tmp_path / "j2k", views=("RCC",), compress=True)[0]
    truncated_j2k = tmp_path / "truncated-j2k.dcm"
    truncated_j2k.write_bytes(compressed.read_bytes()[: os.path.getsize(compressed) // 2])
    cases = (
        (text, "not_dicom"),
        (truncated, "pixel_length_mismatch"),
        (truncated_j2k, "pixel_data_unreadable"),
    )
    for path, code in cases:
        record = upload(exam, path, setup["staff"])
        record.refresh_from_db()
        assert (record.state, record.reason_code) == (IngestFile.State.REFUSED, code), record.reason
    assert DicomInstance.objects.count() == 0
    assert [f for f in _stored_files() if f.startswith("originals/")] == []


def test_image_of_another_woman_is_refused(setup, tmp_path):
    exam = draft_exam(practice=setup["practice"], staff=setup["staff"], l1=setup["l1"])
    tags = {**_tags(exam), "patient_name": "AUTRE^Femme", "birth_date": "19500101"}
    record = upload(exam, write_mammogram(tmp_path / "x.dcm", **tags), setup["staff"])
    record.refresh_from_db()
    assert record.reason_code == "identity_mismatch"
    assert "ne correspond pas" in record.reason


def test_missing_view_makes_the_exam_incomplete_naming_the_view(setup):
    exam = submitted_exam(
        practice=setup["practice"], staff=setup["staff"], l1=setup["l1"], views=("RCC", "LCC", "RMLO")
    )
    assert exam.state == ExamState.INCOMPLETE
    assert "Oblique G" in exam.state_reason
    assert not Assignment.objects.filter(exam=exam).exists()


def test_incomplete_exam_completed_and_resubmitted_goes_to_l2(setup, tmp_path):
    exam = submitted_exam(
        practice=setup["practice"], staff=setup["staff"], l1=setup["l1"], views=("RCC", "LCC", "RMLO")
    )
    path = write_mammogram(tmp_path / "lmlo.dcm", **_tags(exam), laterality="L", view="MLO")
    upload(exam, path, setup["staff"])
    exam_submit(exam_id=exam.pk, actor=setup["staff"])
    exam.refresh_from_db()
    assert exam.state == ExamState.ASSIGNED


def test_earlier_exam_of_the_same_woman_is_linked_as_prior(setup):
    first = submitted_exam(practice=setup["practice"], staff=setup["staff"], l1=setup["l1"], days_ago=730)
    second = submitted_exam(
        practice=setup["practice"], staff=setup["staff"], l1=setup["l1"], participant=first.participant
    )
    assert list(second.priors.all()) == [first]
    assert second.screening_round == "SUBSEQUENT"


def test_for_processing_image_is_kept_out_of_reading_with_a_notice(setup, tmp_path):
    exam = draft_exam(practice=setup["practice"], staff=setup["staff"], l1=setup["l1"])
    path = write_mammogram(
        tmp_path / "raw.dcm", **_tags(exam), laterality="R", view="CC", presentation_intent="FOR PROCESSING"
    )
    record = upload(exam, path, setup["staff"])
    record.refresh_from_db()
    assert (record.state, record.reason_code) == (IngestFile.State.IGNORED, "for_processing")
    assert "hors lecture" in record.reason
    assert record.staged_path.startswith("kept/") and default_storage.exists(record.staged_path)
    assert DicomInstance.objects.count() == 0


def test_tomosynthesis_volume_is_stored_flagged_and_rendered_from_its_middle_slice(setup, tmp_path):
    import numpy as np

    exam = draft_exam(practice=setup["practice"], staff=setup["staff"], l1=setup["l1"])
    ds = make_mammogram(
        **_tags(exam), laterality="L", view="CC", compress=False, pixels=np.zeros((256, 192), "uint16")
    )
    frames = np.stack([np.full((256, 192), 200 * i, dtype=np.uint16) for i in range(5)])
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.13.1.3"
    ds.NumberOfFrames, ds.PixelData = 5, frames.tobytes()
    ds.WindowCenter, ds.WindowWidth = 400, 800
    path = tmp_path / "tomo.dcm"
    ds.save_as(path, enforce_file_format=True)
    record = upload(exam, path, setup["staff"])
    record.refresh_from_db()
    assert record.state == IngestFile.State.ACCEPTED, record.reason
    instance = DicomInstance.objects.get()
    assert "tomosynthesis" in instance.flags and instance.slot == ""
    thumb = instance.renditions.get(kind="THUMB")
    from PIL import Image

    with default_storage.open(thumb.file, "rb") as fh:
        assert abs(np.asarray(Image.open(fh)).mean() - 127.5) < 2  # frame 2 of 0..4 = 400 = window centre
