"""Celery tasks of the retakes (R-CTI-3, R-CTI-4): thin callers of readings.services.retakes."""

from celery import shared_task

from readings.services.retakes import retake_reader_offer, retake_timers_run


@shared_task
def retake_timers() -> dict:
    """Periodic: 1-month reminder, 6-month overdue (idempotent, re-checks each exam's state)."""
    return retake_timers_run()


@shared_task(acks_late=True)
def retake_assign(exam_id: int) -> int | None:
    """A received retake entered the L2 queue: offer it first to the reader who asked for it."""
    return retake_reader_offer(exam_id=exam_id)
