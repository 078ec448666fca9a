"""Retakes (R-CTI-3..5): timers, retaken views beside the originals, receipt into a new L2 round offered to the
requesting reader, written refusal, overdue closed by the coordination."""

import datetime as dt
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile, File
from django.core.files.storage import storages
from django.utils import timezone
from pydicom.uid import generate_uid

from readings.models import Assignment, Retake
from readings.services.l2_reading import CtiInput, l2_reading_submit
from readings.services.retakes import (
    retake_overdue_close,
    retake_receive,
    retake_refusal_record,
    retake_timers_run,
)
from screening.dicom.synth import write_mammogram
from screening.models import (
    DicomInstance,
    ExamOutcome,
    ExamState,
    IngestFile,
    Letter,
    LetterKind,
    ParticipantDoctor,
)
from screening.services.errors import ServiceError
from screening.services.exam_state import exam_transition
from screening.services.exams import exam_submit
from screening.services.ingest import ingest_file_receive
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    coordinator,
    draft_exam,
    l1_of,
    reader_at,
    staff_of,
    upload,
)

pytestmark = pytest.mark.django_db(transaction=True)
S = ExamState
SLOTS = ("RCC", "LCC", "RMLO", "LMLO")
MLO_RIGHT = [CtiInput(side="D", view="MLO", reason="FLO", instructions="Bien dégager le pectoral")]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_centre() -> dict:
    practice = PracticeFactory()
    sites = [SiteFactory(), SiteFactory()]
    other = PracticeFactory()
    return {
        "practice": practice,
        "staff": staff_of(practice),
        "l1": l1_of(practice),
        "readers": [reader_at(sites[0]), reader_at(sites[1])],
        "coordinator": coordinator(),
        "other_staff": staff_of(other),
    }


@pytest.fixture
def centre():
    return make_centre()


def view_file(exam, directory: Path, slot: str, *, study_uid: str, study_date=None, seed=0, accession=None):
    """A small MG For Presentation image of one view (fast to store and render)."""
    p = exam.participant
    pixels = np.random.default_rng(seed).integers(0, 4095, size=(256, 192), dtype=np.uint16)
    name = f"{slot}-{seed}.dcm"
    return write_mammogram(
        directory / name,
        patient_id=p.programme_id,
        patient_name=f"{p.last_name}^{p.first_name}",
        birth_date=p.birth_date.strftime("%Y%m%d"),
        study_date=(study_date or exam.mammogram_date).strftime("%Y%m%d"),
        accession_number=accession if accession is not None else f"ACC{exam.pk}",
        study_uid=study_uid,
        laterality=slot[0],
        view=slot[1:],
        compress=False,
        pixels=pixels,
        seed=seed,
    )


def cti_exam(centre, tmp_path, items=MLO_RIGHT):
    """A console exam read by one reader as CTI (the lead's outcome flow creates the Retake)."""
    staff = centre["staff"]
    exam = draft_exam(practice=centre["practice"], staff=staff, l1=centre["l1"])
    ParticipantDoctor.objects.create(participant=exam.participant, kind="GP", name="Dr Dupuis", town="Vichy")
    study = generate_uid()
    for i, slot in enumerate(SLOTS):
        upload(exam, view_file(exam, tmp_path, slot, study_uid=study, seed=i + 1), staff)
    exam_submit(exam_id=exam.pk, actor=staff)  # eager: intake check, queue, assignment
    assignment = Assignment.objects.get(exam=exam, state=Assignment.State.ACTIVE)
    l2_reading_submit(
        exam_id=exam.pk, reader=assignment.reader, verdict="CTI", cti_items=items, undo_seconds=0
    )
    exam.refresh_from_db()
    assert exam.state == S.CTI_REQUESTED
    return exam, assignment.reader


