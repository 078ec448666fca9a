"""Celery tasks of the reading domain: thin callers of the services."""

from celery import shared_task

from readings.services.assignment import exam_assign
from screening.models import Exam, ExamState


@shared_task(acks_late=True)
def assign_exam(exam_id: int) -> int | None:
    assignment = exam_assign(exam_id=exam_id, actor=None)
    return assignment.reader_id if assignment else None


@shared_task
def assign_queued_exams(limit: int = 500) -> int:
    """Periodic safety net: assign every queued exam, earliest deadline first."""
    ids = (
        Exam.objects.filter(state=ExamState.QUEUED)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if exam_assign(exam_id=pk, actor=None))
