"""Assigning queued exams to second readers: automatic, by a coordinator, by batch and by session.

Locking (no deadlock, ADR 0008): exams are locked first — waiting only when the caller holds no reader
lock — then reader profiles in primary-key order. A caller that already holds a reader lock (a reading
session) takes exams with SKIP LOCKED only. Reader loads (`ReaderLoad`) are written under the reader's
lock, and their check constraint, the partial unique index on active assignments and the R-COI-1 check
are the database's last guards.
"""

import datetime as dt
import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from readings.models import Assignment, BatchExam, ReaderLoad, ReaderProfile
from readings.services.engine import EXCLUSIONS, WAIT_CODES, Decision, exclusion, plan
from readings.services.reader_state import (
    QUEUE_ORDER,
    engine_rules,
    exam_facts,
    loads_write,
    reader_states,
    rules_current,
    week_start,
)
from screening.models import AuditEvent, Exam, ExamState, User
from screening.services.audit import audit_record
from screening.services.bulk import rows_update
from screening.services.errors import ServiceError
from screening.services.exam_state import exam_transition, exams_transition_bulk

FACT_FIELDS = ("pk", "l1_radiologist_id", "practice_id", "practice__home_site_id")


@dataclass
class QueueResult:
    selected: int = 0
    assigned: int = 0
    waiting: dict[str, int] = field(default_factory=dict)

    def add(self, other: "QueueResult") -> None:
        self.selected += other.selected
        self.assigned += other.assigned
        for code, n in other.waiting.items():
            self.waiting[code] = self.waiting.get(code, 0) + n


def held_in_batch():
    return Exists(BatchExam.objects.filter(exam=OuterRef("pk"), active=True))


def browser_queue():
    """Queued exams the engine may hand out: not held in a batch, and not on films (those are booked
    into a lightbox session by the secretariat, readings/services/films.py)."""
    return (
        Exam.objects.filter(state=ExamState.QUEUED).exclude(medium=Exam.Medium.FILM).exclude(held_in_batch())
    )


def queue_assign(
    *,
    limit: int = 200,
    exam_ids: list[int] | None = None,
    checked_before: dt.datetime | None = None,
    actor: User | None = None,
) -> QueueResult:
    """Assign up to `limit` queued exams in priority order, each to the best eligible reader.

    Exams another transaction holds are skipped (SKIP LOCKED), so concurrent workers share the queue.
    Exams that stay queued record why. `checked_before` skips exams already looked at in this run.
    """
    today, now = timezone.localdate(), db_now()
    rules = rules_current()
    result = QueueResult()
    with transaction.atomic():
        exams = browser_queue()
        if exam_ids is not None:
            exams = exams.filter(pk__in=exam_ids)
        if checked_before is not None:
            exams = exams.exclude(queue_checked_at__gte=checked_before)
        rows = list(
            exams.order_by(*QUEUE_ORDER)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list(*FACT_FIELDS)[:limit]
        )
        result.selected = len(rows)
        if not rows:
            return result
        profile_ids = list(
            ReaderProfile.objects.select_for_update().order_by("pk").values_list("pk", flat=True)
        )
        states = reader_states(profile_ids=profile_ids, today=today, rules=rules)
        decisions = plan(exam_facts(rows), states, engine_rules(rules), today)
        chosen = [d for d in decisions if d.reader_id is not None]
        l1_of = {row[0]: row[1] for row in rows}
        Assignment.objects.bulk_create(
            [
                Assignment(
                    exam_id=d.exam_id,
                    reader_id=d.reader_id,
                    l1_radiologist_id=l1_of[d.exam_id],
                    assigned_by=actor,
                    way=Assignment.Way.AUTO,
                    why=d.why,
                    decision=d.detail,
                )
                for d in chosen
            ],
            batch_size=500,
        )
        loads_write(states=states, touched={d.reader_id for d in chosen}, today=today)
        moved = exams_transition_bulk(
            exam_ids=[d.exam_id for d in chosen],
            from_state=ExamState.QUEUED,
            to_state=ExamState.ASSIGNED,
            actor=actor,
            reasons={d.exam_id: d.why[:500] for d in chosen},
        )
        _record_queue_look(decisions, now)
        result.assigned = len(moved)
        for d in decisions:
            if d.reader_id is None:
                result.waiting[d.wait_code] = result.waiting.get(d.wait_code, 0) + 1
    return result


def _record_queue_look(decisions: list[Decision], now: dt.datetime) -> None:
    rows_update(
        Exam,
        {
            d.exam_id: {
                "queue_checked_at": now,
                "queue_wait_code": d.wait_code,
                "queue_wait_reason": (f"{WAIT_CODES[d.wait_code]}. {d.why}" if d.wait_code else "")[:300],
            }
            for d in decisions
        },
        ["queue_checked_at", "queue_wait_code", "queue_wait_reason"],
    )