def letters_sent(exam, *, days_ago: int = 0):
    """What the outcome flow does once the CTI letters are marked sent (exam_letters_sent), dated back."""
    sent = timezone.now() - dt.timedelta(days=days_ago)
    Retake.objects.filter(exam=exam).update(requested_at=sent)
    exam_transition(exam_id=exam.pk, to_state=S.RETAKE_PENDING, actor=None, reason="Courriers CTI envoyés")
    exam.refresh_from_db()
    return Retake.objects.get(exam=exam)


def retake_upload(exam, tmp_path, slots, actor, seed=50):
    study = generate_uid()
    return [
        upload(
            exam,
            view_file(exam, tmp_path, slot, study_uid=study, study_date=timezone.localdate(), seed=seed + i),
            actor,
        )
        for i, slot in enumerate(slots)
    ]


def sha256_of(instance) -> str:
    with storages["originals"].open(instance.file, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


# --------------------------------------------------------------------------------------------- timers


def test_reminder_once_at_one_month_then_overdue_at_six_months_with_the_doctor_told(centre, tmp_path):
    exam, _reader = cti_exam(centre, tmp_path)
    retake = letters_sent(exam, days_ago=29)
    assert retake_timers_run() == {"reminded": 0, "overdue": 0}

    now = retake.requested_at + dt.timedelta(days=30, minutes=1)
    assert retake_timers_run(now=now) == {"reminded": 1, "overdue": 0}
    assert retake_timers_run(now=now + dt.timedelta(days=3)) == {"reminded": 0, "overdue": 0}  # once
    reminders = Letter.objects.filter(exam=exam, kind=LetterKind.REM_CTI)
    assert sorted(reminders.values_list("recipient_kind", flat=True)) == ["PRACTICE", "WOMAN"]
    retake.refresh_from_db()
    assert retake.reminded_at == now and retake.overdue_at is None

    late = retake.requested_at + dt.timedelta(days=182, minutes=1)
    assert retake_timers_run(now=late) == {"reminded": 0, "overdue": 1}
    assert retake_timers_run(now=late + dt.timedelta(days=1)) == {"reminded": 0, "overdue": 0}
    exam.refresh_from_db()
    retake.refresh_from_db()
    assert exam.state == S.RETAKE_OVERDUE and retake.overdue_at == late
    doctor = Letter.objects.filter(exam=exam, kind=LetterKind.REM_CTI, recipient_kind="GP")
    assert list(doctor.values_list("recipient_name", flat=True)) == ["Dr Dupuis"]
    assert reminders.count() == 3  # practice + woman at 1 month, the doctor at 6 months: nothing doubled
    assert exam.status_events.filter(to_state=S.RETAKE_OVERDUE, actor=None).count() == 1


def test_timers_leave_exams_that_moved_on_alone(centre, tmp_path):
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam, days_ago=200)
    retake_refusal_record(exam_id=exam.pk, actor=centre["staff"], refusal="WOMAN", statement_file=None)
    assert retake_timers_run() == {"reminded": 0, "overdue": 0}
    assert not Letter.objects.filter(exam=exam, kind=LetterKind.REM_CTI).exists()


# ------------------------------------------------------------------------------------ upload, receipt


def test_a_retaken_view_is_stored_beside_the_original_which_stays_untouched(centre, tmp_path):
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam)
    original = DicomInstance.objects.get(exam=exam, slot="RMLO")
    before = sha256_of(original)
    assert before == original.sha256

    (record,) = retake_upload(exam, tmp_path, ["RMLO"], centre["staff"])
    record.refresh_from_db()
    assert record.state == IngestFile.State.ACCEPTED, record.reason  # a later study date is fine here

    rmlo = DicomInstance.objects.filter(exam=exam, slot="RMLO").order_by("pk")
    assert [i.pk for i in rmlo] == [original.pk, record.instance_id]
    original.refresh_from_db()
    assert sha256_of(original) == before == original.sha256  # same file, byte for byte
    assert original.file != record.instance.file
    assert (original.is_default_for_slot, rmlo.last().is_default_for_slot) == (False, True)
    assert DicomInstance.objects.filter(exam=exam).count() == 5


