"""Reads of the film pages: films to book, lightbox sessions, films to return. Centre-wide for the secretariat,
a reader's own sessions only for a reader; practice users see none of it (the views refuse them)."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from readings.models import Assignment, FilmRecord, L2Reading, LightboxSession, ReaderProfile
from readings.services.films import STILL_READING
from readings.services.reader_state import QUEUE_ORDER
from screening.models import Exam, ExamState, Practice, PracticeRole, ReadingSite, User


def film_exams_to_book() -> QuerySet[Exam]:
    """Film exams waiting for a lightbox session, in the queue's priority order."""
    return (
        Exam.objects.filter(medium=Exam.Medium.FILM, state=ExamState.QUEUED)
        .select_related("participant", "practice", "l1_radiologist", "film_record")
        .order_by(*QUEUE_ORDER)
    )


def lightbox_sessions_for(*, user: User, upcoming_only: bool = False) -> QuerySet[LightboxSession]:
    """The secretariat sees every session; a reader only their own."""
    sessions = LightboxSession.objects.select_related("site", "reader").annotate(
        booked=Count("exams", distinct=True),
        pending=Count("exams", filter=Q(exams__state=ExamState.ASSIGNED), distinct=True),
    )
    if not user.is_coordinator:
        sessions = sessions.filter(reader=user)
    if upcoming_only:
        sessions = sessions.filter(scheduled_on__gte=timezone.localdate())
    return sessions.order_by("-scheduled_on", "-pk")


def lightbox_session_for(*, user: User, session_id: int) -> LightboxSession:
    session = lightbox_sessions_for(user=user).filter(pk=session_id).first()
    if session is None:
        raise Http404("Séance introuvable.")
    return session


@dataclass
class SessionRow:
    """One booked exam of a session: still to key in (`open`), or its recorded reading."""

    exam: Exam
    open: bool
    reading: L2Reading | None


def session_rows(*, session: LightboxSession) -> list[SessionRow]:
    exams = list(
        session.exams.select_related("participant", "practice", "film_record", "l1_form").order_by(
            "due_at", "pk"
        )
    )
    ids = [e.pk for e in exams]
    active = set(
        Assignment.objects.filter(exam_id__in=ids, reader_id=session.reader_id, state=Assignment.State.ACTIVE)
        .values_list("exam_id", flat=True)
    )  # fmt: skip
    readings: dict[int, L2Reading] = {}
    for reading in (
        L2Reading.objects.filter(exam_id__in=ids, reader_id=session.reader_id)
        .exclude(status=L2Reading.Status.WITHDRAWN)
        .select_related("keyed_by")
        .prefetch_related("findings", "cti_items")
        .order_by("submitted_at")
    ):
        readings[reading.exam_id] = reading  # the latest one
    return [
        SessionRow(exam=e, open=e.pk in active and e.state == ExamState.ASSIGNED, reading=readings.get(e.pk))
        for e in exams
    ]


def films_to_return() -> QuerySet[FilmRecord]:
    """Films still at the centre whose second reading is over (or that will not be read)."""
    return (
        FilmRecord.objects.filter(returned_at__isnull=True)
        .exclude(exam__state__in=STILL_READING)
        .select_related("exam__participant", "exam__practice", "received_by")
        .order_by("received_at", "pk")
    )


def films_kept_for_reading() -> int:
    return FilmRecord.objects.filter(returned_at__isnull=True, exam__state__in=STILL_READING).count()


def films_returned_recently(*, limit: int = 30) -> QuerySet[FilmRecord]:
    return (
        FilmRecord.objects.filter(returned_at__isnull=False)
        .select_related("exam__participant", "exam__practice")
        .order_by("-returned_at", "-pk")[:limit]
    )


def registration_practices() -> QuerySet[Practice]:
    return Practice.objects.filter(active=True).order_by("name")


def l1_radiologists() -> QuerySet[User]:
    """Every L1 radiologist of an active practice (the service checks they belong to the chosen one)."""
    return (
        User.objects.filter(
            practice_memberships__role=PracticeRole.L1_RADIOLOGIST,
            practice_memberships__practice__active=True,
        )
        .distinct()
        .order_by("last_name", "first_name")
    )


def lightbox_readers() -> QuerySet[User]:
    profiles = ReaderProfile.objects.filter(active=True, qualified=True, user__is_active=True)
    return User.objects.filter(pk__in=profiles.values("user_id")).order_by("last_name", "first_name")


def reading_sites() -> QuerySet[ReadingSite]:
    return ReadingSite.objects.order_by("name")
