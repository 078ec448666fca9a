"""Follow-up timers (R-FU-2, R-FU-3): reminders when no news arrives, lost to follow-up at 12 months.

A periodic, idempotent job: each exam is handled under its row lock, its state re-checked, and every step
recorded once in FollowUpReminder (exam, step) — "D90", "D180" (days after the mammogram), "S6", "S12"
(surveillance checks due), "M12" (lost). A rerun, or a run that catches up late, sends nothing twice: only the
latest step due is sent, never the earlier ones it supersedes.
"""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from screening.models import Exam, ExamState, FollowUpReminder, LetterKind
from screening.selectors_followup import (
    FOLLOW_UP_STATES,
    lost_months,
    months_later,
    reminder_days,
    surveillance_checks,
    surveillance_months,
    surveillance_start,
)

from .errors import ServiceError
from .exam_state import exam_transition
from .outcome_record import exam_outcome_refresh

S = ExamState
logger = logging.getLogger(__name__)
WOMAN_AND_DOCTORS = ("WOMAN", "GP", "GYN")


def _remind(exam: Exam, step: str, superseding: tuple[str, ...], recipients: tuple[str, ...], now) -> bool:
    """Plan the REM-FU letter of `step` once; False when it (or a later step) was already sent."""
    from screening.services.letters import letters_plan  # the letters module plans and renders

    if FollowUpReminder.objects.filter(exam=exam, step__in=(step, *superseding)).exists():
        return False
    FollowUpReminder.objects.create(exam=exam, step=step)
    letters_plan(
        exam_id=exam.pk,
        kind=LetterKind.REM_FU,
        event_key=f"{LetterKind.REM_FU}:{step}",
        not_before=now,
        recipient_kinds=recipients,
    )
    return True


def _lose(exam: Exam, step: str, now, reference: dt.date) -> bool:
    """12 months without news: remind the woman and her doctors, then LOST_TO_FOLLOW_UP (flag kept)."""
    if not _remind(exam, step, (), WOMAN_AND_DOCTORS, now):
        return False
    exam_transition(
        exam_id=exam.pk,
        to_state=S.LOST_TO_FOLLOW_UP,
        actor=None,
        reason=_("Aucune nouvelle depuis le %(d)s : perdue de vue, relance de la femme et de son médecin.")
        % {"d": reference.strftime("%d/%m/%Y")},
    )
    exam_outcome_refresh(exam_id=exam.pk)
    return True


def _waiting_timers(exam: Exam, today: dt.date, now) -> str:
    """BDD_PENDING / HISTOLOGY_PENDING: reminders to the L1 radiologist, lost at mammogram + 12 months."""
    lost_step = f"M{lost_months()}"
    if today >= months_later(exam.mammogram_date, lost_months()):
        return "lost" if _lose(exam, lost_step, now, exam.mammogram_date) else ""
    days = reminder_days()
    due = [d for d in days if today >= exam.mammogram_date + dt.timedelta(days=d)]
    if not due:
        return ""
    later = tuple(f"D{d}" for d in days if d > due[-1]) + (lost_step,)
    return "reminders" if _remind(exam, f"D{due[-1]}", later, ("L1",), now) else ""


def _surveillance_timers(exam: Exam, today: dt.date, now) -> str:
    """SURVEILLANCE: remind the L1 radiologist of each missing check; lost 12 months after the last news."""
    start = surveillance_start(exam=exam)
    checks = surveillance_checks(exam=exam, start=start)
    last_news = checks[-1].performed_on if checks else start
    if today >= months_later(last_news, lost_months()):
        return "lost" if _lose(exam, f"M{lost_months()}", now, last_news) else ""
    months = surveillance_months()
    missing = [m for i, m in enumerate(months) if i >= len(checks) and today >= months_later(start, m)]
    if not missing:
        return ""
    later = tuple(f"S{m}" for m in months if m > missing[-1])
    return "surveillance_reminders" if _remind(exam, f"S{missing[-1]}", later, ("L1",), now) else ""


def _exam_timers(exam_id: int, now) -> str:
    today = timezone.localdate(now)
    with transaction.atomic():
        exam = Exam.objects.select_for_update(of=("self",)).filter(pk=exam_id).first()
        if exam is None or exam.state not in FOLLOW_UP_STATES:  # moved on since the scan
            return ""
        if exam.state == S.SURVEILLANCE:
            return _surveillance_timers(exam, today, now)
        return _waiting_timers(exam, today, now)


def follow_up_timers_run(*, now: dt.datetime | None = None) -> dict:
    """One pass over the exams waiting for news. Returns what it did, per kind."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {"reminders": 0, "surveillance_reminders": 0, "lost": 0, "errors": 0}
    # Nothing is due before the first reminder or the first check, whichever comes first.
    soonest = min([*reminder_days(), 28 * min(surveillance_months(), default=6), 28 * lost_months()])
    exam_ids = list(
        Exam.objects.filter(
            state__in=FOLLOW_UP_STATES, mammogram_date__lte=today - dt.timedelta(days=soonest)
        )
        .order_by("mammogram_date", "pk")
        .values_list("pk", flat=True)
    )
    for exam_id in exam_ids:
        try:
            done = _exam_timers(exam_id, now)
        except ServiceError as error:  # e.g. a letter that cannot be planned: retried on the next run
            logger.warning("follow-up timers: exam %s: %s", exam_id, error.message)
            counts["errors"] += 1
            continue
        if done:
            counts[done] += 1
    return counts
