"""Helpers of the follow-up tests (no tests here): exams brought into a follow-up state through the real
state machine (every move written to the history by exam_transition), and a valid BDD / histology."""

import datetime as dt

from django.utils import timezone

from screening.models import ExamState, ParticipantDoctor, WorkUp
from screening.services.exam_state import exam_transition
from screening.services.outcome_flow import exam_l1_positive_route
from screening.services.outcome_record import exam_outcome_refresh
from tests.factories import (
    PracticeFactory,
    coordinator,
    draft_exam,
    l1_negative,
    l1_of,
    staff_of,
)

S = ExamState
L2_POSITIVE_PATH = (
    S.SUBMITTED,
    S.QUEUED,
    S.ASSIGNED,
    S.IN_READING,
    S.L2_POSITIVE,
    S.RESULT_SENT,
    S.BDD_PENDING,
)
L2_NEGATIVE_PATH = (S.SUBMITTED, S.QUEUED, S.ASSIGNED, S.IN_READING, S.L2_NEGATIVE, S.RESULT_SENT)


class World:
    def __init__(self):
        self.practice = PracticeFactory()
        self.staff = staff_of(self.practice)
        self.l1 = l1_of(self.practice, last_name="Lemaire")
        self.other_practice = PracticeFactory()
        self.other_staff = staff_of(self.other_practice)
        self.other_l1 = l1_of(self.other_practice)
        self.secretariat = coordinator()


def _walk(exam, path, actor):
    for state in path:
        exam_transition(exam_id=exam.pk, to_state=state, actor=actor)
    exam_outcome_refresh(exam_id=exam.pk)
    exam.refresh_from_db()
    return exam


def bdd_pending_exam(world: World, *, days_ago: int = 30, practice=None, with_doctor: bool = True):
    """An L2 positive whose letters went out: BDD_PENDING, with the real history."""
    practice = practice or world.practice
    staff, l1 = (world.staff, world.l1) if practice == world.practice else (world.other_staff, world.other_l1)
    exam = draft_exam(practice=practice, staff=staff, l1=l1, days_ago=days_ago)
    if with_doctor:
        ParticipantDoctor.objects.create(
            participant=exam.participant, kind="GP", name="Dr Paul Morel", address="2 rue Neuve", town="Vichy"
        )
    return _walk(exam, L2_POSITIVE_PATH, world.secretariat)


def negative_exam(world: World, *, days_ago: int = 60, closed: bool = True):
    """An L2 negative with its letters sent: RESULT_SENT, then CLOSED (reason NEGATIVE)."""
    exam = draft_exam(practice=world.practice, staff=world.staff, l1=world.l1, days_ago=days_ago)
    return _walk(exam, (*L2_NEGATIVE_PATH, *((S.CLOSED,) if closed else ())), world.secretariat)


def l1_positive_exam(world: World, *, acr: int, days_ago: int = 30):
    """An L1 positive routed by the lead's service: ACR 3 → SURVEILLANCE, 4–5 → HISTOLOGY_PENDING."""
    conduct = "S06" if acr == 3 else "PMI"
    data = l1_negative(acr_initial_right=acr, acr_final_right=acr, conduct=conduct)
    exam = draft_exam(
        practice=world.practice, staff=world.staff, l1=world.l1, days_ago=days_ago, l1_data=data
    )
    ParticipantDoctor.objects.create(participant=exam.participant, kind="GP", name="Dr Anne Roux")
    exam_transition(exam_id=exam.pk, to_state=S.SUBMITTED, actor=world.staff)
    exam_transition(exam_id=exam.pk, to_state=S.L1_POSITIVE, actor=None)
    exam_l1_positive_route(exam_id=exam.pk)
    exam.refresh_from_db()
    return exam


def bdd(**overrides) -> dict:
    """A valid BDD: ACR 2 on both sides after an ultrasound, back to screening."""
    data = {
        "origin": WorkUp.Origin.POS_L2,
        "radiologist_name": "Dr Lemaire",
        "performed_on": timezone.localdate() - dt.timedelta(days=2),
        "exams_done": ["MAM", "ECH"],
        "acr_right": 2,
        "acr_left": 1,
        "conduct": WorkUp.Conduct.SCREENING,
        "report": "Kyste simple.",
        "source": WorkUp.Source.PRACTICE,
    }
    data.update(overrides)
    return data


def malignant(**overrides) -> dict:
    data = {
        "side": "D",
        "sampled_on": timezone.localdate() - dt.timedelta(days=1),
        "nature": "MALIGNANT",
        "invasiveness": "INVASIVE",
        "size_mm": 12,
        "grade": 2,
        "pt": "pT1c",
        "pn": "pN0",
        "m": "M0",
        "er": True,
        "pr": True,
        "her2": False,
        "adicap": "BHSEA7F0",
    }
    data.update(overrides)
    return data


def benign(**overrides) -> dict:
    data = {
        "side": "G",
        "sampled_on": timezone.localdate() - dt.timedelta(days=1),
        "nature": "BENIGN",
        "invasiveness": "",
        "size_mm": 9,
        "grade": None,
        "pt": "",
        "pn": "",
        "m": "",
        "er": None,
        "pr": None,
        "her2": None,
    }
    data.update(overrides)
    return data


def states(exam) -> list[str]:
    return list(exam.status_events.order_by("at", "pk").values_list("to_state", flat=True))