def test_a_retake_sent_by_the_modality_finds_its_exam_without_an_exam_id(centre, tmp_path):
    """C-STORE / STOW: no exam given, a new accession number and a later date: the waiting exam is matched."""
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam)
    path = view_file(
        exam, tmp_path, "RMLO", study_uid=generate_uid(), study_date=timezone.localdate(), seed=77,
        accession="NEW-ACC",
    )  # fmt: skip
    with open(path, "rb") as fh:
        record = ingest_file_receive(
            practice=exam.practice, upload=File(fh, name=path.name), original_name=path.name, actor=None,
            source=IngestFile.Source.CSTORE, sender="MAMMO1",
        )  # fmt: skip
    record.refresh_from_db()
    assert (record.state, record.exam_id) == (IngestFile.State.ACCEPTED, exam.pk)


def test_a_missing_retaken_view_is_refused_with_its_name(centre, tmp_path):
    items = [*MLO_RIGHT, CtiInput(side="G", view="CC", reason="CMP")]
    exam, _reader = cti_exam(centre, tmp_path, items=items)
    letters_sent(exam)
    retake_upload(exam, tmp_path, ["RMLO"], centre["staff"])
    with pytest.raises(ServiceError) as refused:
        retake_receive(exam_id=exam.pk, actor=centre["staff"])
    assert refused.value.code == "retake_views_missing"
    assert "Face (CC) du sein gauche" in refused.value.message
    assert "Oblique externe" not in refused.value.message  # that one came back
    exam.refresh_from_db()
    assert (exam.state, exam.l2_round) == (S.RETAKE_PENDING, 1)
    assert Retake.objects.get(exam=exam).received_at is None


def test_receipt_opens_round_two_offered_first_to_the_requesting_reader(centre, tmp_path):
    exam, requester = cti_exam(centre, tmp_path)
    letters_sent(exam, days_ago=40)
    retake_upload(exam, tmp_path, ["RMLO"], centre["staff"])

    retake_receive(exam_id=exam.pk, actor=centre["staff"])  # eager: the assignment follows the commit
    exam.refresh_from_db()
    assert exam.l2_round == 2
    assert exam.state == S.ASSIGNED
    events = list(exam.status_events.values_list("to_state", flat=True))
    assert events[-3:] == [S.RETAKE_RECEIVED, S.QUEUED, S.ASSIGNED]
    active = Assignment.objects.get(exam=exam, state=Assignment.State.ACTIVE)
    assert active.reader == requester  # the other reader has the lighter load: the preference decided
    assert active.decision == {"rule": "RETAKE_SAME_READER", "reader_id": requester.pk}
    retake = Retake.objects.get(exam=exam)
    assert retake.received_at is not None
    assert ExamOutcome.objects.get(exam=exam).retake_received_at == retake.received_at
    with pytest.raises(ServiceError) as again:
        retake_receive(exam_id=exam.pk, actor=centre["staff"])
    assert again.value.code == "retake_not_pending"


def test_the_engine_takes_over_when_the_requesting_reader_may_not_read(centre, tmp_path):
    exam, requester = cti_exam(centre, tmp_path)
    letters_sent(exam)
    retake_upload(exam, tmp_path, ["RMLO"], centre["staff"])
    profile = requester.reader_profile
    profile.active = False
    profile.save(update_fields=["active"])
    retake_receive(exam_id=exam.pk, actor=centre["staff"])
    active = Assignment.objects.get(exam=exam, state=Assignment.State.ACTIVE)
    assert active.reader != requester and active.reader in centre["readers"]


# ------------------------------------------------------------------------------------ refusal, close


