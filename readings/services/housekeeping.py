"""The periodic pass over assignments: lock expiry, stale and absent readers' exams back to the pool,
expired sessions, finished batches, and the coordinator's alerts. Idempotent: each step re-checks state.
"""

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from readings.models import Alert, Assignment, ReaderAbsence
from readings.services.assignment import assignment_release
from readings.services.batches import batches_close_finished
from readings.services.engine import year_fraction
from readings.services.reader_state import reader_states, rules_current
from readings.services.sessions import sessions_expire
from screening.models import Exam, ExamState
from screening.services.exam_state import exam_transition

WAITING_FOR_L2 = (
    ExamState.SUBMITTED, ExamState.INCOMPLETE, ExamState.AWAITING_PRIORS, ExamState.QUEUED,
    ExamState.ASSIGNED, ExamState.IN_READING, ExamState.DEFERRED, ExamState.CONSENSUS_PENDING,
)  # fmt: skip


def assignment_housekeeping(*, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    today = timezone.localdate(now)
    rules = rules_current()
    done = {"sessions_expired": sessions_expire(now=now)}

    # ASSIGNED ⇄ IN_READING on lock expiry: a case left open goes back to the reader's list, unlocked.
    lock_limit = now - dt.timedelta(minutes=rules.reading_lock_minutes)
    expired = Exam.objects.filter(state=ExamState.IN_READING, state_changed_at__lt=lock_limit)
    done["locks_expired"] = 0
    for pk in expired.values_list("pk", flat=True):
        exam_transition(
            exam_id=pk, to_state=ExamState.ASSIGNED, actor=None, reason="Verrou de lecture expiré."
        )
        done["locks_expired"] += 1

    # Automatic assignments never opened: back to the pool, not to the same reader (cfg.assign_stale_days).
    stale_limit = now - dt.timedelta(hours=rules.stale_after_hours)
    stale = Assignment.objects.filter(
        state=Assignment.State.ACTIVE,
        way=Assignment.Way.AUTO,
        started_at__isnull=True,
        assigned_at__lt=stale_limit,
    ).select_related("reader")
    done["stale_released"] = 0
    for assignment in stale:
        reason = f"Non ouvert par {assignment.reader} en {rules.stale_after_hours} h : réattribution."
        if assignment_release(exam_id=assignment.exam_id, actor=None, reason=reason, code="STALE"):
            done["stale_released"] += 1
            _raise(Alert.Kind.STALE, f"STALE:{assignment.pk}", reason, exam_id=assignment.exam_id,
                   reader_id=assignment.reader_id)  # fmt: skip

    # Rebalance: exams waiting for a reader who is now absent or inactive go back to the pool.
    absent = ReaderAbsence.objects.filter(starts_on__lte=today, ends_on__gte=today).values("reader__user_id")
    away = (
        Assignment.objects.filter(state=Assignment.State.ACTIVE, started_at__isnull=True)
        .exclude(way__in=(Assignment.Way.BATCH, Assignment.Way.LIGHTBOX))  # booked sessions stay booked
        .filter(
            Q(reader_id__in=absent)
            | Q(reader__reader_profile__active=False)
            | Q(reader__reader_profile__qualified=False)
            | Q(reader__is_active=False)
        )
    )
    done["rebalanced"] = 0
    for exam_id, reader in away.values_list("exam_id", "reader__username"):
        if assignment_release(exam_id=exam_id, actor=None, reason=f"{reader} absent ou inactif : rééquilibrage.",
                              code="ABSENT"):  # fmt: skip
            done["rebalanced"] += 1
    done["batches_closed"] = batches_close_finished()
    done.update(alerts_refresh(today=today, within_days=rules.alert_due_within_days))
    return done


def _raise(
    kind: str, key: str, message: str, *, exam_id: int | None = None, reader_id: int | None = None
) -> None:
    Alert.objects.bulk_create(
        [Alert(kind=kind, key=key, message=message[:300], exam_id=exam_id, reader_id=reader_id)],
        ignore_conflicts=True,  # the open alert for this key already exists
    )


def _sync(kind: str, wanted: dict[str, Alert]) -> tuple[int, int]:
    """Open the alerts of `kind` that hold now and resolve those that no longer do."""
    open_keys = set(Alert.objects.filter(kind=kind, resolved_at__isnull=True).values_list("key", flat=True))
    new = [alert for key, alert in wanted.items() if key not in open_keys]
    Alert.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    gone = open_keys - set(wanted)
    resolved = 0
    if gone:
        resolved = Alert.objects.filter(kind=kind, key__in=gone, resolved_at__isnull=True).update(
            resolved_at=timezone.now()
        )
    return len(new), resolved


def alerts_refresh(*, today: dt.date, within_days: int) -> dict[str, int]:
    raised = resolved = 0
    overdue = Exam.objects.filter(state__in=WAITING_FOR_L2, due_at__lt=today).values_list(
        "pk", "participant__programme_id", "due_at"
    )
    wanted = {
        f"OVERDUE:{pk}": Alert(kind=Alert.Kind.OVERDUE, key=f"OVERDUE:{pk}", exam_id=pk,
                               message=f"Examen {prog} : résultat attendu le {due:%d/%m/%Y}, délai dépassé.")
        for pk, prog, due in overdue
    }  # fmt: skip
    r, s = _sync(Alert.Kind.OVERDUE, wanted)
    raised, resolved = raised + r, resolved + s
    soon = Exam.objects.filter(
        state=ExamState.QUEUED, due_at__gte=today, due_at__lte=today + dt.timedelta(days=within_days)
    ).values_list("pk", "participant__programme_id", "due_at")
    wanted = {
        f"DUE_SOON:{pk}": Alert(kind=Alert.Kind.DUE_SOON_UNREAD, key=f"DUE_SOON:{pk}", exam_id=pk,
                                message=f"Examen {prog} : échéance le {due:%d/%m/%Y}, toujours sans lecteur.")
        for pk, prog, due in soon
    }  # fmt: skip
    r, s = _sync(Alert.Kind.DUE_SOON_UNREAD, wanted)
    raised, resolved = raised + r, resolved + s
    blocked = Exam.objects.filter(state=ExamState.QUEUED, queue_wait_code__in=("NO_READER", "ALL_EXCLUDED"))
    wanted = {
        f"NO_READER:{pk}": Alert(kind=Alert.Kind.NO_READER, key=f"NO_READER:{pk}", exam_id=pk,
                                 message=f"Examen {prog} : {why}")
        for pk, prog, why in blocked.values_list("pk", "participant__programme_id", "queue_wait_reason")
    }  # fmt: skip
    r, s = _sync(Alert.Kind.NO_READER, wanted)
    raised, resolved = raised + r, resolved + s
    wanted = {}
    fraction = year_fraction(today)
    if fraction > 0.25:  # judged only once a quarter of the year has passed
        rules = rules_current()
        for state in reader_states(profile_ids=None, today=today, rules=rules):
            expected = state.yearly_target * fraction
            if state.available and state.year_done < 0.8 * expected:
                key = f"READER_BEHIND:{state.user_id}:{today.year}"
                wanted[key] = Alert(kind=Alert.Kind.READER_BEHIND, key=key, reader_id=state.user_id,
                                    message=f"{state.name} : {state.year_done} secondes lectures pour "
                                    f"{round(expected)} attendues à date (objectif {state.yearly_target}).")  # fmt: skip
    r, s = _sync(Alert.Kind.READER_BEHIND, wanted)
    return {"alerts_raised": raised + r, "alerts_resolved": resolved + s}
