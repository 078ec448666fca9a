"""Images that arrive without their exam: matching, the practice's inbox, conflicts and bad input."""

from pathlib import Path

import pytest
from django.core.files import File
from django.urls import reverse

from screening.dicom.synth import make_mammogram, write_mammogram
from screening.models import DicomInstance, DicomStudy, ExamState, IngestFile
from screening.services.errors import ServiceError
from screening.services.exams import exam_submit
from screening.services.inbox import inbox_study_attach
from screening.services.ingest import ingest_file_receive
from tests.factories import (
    PASSWORD,
    PracticeFactory,
    SiteFactory,
    draft_exam,
    exam_files,
    l1_of,
    reader_at,
    staff_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def practice_people():
    practice = PracticeFactory()
    return practice, staff_of(practice), l1_of(practice)


def send(practice, path: Path, *, name=None, source=IngestFile.Source.CSTORE):
    with open(path, "rb") as fh:
        record = ingest_file_receive(
            practice=practice, upload=File(fh, name=path.name), original_name=name or path.name, actor=None,
            source=source, sender="MODALITY1",
        )  # fmt: skip
    record.refresh_from_db()
    return record


def test_images_are_matched_by_accession_number(practice_people, tmp_path):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1, accession_number="RIS-42")
    files = exam_files(exam, tmp_path)  # accession ACC<pk> in the files…
    exam.accession_number = f"ACC{exam.pk}"  # …as the RIS gave it to the exam
    exam.save(update_fields=["accession_number"])
    records = [send(practice, path) for path in files]
    assert {r.state for r in records} == {IngestFile.State.ACCEPTED}
    assert {r.exam_id for r in records} == {exam.pk}
    assert DicomInstance.objects.filter(exam=exam, is_default_for_slot=True).count() == 4


def test_images_are_matched_by_patient_id_and_study_date_without_accession(practice_people, tmp_path):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    p = exam.participant
    path = write_mammogram(
        tmp_path / "rcc.dcm", patient_id=p.programme_id, patient_name=f"{p.last_name}^{p.first_name}",
        birth_date=p.birth_date.strftime("%Y%m%d"), study_date=exam.mammogram_date.strftime("%Y%m%d"),
        accession_number="", laterality="R", view="CC", compress=False,
    )  # fmt: skip
    assert send(practice, path).exam_id == exam.pk


def test_images_before_the_exam_wait_in_the_inbox_then_are_attached_and_the_exam_leaves_for_l2(
    practice_people, tmp_path, client
):
    practice, staff, l1 = practice_people
    reader_at(SiteFactory())
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    files = exam_files(exam, tmp_path)
    exam_id = exam.pk
    exam.accession_number = ""
    exam.save(update_fields=["accession_number"])
    exam.participant.programme_id = "03-2026-999999"  # PatientID in the files no longer matches
    exam.participant.save()
    records = [send(practice, path) for path in files]
    assert {r.exam_id for r in records} == {None}
    study = DicomStudy.objects.get(exam__isnull=True)
    assert DicomInstance.objects.filter(exam__isnull=True).count() == 4

    assert client.login(username=staff.username, password=PASSWORD)
    page = client.get(reverse("practice:inbox")).content.decode()
    assert study.patient_id in page
    response = client.post(reverse("practice:inbox_attach", args=[study.pk]), {"exam": exam_id})
    assert response.status_code == 302
    assert DicomInstance.objects.filter(exam_id=exam_id, is_default_for_slot=True).count() == 4
    exam_submit(exam_id=exam_id, actor=staff)
    exam.refresh_from_db()
    assert exam.state == ExamState.ASSIGNED


def test_an_inbox_study_of_another_woman_cannot_be_attached(practice_people, tmp_path):
    practice, staff, l1 = practice_people
    other = draft_exam(practice=practice, staff=staff, l1=l1)
    target = draft_exam(practice=practice, staff=staff, l1=l1)
    path = exam_files(other, tmp_path, views=("RCC",))[0]
    other.participant.programme_id, other.accession_number = "03-0000-000001", ""
    other.participant.save()
    other.save()
    record = send(practice, path)
    assert record.exam_id is None  # no exam matches: it waits in the inbox
    study = DicomStudy.objects.get(study_uid=record.study_uid)
    with pytest.raises(ServiceError) as error:
        inbox_study_attach(study_id=study.pk, exam_id=target.pk, actor=staff)
    assert error.value.code == "identity_mismatch"
    assert DicomStudy.objects.get(pk=study.pk).exam_id is None


