"""The exam state machine of the domain spec (§4): the only place an exam changes state."""

from django.db import transaction
from django.utils import timezone

from screening.models import Exam, ExamState, ExamStatusEvent, User

from .bulk import rows_update
from .errors import ServiceError

S = ExamState
FINAL_STATES = frozenset({S.CLOSED, S.CANCELLED})

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.INCOMPLETE, S.L1_POSITIVE, S.QUEUED, S.AWAITING_PRIORS}),
    S.INCOMPLETE: frozenset({S.SUBMITTED}),
    S.AWAITING_PRIORS: frozenset({S.QUEUED}),
    S.QUEUED: frozenset({S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.IN_READING, S.QUEUED}),
    S.IN_READING: frozenset(
        {S.ASSIGNED, S.DEFERRED, S.CONSENSUS_PENDING, S.L2_NEGATIVE, S.L2_POSITIVE, S.CTI_REQUESTED}
    ),
    S.DEFERRED: frozenset({S.QUEUED, S.INCOMPLETE, S.AWAITING_PRIORS}),
    S.CONSENSUS_PENDING: frozenset({S.L2_NEGATIVE, S.L2_POSITIVE, S.CTI_REQUESTED}),
    S.L2_NEGATIVE: frozenset({S.RESULT_SENT}),
    S.L2_POSITIVE: frozenset({S.RESULT_SENT}),
    S.RESULT_SENT: frozenset({S.CLOSED, S.BDD_PENDING}),
    S.CTI_REQUESTED: frozenset({S.RETAKE_PENDING}),
    S.RETAKE_PENDING: frozenset({S.RETAKE_RECEIVED, S.RETAKE_OVERDUE, S.RETAKE_REFUSED}),
    # An overdue retake that never comes is closed by the coordinator (closed reason CTI_OVERDUE).
    S.RETAKE_OVERDUE: frozenset({S.RETAKE_RECEIVED, S.RETAKE_REFUSED, S.CLOSED}),
    S.RETAKE_RECEIVED: frozenset({S.QUEUED}),
    S.RETAKE_REFUSED: frozenset({S.CLOSED}),
    S.L1_POSITIVE: frozenset({S.HISTOLOGY_PENDING, S.SURVEILLANCE, S.BDD_PENDING}),
    S.BDD_PENDING: frozenset({S.BDD_RECEIVED, S.LOST_TO_FOLLOW_UP}),
    S.BDD_RECEIVED: frozenset({S.CLOSED, S.SURVEILLANCE, S.HISTOLOGY_PENDING}),
    S.SURVEILLANCE: frozenset({S.HISTOLOGY_PENDING, S.CLOSED, S.LOST_TO_FOLLOW_UP}),
    S.HISTOLOGY_PENDING: frozenset({S.HISTOLOGY_RECORDED, S.LOST_TO_FOLLOW_UP}),
    S.HISTOLOGY_RECORDED: frozenset({S.CLOSED}),
    # Late news resumes the flow; the lost-to-follow-up flag stays in the history.
    S.LOST_TO_FOLLOW_UP: frozenset({S.BDD_RECEIVED, S.HISTOLOGY_RECORDED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}


def transition_allowed(from_state: str, to_state: str) -> bool:
    if to_state == S.CANCELLED:
        return from_state not in FINAL_STATES
    return to_state in TRANSITIONS.get(from_state, frozenset())


def exam_transition(*, exam_id: int, to_state: str, actor: User | None, reason: str = "") -> Exam:
    """Move an exam to `to_state` under a row lock and append the history row. Raises on a bad move."""
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        from_state = exam.state
        if not transition_allowed(from_state, to_state):
            raise ServiceError(
                "invalid_transition",
                f"Changement d'état impossible : {ExamState(from_state).label} → {ExamState(to_state).label}.",
            )
        exam.state = to_state
        exam.state_changed_at = timezone.now()
        exam.state_reason = reason
        exam.save(update_fields=["state", "state_changed_at", "state_reason"])
        ExamStatusEvent.objects.create(
            exam=exam, from_state=from_state, to_state=to_state, actor=actor, reason=reason
        )
    return exam


def exams_transition_bulk(
    *, exam_ids: list[int], from_state: str, to_state: str, actor: User | None, reasons: dict[int, str]
) -> list[int]:
    """The same move for many exams in one statement (assignment engine); returns the ids moved.

    Only exams still in `from_state` move (the caller holds their row locks); each gets its history row.
    """
    if not transition_allowed(from_state, to_state):
        raise ServiceError(
            "invalid_transition",
            f"Changement d'état impossible : {ExamState(from_state).label} → {ExamState(to_state).label}.",
        )
    with transaction.atomic():
        ids = list(
            Exam.objects.select_for_update()
            .filter(pk__in=exam_ids, state=from_state)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        rows_update(
            Exam,
            {
                pk: {"state": to_state, "state_changed_at": now, "state_reason": reasons.get(pk, "")}
                for pk in ids
            },
            ["state", "state_changed_at", "state_reason"],
        )
        ExamStatusEvent.objects.bulk_create(
            [
                ExamStatusEvent(
                    exam_id=pk,
                    from_state=from_state,
                    to_state=to_state,
                    actor=actor,
                    reason=reasons.get(pk, ""),
                )
                for pk in ids
            ],
            batch_size=500,
        )
    return ids
