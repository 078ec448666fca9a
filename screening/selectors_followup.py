"""Reads of the follow-up of positives (R-FU-1..3), scoped to the user: a practice sees its own exams, the
secretariat (coordinators) the centre's. L2 readers have no follow-up pages (R-ANON-1)."""

import calendar
import datetime as dt

from django.conf import settings
from django.db.models import Count, QuerySet
from django.http import Http404

from screening.models import (
    Exam,
    ExamState,
    ExamStatusEvent,
    FollowUpReminder,
    Histology,
    IntervalCancer,
    Practice,
    Treatment,
    User,
    WorkUp,
    WorkUpExam,
)
from screening.selectors import user_roles

S = ExamState
# Exams waiting for news from the practice (timers watch these).
FOLLOW_UP_STATES = (S.BDD_PENDING, S.SURVEILLANCE, S.HISTOLOGY_PENDING)
# The "Bilans à renseigner" list also shows the lost ones: late news resumes the flow.
WORKLIST_STATES = (*FOLLOW_UP_STATES, S.LOST_TO_FOLLOW_UP)


def months_later(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clipped to the month's end (31/08 + 6 months = 28/02 or 29/02)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def reminder_days() -> tuple[int, ...]:
    return tuple(sorted(int(d) for d in getattr(settings, "L2_FU_REMINDER_DAYS", (90, 180))))


def lost_months() -> int:
    return int(getattr(settings, "L2_FU_LOST_MONTHS", 12))


def surveillance_months() -> tuple[int, ...]:
    return tuple(sorted(int(m) for m in getattr(settings, "L2_FU_SURVEILLANCE_MONTHS", (6, 12))))


def follow_up_exams_for_user(*, user: User) -> QuerySet[Exam]:
    """Every exam the user may follow up: the practice's own, or all of them for the secretariat."""
    roles = user_roles(user)
    exams = Exam.objects.select_related("participant", "practice", "l1_radiologist")
    if roles.is_coordinator:
        return exams
    if roles.practice_ids:
        return exams.filter(practice_id__in=roles.practice_ids)
    return exams.none()


def follow_up_practices(*, user: User) -> QuerySet[Practice]:
    """The practices whose follow-up the user may filter on."""
    if user_roles(user).is_coordinator:
        return Practice.objects.order_by("name")
    return Practice.objects.filter(pk__in=user_roles(user).practice_ids).order_by("name")


def follow_up_exam_for_user(*, user: User, exam_id: int) -> Exam:
    exam = follow_up_exams_for_user(user=user).select_related("l1_form").filter(pk=exam_id).first()
    if exam is None:
        raise Http404("Examen introuvable.")
    return exam


def follow_up_worklist(*, user: User, state: str = "", practice_id: int | None = None) -> QuerySet[Exam]:
    """'Bilans à renseigner': exams waiting for a work-up, a check or a histology, oldest mammogram first."""
    exams = follow_up_exams_for_user(user=user).filter(state__in=WORKLIST_STATES)
    if state in WORKLIST_STATES:
        exams = exams.filter(state=state)
    if practice_id:
        exams = exams.filter(practice_id=practice_id)
    return exams.order_by("mammogram_date", "pk")


def lost_from_state(*, exam: Exam) -> str:
    """The state an exam was lost to follow-up from ('' if it never was)."""
    event = (
        ExamStatusEvent.objects.filter(exam=exam, to_state=S.LOST_TO_FOLLOW_UP).order_by("-at", "-pk").first()
    )
    return event.from_state if event else ""


def follow_up_in_surveillance(*, exam: Exam) -> bool:
    """ACR 3 surveillance (R-FU-3): the next form is a check, not a deferred work-up."""
    if exam.state == S.SURVEILLANCE:
        return True
    return exam.state == S.LOST_TO_FOLLOW_UP and lost_from_state(exam=exam) == S.SURVEILLANCE


def work_up_expected_origin(*, exam: Exam) -> str:
    """What the next work-up form is: a surveillance check, or the BDD of an L1 or L2 positive."""
    if follow_up_in_surveillance(exam=exam):
        return WorkUp.Origin.SURV
    if exam.status_events.filter(to_state=S.L1_POSITIVE).exists():
        return WorkUp.Origin.POS_L1
    return WorkUp.Origin.POS_L2


def surveillance_start(*, exam: Exam) -> dt.date:
    """When surveillance began: the ACR 3 work-up that decided it, else the mammogram (L1 ACR 3)."""
    work_ups = sorted(exam.work_ups.all(), key=lambda w: (w.performed_on, w.pk), reverse=True)
    for work_up in work_ups:  # .all(): uses the board's prefetch
        if work_up.origin != WorkUp.Origin.SURV and max(work_up.acr_right, work_up.acr_left) == 3:
            return work_up.performed_on
    return exam.mammogram_date


def surveillance_checks(*, exam: Exam, start: dt.date) -> list[WorkUp]:
    checks = [w for w in exam.work_ups.all() if w.origin == WorkUp.Origin.SURV and w.performed_on >= start]
    return sorted(checks, key=lambda w: (w.performed_on, w.pk))


def surveillance_next_check(*, exam: Exam) -> dt.date | None:
    """The date of the next check due (+6, +12 months), None when both are in."""
    start = surveillance_start(exam=exam)
    done = len(surveillance_checks(exam=exam, start=start))
    months = surveillance_months()
    return months_later(start, months[done]) if done < len(months) else None


def exam_is_negative(*, exam: Exam) -> bool:
    """A negative exam (interval cancers): result letters sent after a negative L2, L1 negative too."""
    form = getattr(exam, "l1_form", None)
    if form is None or form.bdi_refused_by_woman or max(form.acr_final_right, form.acr_final_left) >= 3:
        return False
    events = list(exam.status_events.order_by("at", "pk"))
    sent = [e for e in events if e.to_state == S.RESULT_SENT]
    if not sent or sent[-1].from_state != S.L2_NEGATIVE:
        return False
    if exam.state == S.RESULT_SENT:
        return True
    closed = [e for e in events if e.to_state == S.CLOSED]
    return exam.state == S.CLOSED and bool(closed) and closed[-1].from_state == S.RESULT_SENT


def follow_up_exam_facts(*, exam: Exam) -> dict:
    """What the follow-up page shows: work-ups and checks, histology, treatment, interval cancers, reminders."""
    work_ups = list(exam.work_ups.select_related("entered_by").order_by("performed_on", "pk"))
    labels = dict(WorkUpExam.choices)
    for work_up in work_ups:
        work_up.exams_labels = [labels.get(code, code) for code in work_up.exams_done]
    return {
        "work_ups": work_ups,
        "histologies": list(Histology.objects.filter(exam=exam).order_by("sampled_on", "pk")),
        "treatment": Treatment.objects.filter(exam=exam).first(),
        "interval_cancers": list(IntervalCancer.objects.filter(exam=exam).order_by("diagnosed_on", "pk")),
        "reminders": list(FollowUpReminder.objects.filter(exam=exam).order_by("sent_at", "pk")),
        "has_malignant": Histology.objects.filter(exam=exam, nature=Histology.Nature.MALIGNANT).exists(),
    }


def follow_up_board(*, today: dt.date, limit: int = 200) -> dict:
    """The secretariat's board: counts per follow-up state, the overdue ones, the lost ones."""
    counts = dict(
        Exam.objects.filter(state__in=WORKLIST_STATES)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    first_reminder = reminder_days()[0] if reminder_days() else 90
    related = ("participant", "practice", "l1_radiologist")
    overdue = list(
        Exam.objects.filter(
            state__in=(S.BDD_PENDING, S.HISTOLOGY_PENDING),
            mammogram_date__lte=today - dt.timedelta(days=first_reminder),
        )
        .select_related(*related)
        .order_by("mammogram_date", "pk")[:limit]
    )
    # Surveillance is overdue when a check is past its date (the start varies per exam: checked in Python).
    late_checks = []
    first_check = surveillance_months()[0] if surveillance_months() else 6
    in_surveillance = (
        Exam.objects.filter(state=S.SURVEILLANCE, mammogram_date__lt=months_later(today, -first_check))
        .select_related(*related)
        .prefetch_related("work_ups")
        .order_by("mammogram_date", "pk")
    )
    for exam in in_surveillance:
        due = surveillance_next_check(exam=exam)
        if due is not None and due < today:
            exam.check_due = due
            late_checks.append(exam)
    lost = list(
        Exam.objects.filter(state=S.LOST_TO_FOLLOW_UP)
        .select_related(*related)
        .order_by("mammogram_date", "pk")[:limit]
    )
    for exam in (*overdue, *late_checks, *lost):
        exam.days_since = (today - exam.mammogram_date).days
    return {
        "states": [(state, S(state).label, counts.get(state, 0)) for state in WORKLIST_STATES],
        "overdue": overdue,
        "late_checks": late_checks[:limit],
        "lost": lost,
        "first_reminder": first_reminder,
    }