def test_same_uid_with_other_content_is_quarantined_and_the_first_is_kept(practice_people, tmp_path):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    first = exam_files(exam, tmp_path / "a", views=("RCC",))[0]
    assert send(practice, first).state == IngestFile.State.ACCEPTED
    original = DicomInstance.objects.get()
    from pydicom import dcmread

    ds = dcmread(first)
    ds.InstanceNumber = 99  # same SOP Instance UID, different content
    changed = tmp_path / "changed.dcm"
    ds.save_as(changed)
    record = send(practice, changed)
    assert (record.state, record.reason_code) == (IngestFile.State.QUARANTINED, "uid_conflict")
    assert record.staged_path.startswith("quarantine/")
    assert DicomInstance.objects.get().sha256 == original.sha256


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda ds: setattr(ds, "Rows", 60000) or setattr(ds, "Columns", 60000), "absurd_dimensions"),
        (lambda ds: delattr(ds, "SOPInstanceUID"), "uid_missing"),
        (lambda ds: setattr(ds, "StudyInstanceUID", "1." + "2" * 70), "uid_invalid"),
    ],
)
def test_bad_headers_are_refused_at_once_with_a_code(practice_people, tmp_path, mutate, code):
    practice, _staff, _l1 = practice_people
    ds = make_mammogram(
        patient_id="X", patient_name="A^B", birth_date="19600101", study_date="20261101", accession_number="",
        compress=False, pixels=__import__("numpy").zeros((64, 48), "uint16"),
    )  # fmt: skip
    mutate(ds)
    path = tmp_path / "bad.dcm"
    ds.save_as(path, enforce_file_format=True)
    record = send(practice, path)
    assert (record.state, record.reason_code) == (IngestFile.State.REFUSED, code)
    assert not DicomInstance.objects.exists()


def test_path_traversal_and_control_characters_in_names_are_neutralised(practice_people, tmp_path):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    path = exam_files(exam, tmp_path, views=("LCC",))[0]
    record = send(practice, path, name="../../etc/passwd\x00\x1b.dcm", source=IngestFile.Source.BROWSER)
    assert "/" not in record.original_name and "\x00" not in record.original_name
    assert record.original_name.startswith("passwd")


def test_the_same_dataset_under_another_file_header_is_a_duplicate_not_a_conflict(practice_people, tmp_path):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    first = exam_files(exam, tmp_path / "a", views=("RCC",))[0]
    assert send(practice, first, source=IngestFile.Source.BROWSER).state == IngestFile.State.ACCEPTED
    from pydicom import dcmread

    ds = dcmread(first)
    ds.file_meta.ImplementationVersionName = "OTHER_PACS_1"  # another sender's Part 10 header
    ds.file_meta.SourceApplicationEntityTitle = "PACS"
    resent = tmp_path / "resent.dcm"
    ds.save_as(resent, enforce_file_format=True)
    assert resent.read_bytes() != first.read_bytes()
    record = send(practice, resent)
    assert (record.state, record.reason_code) == (IngestFile.State.DUPLICATE, "duplicate")


def test_pixel_data_longer_than_declared_is_refused(practice_people, tmp_path):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    from pydicom import dcmread

    ds = dcmread(exam_files(exam, tmp_path / "a", views=("RCC",))[0])
    ds.PixelData = ds.PixelData + b"\x00" * 4096
    longer = tmp_path / "longer.dcm"
    ds.save_as(longer)
    record = send(practice, longer, source=IngestFile.Source.BROWSER)
    assert (record.state, record.reason_code) == (IngestFile.State.REFUSED, "pixel_length_mismatch")


def test_oversize_upload_is_refused_before_anything_is_kept(practice_people, tmp_path, settings):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    path = exam_files(exam, tmp_path, views=("RCC",))[0]
    settings.MAX_DICOM_FILE_BYTES = 1024 * 1024
    with pytest.raises(ServiceError) as error:
        send(practice, path)
    assert error.value.code == "file_too_large"
    assert not IngestFile.objects.exists()
    from django.core.files.storage import default_storage

    assert not default_storage.exists("staging") or not default_storage.listdir("staging")[1]


def test_undecodable_bytes_in_a_file_name_are_shown_not_crashed_on(practice_people, tmp_path):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    path = exam_files(exam, tmp_path, views=("RCC",))[0]
    record = send(practice, path, name=b"cl\xe9-face.dcm".decode("utf-8", "surrogateescape"))
    assert record.original_name == "cl\ufffd-face.dcm"
    assert record.state == IngestFile.State.ACCEPTED
