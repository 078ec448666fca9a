"""Celery tasks of the reading domain: thin callers of the services (ids in, state re-checked inside)."""

import datetime as dt

from celery import shared_task
from django.db import transaction

from readings.services.assignment import db_now, queue_assign, queue_drain
from readings.services.housekeeping import assignment_housekeeping as housekeeping


@shared_task(acks_late=True)
def assign_exam(exam_id: int) -> int:
    """An exam just entered the L2 queue: give it to the best eligible reader now."""
    return queue_assign(exam_ids=[exam_id]).assigned


@shared_task(acks_late=True)
def assign_queue_drain(started_at: str, chunk: int = 500) -> dict:
    """One worker's share of a queue run; several run side by side (SKIP LOCKED)."""
    result = queue_drain(started_at=dt.datetime.fromisoformat(started_at), chunk=chunk)
    return {"selected": result.selected, "assigned": result.assigned, "waiting": result.waiting}


@shared_task
def assign_queued_exams(workers: int = 1, chunk: int = 500) -> dict:
    """Periodic safety net (and the coordinator's "assign now"): drain the queue, earliest deadline first."""
    started_at = db_now().isoformat()
    if workers <= 1:
        return assign_queue_drain(started_at, chunk)
    for _ in range(workers):
        assign_queue_drain.delay(started_at, chunk)
    return {"dispatched": workers}


@shared_task
def assignment_housekeeping() -> dict:
    """Periodic: lock expiry, stale and absent readers' exams back to the pool, sessions, alerts; then assign."""
    done = housekeeping()
    transaction.on_commit(lambda: assign_queued_exams.delay())
    return done


@shared_task(acks_late=True)
def l2_reading_finalize_task(reading_id: int) -> bool:
    """The verdict's undo window has passed: make it final (no-op if withdrawn or already final)."""
    from readings.services.verdicts import l2_reading_finalize

    return l2_reading_finalize(reading_id=reading_id)


@shared_task
def l2_readings_finalize_due_task() -> int:
    """Periodic safety net: verdicts whose finalisation message was lost."""
    from readings.services.verdicts import l2_readings_finalize_due

    return l2_readings_finalize_due()
