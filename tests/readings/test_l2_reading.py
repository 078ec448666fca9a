"""Recording the L2 verdict: rules of R-READ-3 / R-CTI-1, outcomes, discordances, idempotence."""

import uuid

import pytest

from readings.models import Discordance, L2Reading
from readings.services.l2_reading import CtiInput, FindingInput, l2_reading_submit
from screening.models import ExamState
from screening.services.errors import ServiceError
from tests.factories import PracticeFactory, SiteFactory, l1_of, reader_at, staff_of, submitted_exam

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def assigned():
    practice = PracticeFactory()
    l1 = l1_of(practice)
    reader = reader_at(SiteFactory())
    exam = submitted_exam(practice=practice, staff=staff_of(practice), l1=l1)
    return exam, reader, l1


def test_normal_verdict_closes_the_assignment_and_makes_the_exam_negative(assigned):
    exam, reader, _ = assigned
    reading = l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="NORMAL", acr_right=1, acr_left=2)
    exam.refresh_from_db()
    assert exam.state == ExamState.L2_NEGATIVE
    assert reading.acr_left == 2 and reading.reading_round == 1
    assert not Discordance.objects.exists()
    assert exam.assignments.get().state == "COMPLETED"


def test_anomaly_makes_the_exam_positive_and_opens_a_discordance(assigned):
    exam, reader, _ = assigned
    finding = FindingInput(side="G", lesion_type="C", quadrant="QSE", acr=4, clock=2)
    reading = l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="ANOMALY", findings=[finding])
    exam.refresh_from_db()
    assert exam.state == ExamState.L2_POSITIVE
    assert (reading.acr_right, reading.acr_left) == (1, 4)
    discordance = Discordance.objects.get(exam=exam)
    assert discordance.kind == Discordance.Kind.L2_POSITIVE
    assert "sein gauche" in discordance.l2_summary and "ACR 4" in discordance.l2_summary


def test_cti_requires_an_item_and_is_recorded_per_view(assigned):
    exam, reader, _ = assigned
    with pytest.raises(ServiceError) as error:
        l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="CTI")
    assert error.value.code == "cti_without_item"
    l2_reading_submit(
        exam_id=exam.pk,
        reader=reader,
        verdict="CTI",
        cti_items=[CtiInput(side="G", view="MLO", reason="FLO")],
    )
    exam.refresh_from_db()
    assert exam.state == ExamState.CTI_REQUESTED
    assert Discordance.objects.get(exam=exam).kind == Discordance.Kind.CTI


@pytest.mark.parametrize(
    ("verdict", "kwargs", "code"),
    [
        ("ANOMALY", {}, "anomaly_without_finding"),
        (
            "ANOMALY",
            {"findings": [FindingInput(side="D", lesion_type="A", quadrant="QSE", acr=2)]},
            "finding_acr",
        ),
        ("NORMAL", {"acr_right": 3}, "normal_acr"),
        ("MAYBE", {}, "verdict_unknown"),
    ],
)
def test_incoherent_verdicts_are_refused_and_nothing_is_recorded(assigned, verdict, kwargs, code):
    exam, reader, _ = assigned
    with pytest.raises(ServiceError) as error:
        l2_reading_submit(exam_id=exam.pk, reader=reader, verdict=verdict, **kwargs)
    assert error.value.code == code
    exam.refresh_from_db()
    assert exam.state == ExamState.ASSIGNED
    assert not L2Reading.objects.exists()


def test_only_the_assigned_reader_may_read_and_never_the_l1(assigned):
    exam, _reader, l1 = assigned
    stranger = reader_at(SiteFactory())
    with pytest.raises(ServiceError) as error:
        l2_reading_submit(exam_id=exam.pk, reader=stranger, verdict="NORMAL")
    assert error.value.code == "not_assigned"
    with pytest.raises(ServiceError) as error:
        l2_reading_submit(exam_id=exam.pk, reader=l1, verdict="NORMAL")
    assert error.value.code == "reader_is_l1"


def test_a_final_reading_cannot_be_recorded_twice_and_a_replay_is_harmless(assigned):
    exam, reader, _ = assigned
    key = uuid.uuid4()
    first = l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="NORMAL", client_uuid=key)
    replay = l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="NORMAL", client_uuid=key)
    assert replay.pk == first.pk
    with pytest.raises(ServiceError):
        l2_reading_submit(
            exam_id=exam.pk,
            reader=reader,
            verdict="ANOMALY",
            findings=[FindingInput(side="D", lesion_type="A", quadrant="QSE", acr=4)],
        )
    assert L2Reading.objects.count() == 1