def test_a_written_l1_refusal_closes_the_exam_as_cti_refused(centre, tmp_path):
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam)
    with pytest.raises(ServiceError) as unwritten:
        retake_refusal_record(exam_id=exam.pk, actor=centre["l1"], refusal="L1", statement_file=None)
    assert unwritten.value.code == "statement_missing"

    statement = ContentFile(PDF, name="refus.pdf")
    exam = retake_refusal_record(exam_id=exam.pk, actor=centre["l1"], refusal="L1", statement_file=statement)
    assert exam.state == S.CLOSED
    assert list(exam.status_events.values_list("to_state", flat=True))[-2:] == [S.RETAKE_REFUSED, S.CLOSED]
    retake = Retake.objects.get(exam=exam)
    assert (retake.refusal, retake.refusal_recorded_by) == ("L1", centre["l1"])
    with retake.refusal_statement.open("rb") as fh:
        assert fh.read() == PDF  # kept as sent
    assert ExamOutcome.objects.get(exam=exam).closed_reason == "CTI_REFUSED"


def test_a_bad_statement_leaves_nothing_stored(centre, tmp_path, settings):
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam)
    with pytest.raises(ServiceError) as wrong:
        retake_refusal_record(
            exam_id=exam.pk, actor=centre["staff"], refusal="L1",
            statement_file=ContentFile(b"just text", name="refus.pdf"),
        )  # fmt: skip
    assert wrong.value.code == "statement_type"
    settings.L2_RETAKE_STATEMENT_MAX_BYTES = 10
    with pytest.raises(ServiceError) as big:
        retake_refusal_record(
            exam_id=exam.pk,
            actor=centre["staff"],
            refusal="L1",
            statement_file=ContentFile(PDF, name="a.pdf"),
        )
    assert big.value.code == "statement_too_large"
    exam.refresh_from_db()
    assert exam.state == S.RETAKE_PENDING and not Retake.objects.get(exam=exam).refusal_statement
    refusals = Path(settings.MEDIA_ROOT) / "retakes"
    assert not refusals.exists() or not any(p.is_file() for p in refusals.rglob("*"))


def test_refusal_after_a_failed_transition_removes_the_stored_statement(
    centre, tmp_path, settings, monkeypatch
):
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam)
    import readings.services.retakes as retakes

    def broken(**kwargs):
        raise ServiceError("boom", "Panne simulée.")

    monkeypatch.setattr(retakes, "exam_outcome_refresh", broken)
    with pytest.raises(ServiceError):
        retake_refusal_record(
            exam_id=exam.pk,
            actor=centre["staff"],
            refusal="L1",
            statement_file=ContentFile(PDF, name="a.pdf"),
        )
    exam.refresh_from_db()
    assert exam.state == S.RETAKE_PENDING
    refusals = Path(settings.MEDIA_ROOT) / "retakes"
    assert not refusals.exists() or not any(p.is_file() for p in refusals.rglob("*"))


def test_the_coordinator_closes_an_overdue_retake_as_cti_overdue(centre, tmp_path):
    exam, _reader = cti_exam(centre, tmp_path)
    retake = letters_sent(exam, days_ago=190)
    with pytest.raises(ServiceError):  # not overdue yet
        retake_overdue_close(exam_id=exam.pk, actor=centre["coordinator"])
    retake_timers_run()
    with pytest.raises(ServiceError) as practice:
        retake_overdue_close(exam_id=exam.pk, actor=centre["staff"])
    assert practice.value.code == "forbidden"
    exam = retake_overdue_close(exam_id=exam.pk, actor=centre["coordinator"], note="Patiente injoignable")
    assert exam.state == S.CLOSED
    assert "Patiente injoignable" in exam.state_reason
    outcome = ExamOutcome.objects.get(exam=exam)
    assert outcome.closed_reason == "CTI_OVERDUE"
    retake.refresh_from_db()
    assert retake.overdue_at is not None and retake.received_at is None


def test_statement_check_accepts_images(centre):
    from readings.services.retakes import statement_check

    png = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    png.size = 28
    assert statement_check(png) == "png"
    assert statement_check(ContentFile(b"\xff\xd8\xff\xe0" + b"\x00" * 20)) == "jpg"
