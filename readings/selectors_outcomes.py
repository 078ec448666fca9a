"""Reads for the coordinator's outcome pages: one exam from verdict to closed, open consensuses, policies.

Coordinators only (the views check the role): they see the centre's exams and the readers' names (R-ANON-1 is about
the practices and the women, not the CRCDC).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from readings.models import Assignment, Consensus, L2Reading, ReaderProfile, Retake
from screening.models import (
    Exam,
    ExamOutcome,
    ExamState,
    Histology,
    IntervalCancer,
    Letter,
    ReadingPolicy,
    User,
    WorkUp,
)
from screening.services.policies import policy_default_ensure, policy_describe, policy_for_exam

S = ExamState


@dataclass
class NextStep:
    text: str
    late: bool = False
    url_name: str = ""


@dataclass
class ExamFollowUp:
    exam: Exam
    policy: ReadingPolicy
    policy_line: str
    events: list
    readings: list[L2Reading]
    consensuses: list[Consensus]
    letters: list[Letter]
    retakes: list[Retake]
    work_ups: list[WorkUp]
    histologies: list[Histology]
    interval_cancers: list[IntervalCancer]
    outcome: ExamOutcome | None
    next_steps: list[NextStep] = field(default_factory=list)


def _days_since(moment: dt.datetime | dt.date | None) -> int | None:
    if moment is None:
        return None
    day = moment.date() if isinstance(moment, dt.datetime) else moment
    return (timezone.localdate() - day).days


def _next_steps(exam: Exam, letters: list[Letter], retakes: list[Retake]) -> list[NextStep]:
    """What the secretariat should expect or do now, in French (the spec's timers, §4 and §7)."""
    steps: list[NextStep] = []
    waiting = [x for x in letters if x.status in (Letter.Status.PLANNED, Letter.Status.READY)]
    for letter in waiting:
        if letter.status == Letter.Status.READY:
            steps.append(
                NextStep(f"Courrier {letter.kind} à {letter.recipient_name} : prêt à imprimer et envoyer.")
            )
        else:
            when = timezone.localtime(letter.not_before).strftime("%d/%m/%Y %H:%M")
            steps.append(
                NextStep(
                    f"Courrier {letter.kind} à {letter.recipient_name} : programmé, pas avant le {when}."
                )
            )
    since_mammogram = _days_since(exam.mammogram_date) or 0
    if exam.state == S.CONSENSUS_PENDING:
        steps.append(
            NextStep("Consensus / arbitrage en attente de décision.", url_name="coordination:consensus_list")
        )
    if exam.state in (S.BDD_PENDING, S.HISTOLOGY_PENDING, S.SURVEILLANCE):
        label = ExamState(exam.state).label.lower()
        steps.append(
            NextStep(
                f"{label} depuis la mammographie du {exam.mammogram_date:%d/%m/%Y} ({since_mammogram} j) ; "
                "perdue de vue à 12 mois sans nouvelles.",
                late=since_mammogram > 180,
            )
        )
    if exam.state in (S.RETAKE_PENDING, S.RETAKE_OVERDUE):
        retake = retakes[0] if retakes else None
        since = _days_since(retake.requested_at) if retake else None
        text = "Reprise des clichés attendue"
        if since is not None:
            text += f" depuis {since} j (relance à 1 mois, hors délai à 6 mois)"
        steps.append(NextStep(text + ".", late=exam.state == S.RETAKE_OVERDUE))
    if exam.state in (S.QUEUED, S.ASSIGNED, S.IN_READING) and exam.due_at < timezone.localdate():
        steps.append(NextStep(f"Délai de 15 jours dépassé (échéance {exam.due_at:%d/%m/%Y}).", late=True))
    return steps


def exam_follow_up(*, user: User, exam_id: int) -> ExamFollowUp | None:
    """Everything that happened to one exam after intake, for a coordinator. None if not theirs to see."""
    if not user.is_coordinator:
        return None
    exam = (
        Exam.objects.select_related("participant", "practice", "l1_radiologist", "l1_form")
        .filter(pk=exam_id)
        .first()
    )
    if exam is None:
        return None
    readings = list(
        L2Reading.objects.filter(exam=exam)
        .select_related("reader", "site", "keyed_by")
        .prefetch_related("findings", "cti_items")
        .order_by("submitted_at", "pk")
    )
    consensuses = list(
        Consensus.objects.filter(exam=exam).select_related("decided_by").prefetch_related("participants")
    )
    letters = list(Letter.objects.filter(exam=exam).select_related("sent_by").order_by("created_at", "pk"))
    retakes = list(Retake.objects.filter(exam=exam).select_related("reading"))
    policy = policy_for_exam(exam=exam)
    return ExamFollowUp(
        exam=exam,
        policy=policy,
        policy_line=policy_describe(policy),
        events=list(exam.status_events.select_related("actor").order_by("at", "pk")),
        readings=readings,
        consensuses=consensuses,
        letters=letters,
        retakes=retakes,
        work_ups=list(WorkUp.objects.filter(exam=exam)),
        histologies=list(Histology.objects.filter(exam=exam)),
        interval_cancers=list(IntervalCancer.objects.filter(exam=exam)),
        outcome=ExamOutcome.objects.filter(exam=exam).first(),
        next_steps=_next_steps(exam, letters, retakes),
    )


def consensus_open_list(*, user: User) -> QuerySet[Consensus]:
    """Open consensuses and arbitrations, oldest first, with the third reader if one is assigned."""
    if not user.is_coordinator:
        return Consensus.objects.none()
    active = Assignment.objects.filter(state=Assignment.State.ACTIVE).select_related("reader")
    return (
        Consensus.objects.filter(state=Consensus.State.OPEN)
        .select_related("exam__participant", "exam__practice", "reading__reader")
        .prefetch_related(Prefetch("exam__assignments", queryset=active, to_attr="active_assignments"))
        .order_by("opened_at")
    )


def consensus_for_decision(*, user: User, consensus_id: int) -> Consensus | None:
    if not user.is_coordinator:
        return None
    return (
        Consensus.objects.select_related("exam__participant", "exam__l1_form", "reading__reader")
        .prefetch_related("reading__findings", "reading__cti_items")
        .filter(pk=consensus_id)
        .first()
    )


def consensus_possible_participants(*, consensus: Consensus) -> list[User]:
    """L2 readers who may sit in the meeting: every active reader except the exam's L1 radiologist (R-COI-1)."""
    return [
        p.user
        for p in ReaderProfile.objects.select_related("user")
        .filter(user__is_active=True)
        .exclude(user_id=consensus.exam.l1_radiologist_id)
        .order_by("user__last_name", "user__first_name")
    ]


def policies_list() -> list[ReadingPolicy]:
    policy_default_ensure()  # the France default is always listed, even before the first submission
    return list(ReadingPolicy.objects.order_by("-active_from", "-pk"))
