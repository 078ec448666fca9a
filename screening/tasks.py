"""Celery tasks of the intake domain: thin callers of the services, taking ids (ADR 0002)."""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from screening.models import Exam, ExamState, IngestFile
from screening.services.exams import exam_intake_check as _exam_intake_check
from screening.services.ingest import ingest_file_process as _ingest_file_process


@shared_task(acks_late=True, max_retries=3)
def ingest_file_process(ingest_file_id: int) -> str:
    return _ingest_file_process(ingest_file_id=ingest_file_id).state


@shared_task(acks_late=True)
def exam_intake_check(exam_id: int) -> str:
    return _exam_intake_check(exam_id=exam_id).state


@shared_task
def reconcile_stuck_exams() -> dict[str, int]:
    """Re-drive anything a lost message left behind: a lost message never loses an exam."""
    cutoff = timezone.now() - dt.timedelta(minutes=settings.INGEST_STUCK_MINUTES)
    files = list(
        IngestFile.objects.filter(state=IngestFile.State.RECEIVED, received_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for pk in files:
        ingest_file_process.delay(pk)
    submitted = list(
        Exam.objects.filter(state=ExamState.SUBMITTED, state_changed_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for pk in submitted:
        exam_intake_check.delay(pk)
    from readings.tasks import assign_queued_exams
    from screening.services.chunked_upload import chunked_uploads_purge

    assign_queued_exams.delay()
    purged = chunked_uploads_purge(older_than=dt.timedelta(hours=24))  # abandoned browser uploads
    return {"files": len(files), "submitted": len(submitted), "uploads_purged": purged}
