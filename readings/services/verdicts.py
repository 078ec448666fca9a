"""The undo window of a verdict (F8 d): provisional for a few seconds, then final; the server clock decides."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from readings.models import Assignment, L2Reading
from readings.services.l2_reading import reading_outcome_apply
from screening.models import Exam, ExamState, User
from screening.services.errors import ServiceError

logger = logging.getLogger(__name__)


def l2_reading_finalize(*, reading_id: int, now: dt.datetime | None = None) -> bool:
    """Make a provisional verdict final once its window has passed (idempotent). True if it did."""
    now = now or timezone.now()
    with transaction.atomic():
        exam_id = L2Reading.objects.filter(pk=reading_id).values_list("exam_id", flat=True).first()
        if exam_id is None:
            return False
        exam = Exam.objects.select_for_update(of=("self",)).select_related("l1_form").get(pk=exam_id)
        reading = L2Reading.objects.select_for_update().get(pk=reading_id)
        if reading.status != L2Reading.Status.PROVISIONAL or reading.final_at > now:
            return False
        # Taken back meanwhile (coordinator): the verdict is moot. CONSENSUS_PENDING: a consensus reading.
        if exam.state not in (ExamState.IN_READING, ExamState.CONSENSUS_PENDING):
            reading.status, reading.withdrawn_at = L2Reading.Status.WITHDRAWN, now
            reading.save(update_fields=["status", "withdrawn_at"])
            return False
        assignment = reading.assignment
        if assignment is not None and assignment.state != Assignment.State.ACTIVE:
            assignment = None
        reading.status = L2Reading.Status.FINAL
        reading.save(update_fields=["status"])
        reading_outcome_apply(exam=exam, reading=reading, assignment=assignment, actor=reading.reader)
    return True


def l2_reading_withdraw(*, reading_id: int, reader: User, now: dt.datetime | None = None) -> L2Reading:
    """Ctrl+Z within the window: the verdict is withdrawn (kept, marked) and the case is open again."""
    now = now or timezone.now()
    with transaction.atomic():
        reading = L2Reading.objects.filter(pk=reading_id, reader=reader).first()
        if reading is None:
            raise ServiceError("not_found", "Verdict introuvable.")
        Exam.objects.select_for_update().filter(pk=reading.exam_id).first()
        reading = L2Reading.objects.select_for_update().get(pk=reading_id)
        if reading.status == L2Reading.Status.WITHDRAWN:
            return reading
        if reading.status != L2Reading.Status.PROVISIONAL or reading.final_at <= now:
            raise ServiceError("undo_window_closed", "Délai d'annulation dépassé : le verdict est définitif.")
        reading.status, reading.withdrawn_at = L2Reading.Status.WITHDRAWN, now
        reading.save(update_fields=["status", "withdrawn_at"])
    return reading


def l2_readings_finalize_due(*, reader: User | None = None, now: dt.datetime | None = None) -> int:
    """Finalise every provisional verdict whose window has passed (the reader's, or all)."""
    now = now or timezone.now()
    due = L2Reading.objects.filter(status=L2Reading.Status.PROVISIONAL, final_at__lte=now)
    if reader is not None:
        due = due.filter(reader=reader)
    done = 0
    for pk in due.values_list("pk", flat=True):
        try:
            done += l2_reading_finalize(reading_id=pk, now=now)
        except (
            Exception
        ):  # one broken reading must not block every other verdict (nor the pages calling this)
            logger.exception("verdict %s could not be finalised", pk)
    return done
