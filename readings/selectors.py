"""Reads of the reading domain: the reader's worklist and the coordinator's dashboard."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from readings.models import Assignment, Discordance, L2Reading, ReadingSession
from screening.models import Exam, ExamState, User

OPEN_FOR_L2 = (ExamState.QUEUED, ExamState.ASSIGNED, ExamState.IN_READING)


def reader_worklist(*, reader: User) -> QuerySet[Assignment]:
    """The reader's active assignments: those of their open reading session first, then by priority
    (a coordinator's pin, the deadline, the mammogram date). `in_session` marks the session's exams."""
    return (
        Assignment.objects.filter(reader=reader, state=Assignment.State.ACTIVE)
        .exclude(exam__l1_radiologist=reader)
        .exclude(readings__status=L2Reading.Status.PROVISIONAL)  # read, inside its undo window
        .exclude(exam__medium=Exam.Medium.FILM)  # booked into a lightbox session: read on films
        .select_related("exam__practice", "exam__participant")
        .annotate(
            prior_count=Count("exam__priors"),
            in_session=Case(
                When(session__state=ReadingSession.State.ACTIVE, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .order_by("-in_session", "-exam__urgent", "exam__due_at", "exam__mammogram_date", "exam_id")
    )


@dataclass(frozen=True)
class SessionProgress:
    """The reader's open reading session and how far they are: read / assigned, `left` still to read."""

    session: ReadingSession
    assigned: int
    read: int
    left: int
    released: int  # taken back before the end (coordinator, stale reassignment)
    next_exam_id: int | None


def reader_session(*, reader: User) -> SessionProgress | None:
    """The reader's active reading session with its progress, or None."""
    session = (
        ReadingSession.objects.filter(reader=reader, state=ReadingSession.State.ACTIVE)
        .annotate(
            n_assigned=Count("assignments"),
            n_read=Count("assignments", filter=Q(assignments__state=Assignment.State.COMPLETED)),
            n_left=Count("assignments", filter=Q(assignments__state=Assignment.State.ACTIVE)),
            n_released=Count("assignments", filter=Q(assignments__state=Assignment.State.RELEASED)),
        )
        .first()
    )
    if session is None:
        return None
    unread = reader_worklist(reader=reader).filter(session=session)
    following = unread.values_list("exam_id", flat=True).first()
    left = unread.count()  # a verdict inside its undo window counts as read
    return SessionProgress(
        session=session,
        assigned=session.n_assigned,
        read=session.n_read + (session.n_left - left),
        left=left,
        released=session.n_released,
        next_exam_id=following,
    )


def session_for_reader(*, reader: User, session_id: int) -> ReadingSession:
    """Only the reader's own session (any state); another reader's does not exist for them."""
    session = ReadingSession.objects.filter(pk=session_id, reader=reader).first()
    if session is None:
        raise Http404("Session introuvable.")
    return session


def reader_next_exam_id(*, reader: User) -> int | None:
    """The next exam to read: the open session's first unread exam, else the worklist's first."""
    return reader_worklist(reader=reader).values_list("exam_id", flat=True).first()


def exam_for_reader(*, reader: User, exam_id: int) -> Exam:
    """Only an exam assigned to this reader, never one they read as L1."""
    exam = (
        Exam.objects.filter(pk=exam_id, assignments__reader=reader)
        .exclude(l1_radiologist=reader)
        .select_related("participant", "practice", "l1_form")
        .distinct()
        .first()
    )
    if exam is None:
        raise Http404("Examen introuvable.")
    return exam


def readings_done_by(*, reader: User, limit: int = 20) -> QuerySet[L2Reading]:
    return L2Reading.objects.filter(reader=reader).select_related("exam").order_by("-submitted_at")[:limit]


def coordinator_dashboard(*, today: dt.date | None = None) -> dict:
    """Counts by state and deadline, per practice, per reader and per reading site, and discordances."""
    today = today or timezone.localdate()
    soon = today + dt.timedelta(days=settings.L2_RESULT_DEADLINE_DAYS - settings.L2_DUE_SOON_DAYS)
    waiting = Exam.objects.filter(state__in=[*OPEN_FOR_L2, ExamState.SUBMITTED, ExamState.INCOMPLETE])
    by_state = {row["state"]: row["n"] for row in Exam.objects.values("state").annotate(n=Count("pk"))}
    states = [
        (state, label, by_state.get(state, 0)) for state, label in ExamState.choices if by_state.get(state)
    ]
    per_practice = (
        Exam.objects.values("practice__name", "practice__town")
        .annotate(
            total=Count("pk"),
            waiting=Count("pk", filter=Q(state__in=OPEN_FOR_L2)),
            negative=Count("pk", filter=Q(state=ExamState.L2_NEGATIVE)),
            positive=Count("pk", filter=Q(state=ExamState.L2_POSITIVE)),
            cti=Count("pk", filter=Q(state=ExamState.CTI_REQUESTED)),
            l1_positive=Count("pk", filter=Q(state=ExamState.L1_POSITIVE)),
        )
        .order_by("practice__name")
    )
    year_start = today.replace(month=1, day=1)
    per_reader = (
        User.objects.filter(reader_profile__isnull=False)
        .values("pk", "title", "first_name", "last_name", "reader_profile__site__name")
        .annotate(
            open_assignments=Count(
                "assignments", filter=Q(assignments__state=Assignment.State.ACTIVE), distinct=True
            ),
            read_year=Count(
                "l2_readings",
                filter=Q(
                    l2_readings__submitted_at__date__gte=year_start,
                    l2_readings__status=L2Reading.Status.FINAL,
                ),
                distinct=True,
            ),
        )
        .order_by("last_name")
    )
    per_site = (
        L2Reading.objects.filter(status=L2Reading.Status.FINAL)
        .values("site__name")
        .annotate(
            total=Count("pk"),
            positive=Count("pk", filter=Q(verdict=L2Reading.Verdict.ANOMALY)),
            cti=Count("pk", filter=Q(verdict=L2Reading.Verdict.CTI)),
        )
        .order_by("site__name")
    )
    return {
        "today": today,
        "states": states,
        "overdue": waiting.filter(due_at__lt=today).count(),
        "due_soon": waiting.filter(due_at__gte=today, due_at__lte=soon).count(),
        "waiting": waiting.count(),
        "per_practice": list(per_practice),
        "per_reader": list(per_reader),
        "per_site": list(per_site),
        "discordances": Discordance.objects.select_related(
            "exam__practice", "exam__participant", "reading"
        ).order_by("-opened_at")[:100],
    }


def exams_with_verdicts(*, state: str = "", limit: int = 200) -> QuerySet[Exam]:
    """Exams with the L1 form and latest L2 reading side by side, earliest deadline first."""
    exams = Exam.objects.select_related(
        "practice", "participant", "l1_form", "l1_radiologist"
    ).prefetch_related("l2_readings__findings", "l2_readings__cti_items", "l2_readings__reader")
    if state:
        exams = exams.filter(state=state)
    return exams.order_by("due_at", "pk")[:limit]