def queue_drain(*, started_at: dt.datetime, chunk: int = 500, actor: User | None = None) -> QueueResult:
    """Assign the whole queue chunk by chunk; several workers may drain the same run side by side."""
    total, retries = QueueResult(), 0
    while True:
        part = queue_assign(limit=chunk, checked_before=started_at, actor=actor)
        if part.selected:
            total.add(part)
            continue
        # Nothing we could lock: done, unless unlooked-at exams are held by another transaction right now
        # (a session or a coordinator's action); wait briefly for them rather than leave them to the next run.
        pending = browser_queue().exclude(queue_checked_at__gte=started_at).exists()
        if not pending or retries >= 5:
            return total
        retries += 1
        time.sleep(0.2)


def db_now() -> dt.datetime:
    """The database's clock, so that run stamps compare on one clock whatever machine a worker runs on."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


@dataclass
class ReaderPlan:
    """What giving some exams to one reader does (or would do): a coordinator sees it before confirming."""

    reader: User
    assigned: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (exam id, French reason)
    day_left: int = 0
    week_left: int = 0


def exams_assign_to_reader(
    *,
    exam_ids: list[int],
    reader: User,
    actor: User | None,
    way: str = Assignment.Way.COORDINATOR,
    batch_id: int | None = None,
    session_id: int | None = None,
    dry_run: bool = False,
    reader_locked: bool = False,
    limit: int | None = None,
) -> ReaderPlan:
    """Give these queued exams to this reader, within every rule and capacity; refuse the others with why.

    `reader_locked`: the caller already holds the reader's profile lock, so exams are taken SKIP LOCKED.
    """
    today, now = timezone.localdate(), timezone.now()
    rules = rules_current()
    profile = ReaderProfile.objects.filter(user=reader).first()
    if profile is None:
        raise ServiceError("not_a_reader", f"{reader} n'est pas second lecteur.")
    result = ReaderPlan(reader=reader)
    with transaction.atomic():
        exams = Exam.objects.filter(pk__in=exam_ids).order_by(*QUEUE_ORDER)
        if reader_locked:
            exams = exams.select_for_update(skip_locked=True, of=("self",))
        else:
            # Exams before the reader (see the module docstring); pk order keeps two batches from crossing.
            list(Exam.objects.select_for_update().filter(pk__in=exam_ids).order_by("pk").values_list("pk"))
            ReaderProfile.objects.select_for_update().filter(pk=profile.pk).first()
        rows = list(exams.values_list(*FACT_FIELDS, "state", "medium"))
        (state,) = reader_states(profile_ids=[profile.pk], today=today, rules=rules)
        engine = engine_rules(rules)
        taken: list[int] = []
        facts = {f.exam_id: f for f in exam_facts([r[:4] for r in rows], with_released=False)}
        for row in rows:
            exam_id, exam_state = row[0], row[4]
            if exam_state != ExamState.QUEUED:
                result.refused.append((exam_id, f"n'est pas en file L2 ({ExamState(exam_state).label})"))
                continue
            if row[5] == Exam.Medium.FILM:
                result.refused.append(
                    (exam_id, "examen sur films : à programmer dans une séance de négatoscope")
                )
                continue
            if limit is not None and len(taken) >= limit:
                break
            code = exclusion(state, facts[exam_id], engine)
            if code is not None:
                result.refused.append((exam_id, EXCLUSIONS[code]))
                continue
            taken.append(exam_id)
            state.day_load += 1
            state.week_load += 1
        if limit is None:
            missing = set(exam_ids) - {r[0] for r in rows}
            result.refused += [(pk, "est en cours de traitement ailleurs") for pk in sorted(missing)]
        result.assigned = taken
        result.day_left = max(0, state.day_capacity - state.day_load)
        result.week_left = max(0, state.week_capacity - state.week_load)
        if dry_run or not taken:
            return result
        label = dict(Assignment.Way.choices)[way]
        why = f"{label} : attribué par {actor} à {reader}." if actor else f"{label} : {reader}."
        Assignment.objects.bulk_create(
            [
                Assignment(
                    exam_id=pk,
                    reader=reader,
                    l1_radiologist_id=facts[pk].l1_radiologist_id,
                    assigned_by=actor,
                    way=way,
                    why=why,
                    batch_id=batch_id,
                    session_id=session_id,
                    decision={"rule": way, "actor_id": getattr(actor, "pk", None)},
                )  # fmt: skip
                for pk in taken
            ]
        )
        loads_write(states=[state], touched={reader.pk}, today=today)
        exams_transition_bulk(
            exam_ids=taken,
            from_state=ExamState.QUEUED,
            to_state=ExamState.ASSIGNED,
            actor=actor,
            reasons=dict.fromkeys(taken, why),
        )
        Exam.objects.filter(pk__in=taken).update(
            queue_checked_at=now, queue_wait_code="", queue_wait_reason=""
        )
    return result


def lock_for_change(*, exam_ids: list[int], reader_ids: list[int]) -> None:
    """Lock exams then readers, each in primary-key order, before a multi-step change (no deadlock)."""
    list(Exam.objects.select_for_update().filter(pk__in=exam_ids).order_by("pk").values_list("pk"))
    list(
        ReaderProfile.objects.select_for_update()
        .filter(user_id__in=[pk for pk in reader_ids if pk])
        .order_by("pk")
        .values_list("pk")
    )


def exam_assign(*, exam_id: int, actor: User | None, reader: User | None = None) -> Assignment | None:
    """One exam: to the engine's choice, or to the reader a coordinator picked (ServiceError if not allowed)."""
    if reader is None:
        queue_assign(exam_ids=[exam_id], actor=actor)
    else:
        outcome = exams_assign_to_reader(exam_ids=[exam_id], reader=reader, actor=actor)
        if outcome.refused:
            raise ServiceError(
                "reader_not_eligible", f"{reader} ne peut pas lire cet examen : {outcome.refused[0][1]}."
            )
    return Assignment.objects.filter(exam_id=exam_id, state=Assignment.State.ACTIVE).first()


