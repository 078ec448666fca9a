"""Reader sessions: "give me the next 25 / 50 / 100 exams", and the unread ones go back when it ends."""

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from readings.models import Assignment, DeclaredConflict, ReaderProfile, ReadingSession
from readings.services.assignment import (
    ReaderPlan,
    assignment_release,
    exams_assign_to_reader,
    held_in_batch,
    lock_for_change,
)
from readings.services.reader_state import QUEUE_ORDER, rules_current
from screening.models import Exam, ExamState, PracticeMembership, User
from screening.services.errors import ServiceError


def reading_session_start(*, reader: User, size: int) -> tuple[ReadingSession, ReaderPlan]:
    """Open a session and take the next exams by priority the reader may read, within their capacity."""
    if size not in ReadingSession.SIZES:
        raise ServiceError("session_size", "Une session compte 25, 50 ou 100 examens.", field="size")
    rules = rules_current()
    with transaction.atomic():
        profile = ReaderProfile.objects.select_for_update().filter(user=reader).first()
        if profile is None:
            raise ServiceError("not_a_reader", "Vous n'êtes pas second lecteur.")
        if ReadingSession.objects.filter(reader=reader, state=ReadingSession.State.ACTIVE).exists():
            raise ServiceError("session_open", "Une session est déjà en cours : terminez-la d'abord.")
        session = ReadingSession.objects.create(reader=reader, size=size, last_activity_at=timezone.now())
        # Pre-filter in SQL what can never be this reader's, so the engine sees `size` good candidates.
        candidates = (
            Exam.objects.filter(state=ExamState.QUEUED)
            .exclude(medium=Exam.Medium.FILM)  # films are read at a lightbox session, not in the browser
            .exclude(held_in_batch())
            .exclude(l1_radiologist=reader)
        )
        declared = DeclaredConflict.objects.filter(reader=profile).values("practice_id")
        candidates = candidates.exclude(practice_id__in=declared)
        if rules.exclude_same_practice:
            candidates = candidates.exclude(
                practice_id__in=PracticeMembership.objects.filter(user=reader).values("practice_id")
            )
        if rules.cross_site:
            candidates = candidates.exclude(Q(practice__home_site_id=profile.site_id))
        ids = list(
            candidates.order_by(*QUEUE_ORDER)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[: size * 4]  # room for the few the engine still refuses
        )
        plan = exams_assign_to_reader(
            exam_ids=ids, reader=reader, actor=reader, way=Assignment.Way.SESSION,
            session_id=session.pk, reader_locked=True, limit=size,
        )  # fmt: skip
        if not plan.assigned:  # nothing for this reader now: do not leave an empty session open
            session.state, session.ended_at = ReadingSession.State.ENDED, timezone.now()
            session.save(update_fields=["state", "ended_at"])
    return session, plan


def reading_session_end(*, session_id: int, actor: User | None, expired: bool = False) -> int:
    """Close the session; its unread exams go back to the queue. Returns how many went back."""
    with transaction.atomic():
        session = ReadingSession.objects.filter(pk=session_id).first()
        if session is None or session.state != ReadingSession.State.ACTIVE:
            return 0
        unread = list(
            session.assignments.filter(state=Assignment.State.ACTIVE)
            .order_by("exam_id")
            .values_list("exam_id", flat=True)
        )
        lock_for_change(exam_ids=unread, reader_ids=[session.reader_id])
        session = ReadingSession.objects.select_for_update().get(pk=session_id)
        if session.state != ReadingSession.State.ACTIVE:
            return 0
        reason = "Session de lecture expirée (inactivité)." if expired else "Session de lecture terminée."
        back = sum(
            1
            for exam_id in unread
            if assignment_release(exam_id=exam_id, actor=actor, reason=reason, code="SESSION")
        )
        session.state = ReadingSession.State.EXPIRED if expired else ReadingSession.State.ENDED
        session.ended_at = timezone.now()
        session.save(update_fields=["state", "ended_at"])
    return back


def sessions_expire(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    limit = now - dt.timedelta(minutes=rules_current().session_timeout_minutes)
    stale = ReadingSession.objects.filter(state=ReadingSession.State.ACTIVE, last_activity_at__lt=limit)
    return sum(
        1
        for pk in stale.values_list("pk", flat=True)
        if reading_session_end(session_id=pk, actor=None, expired=True) >= 0
    )
