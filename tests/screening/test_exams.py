"""L1 fiche rules (R-SCOPE-1..4, R-DATA-2), participant identity and the state machine."""

import pytest

from screening.models import ExamState, ExamStatusEvent
from screening.services.errors import ServiceError
from screening.services.exam_state import exam_transition, transition_allowed
from screening.services.exams import exam_submit, participant_get_or_create
from tests.factories import ParticipantFactory, PracticeFactory, draft_exam, l1_negative, l1_of, staff_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def practice_people():
    practice = PracticeFactory()
    return practice, staff_of(practice), l1_of(practice)


def test_final_acr0_without_refused_bdi_is_rejected_naming_the_breast(practice_people):
    practice, staff, l1 = practice_people
    with pytest.raises(ServiceError) as error:
        draft_exam(
            practice=practice, staff=staff, l1=l1, l1_data=l1_negative(acr_initial_left=0, acr_final_left=0)
        )
    assert error.value.code == "l1_acr0_final"
    assert "sein gauche" in error.value.message


@pytest.mark.parametrize("acr", [3, 4, 5])
def test_l1_positive_exam_never_goes_to_l2(practice_people, acr):
    practice, staff, l1 = practice_people
    conduct = "S06" if acr == 3 else "PMI"
    exam = draft_exam(
        practice=practice, staff=staff, l1=l1, l1_data=l1_negative(acr_final_right=acr, conduct=conduct)
    )
    exam = exam_submit(exam_id=exam.pk, actor=staff)
    # §4: L1_POSITIVE, then at once its follow-up: ACR 3 → surveillance, 4–5 → histology expected.
    events = list(exam.status_events.values_list("to_state", "reason"))
    assert events[-2][0] == ExamState.L1_POSITIVE and f"ACR final {acr} au sein droit" in events[-2][1]
    assert exam.state == (ExamState.SURVEILLANCE if acr == 3 else ExamState.HISTOLOGY_PENDING)
    assert not exam.assignments.exists()


def test_refused_bdi_keeps_acr0_and_goes_to_l1_follow_up(practice_people):
    practice, staff, l1 = practice_people
    data = l1_negative(acr_initial_right=0, acr_final_right=0, bdi_refused_by_woman=True)
    exam = exam_submit(
        exam_id=draft_exam(practice=practice, staff=staff, l1=l1, l1_data=data).pk, actor=staff
    )
    events = list(exam.status_events.values_list("to_state", "reason"))
    assert events[-2][0] == ExamState.L1_POSITIVE and "BDI refusé" in events[-2][1]
    assert exam.state == ExamState.BDD_PENDING  # ACR 0 kept after a refused BDI: deferred work-up expected


def test_conduct_must_match_acr(practice_people):
    practice, staff, l1 = practice_people
    with pytest.raises(ServiceError) as error:
        draft_exam(practice=practice, staff=staff, l1=l1, l1_data=l1_negative(conduct="PMI"))
    assert error.value.code == "l1_conduct_incoherent"


def test_console_exam_without_images_cannot_be_submitted(practice_people):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    with pytest.raises(ServiceError) as error:
        exam_submit(exam_id=exam.pk, actor=staff)
    assert error.value.code == "no_images"
    exam.refresh_from_db()
    assert exam.state == ExamState.DRAFT


def test_l1_radiologist_must_belong_to_the_practice(practice_people):
    practice, staff, _l1 = practice_people
    outsider = l1_of(PracticeFactory())
    with pytest.raises(ServiceError) as error:
        draft_exam(practice=practice, staff=staff, l1=outsider)
    assert error.value.code == "l1_not_in_practice"


def test_programme_number_of_another_woman_is_refused():
    woman = ParticipantFactory()
    with pytest.raises(ServiceError) as error:
        participant_get_or_create(
            programme_id=woman.programme_id, last_name="AUTRE", first_name="X", birth_date=woman.birth_date
        )
    assert error.value.code == "participant_identity_mismatch"
    same = participant_get_or_create(
        programme_id=woman.programme_id,
        last_name=woman.last_name.lower(),
        first_name=woman.first_name,
        birth_date=woman.birth_date,
    )
    assert same == woman


def test_due_date_is_fifteen_days_after_the_mammogram(practice_people):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1, days_ago=4)
    assert (exam.due_at - exam.mammogram_date).days == 15


def test_state_machine_refuses_shortcuts_and_records_every_change(practice_people):
    practice, staff, l1 = practice_people
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    with pytest.raises(ServiceError):
        exam_transition(exam_id=exam.pk, to_state=ExamState.L2_NEGATIVE, actor=staff)
    exam_transition(exam_id=exam.pk, to_state=ExamState.CANCELLED, actor=staff, reason="doublon")
    events = list(ExamStatusEvent.objects.filter(exam=exam).values_list("from_state", "to_state", "actor"))
    assert events == [("", "DRAFT", staff.pk), ("DRAFT", "CANCELLED", staff.pk)]
    with pytest.raises(ServiceError):
        exam_transition(exam_id=exam.pk, to_state=ExamState.DRAFT, actor=staff)


@pytest.mark.parametrize(
    ("from_state", "to_state", "allowed"),
    [
        ("QUEUED", "ASSIGNED", True),
        ("ASSIGNED", "QUEUED", True),
        ("IN_READING", "L2_POSITIVE", True),
        ("DRAFT", "QUEUED", False),
        ("L2_NEGATIVE", "L2_POSITIVE", False),
        ("CLOSED", "CANCELLED", False),
        ("RETAKE_RECEIVED", "QUEUED", True),
        ("SUBMITTED", "L1_POSITIVE", True),
    ],
)
def test_transition_table(from_state, to_state, allowed):
    assert transition_allowed(from_state, to_state) is allowed