def assignment_release(
    *, exam_id: int, actor: User | None, reason: str, code: str = "COORDINATOR", keep_batch: bool = False
) -> bool:
    """The exam's active assignment ends and the exam goes back to the L2 queue. False if nothing to do."""
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        assignment = Assignment.objects.filter(exam=exam, state=Assignment.State.ACTIVE).first()
        if assignment is None or exam.state not in (ExamState.ASSIGNED, ExamState.IN_READING):
            return False
        assignment_end(assignment=assignment, code=code, reason=reason, keep_batch=keep_batch)
        if exam.state == ExamState.IN_READING:
            exam_transition(exam_id=exam.pk, to_state=ExamState.ASSIGNED, actor=actor, reason=reason)
        exam_transition(exam_id=exam.pk, to_state=ExamState.QUEUED, actor=actor, reason=reason)
    return True


def reader_assignment_open(*, exam: Exam, reader: User) -> Assignment:
    """The reader's active assignment on this (locked) exam, still open for reading; ASSIGNED → IN_READING."""
    assignment = Assignment.objects.filter(exam=exam, reader=reader, state=Assignment.State.ACTIVE).first()
    if assignment is None or exam.state not in (ExamState.ASSIGNED, ExamState.IN_READING):
        raise ServiceError("not_assigned", "Cet examen ne vous est pas (ou plus) attribué.")
    if exam.state == ExamState.ASSIGNED:
        exam_transition(exam_id=exam.pk, to_state=ExamState.IN_READING, actor=reader)
    return assignment


def assignment_end(*, assignment: Assignment, code: str, reason: str, keep_batch: bool = False) -> None:
    """End an active assignment without reading it: its load is given back (caller holds the exam lock)."""
    ReaderProfile.objects.select_for_update().filter(user_id=assignment.reader_id).first()
    assigned_on = timezone.localdate(assignment.assigned_at)
    for period, start in (("D", assigned_on), ("W", week_start(assigned_on))):
        ReaderLoad.objects.filter(
            reader_id=assignment.reader_id, period=period, starts_on=start, assigned__gt=0
        ).update(assigned=F("assigned") - 1)
    assignment.state, assignment.ended_at = Assignment.State.RELEASED, timezone.now()
    assignment.release_code, assignment.release_reason = code, reason[:300]
    assignment.save(update_fields=["state", "ended_at", "release_code", "release_reason"])
    if not keep_batch:
        BatchExam.objects.filter(exam_id=assignment.exam_id, active=True).update(active=False)


def exam_pin_urgent(*, exam_id: int, actor: User, urgent: bool) -> None:
    """A coordinator moves an exam to the head of the queue (or back to its deadline order)."""
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        exam.urgent = urgent
        exam.save(update_fields=["urgent"])
        audit_record(
            actor=actor,
            action=AuditEvent.Action.QUEUE_CHANGE,
            exam=exam,
            object_ref="épinglé urgent" if urgent else "urgence retirée",
        )
