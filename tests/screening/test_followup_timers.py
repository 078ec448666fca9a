"""Follow-up timers (R-FU-2, R-FU-3) with `now` frozen by argument: reminders to the L1 radiologist at 90 and
180 days, lost to follow-up at 12 months with the woman and her doctor reminded, idempotent reruns, late news
resuming the flow with the lost flag kept; surveillance checks reminded when missing."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from screening.models import ExamOutcome, FollowUpReminder, Letter
from screening.selectors_followup import months_later
from screening.services.followup import histology_record, work_up_record
from screening.services.followup_timers import follow_up_timers_run
from screening.tasks_followup import follow_up_timers
from tests.screening.test_followup_support import (
    S,
    World,
    bdd,
    bdd_pending_exam,
    l1_positive_exam,
    malignant,
    states,
)

pytestmark = pytest.mark.django_db
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NOTHING = {"reminders": 0, "surveillance_reminders": 0, "lost": 0, "errors": 0}


@pytest.fixture
def world() -> World:
    return World()


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 30), tzinfo=PARIS)


def reminders(exam) -> list[str]:
    return list(FollowUpReminder.objects.filter(exam=exam).order_by("pk").values_list("step", flat=True))


def letters(exam) -> list[tuple[str, str, str]]:
    return list(
        Letter.objects.filter(exam=exam).order_by("pk").values_list("kind", "event_key", "recipient_kind")
    )


def test_reminders_at_90_and_180_days_then_lost_at_12_months(world):
    exam = bdd_pending_exam(world, days_ago=420)
    mammogram = exam.mammogram_date

    assert follow_up_timers_run(now=at(mammogram + dt.timedelta(days=89))) == NOTHING
    assert reminders(exam) == [] and letters(exam) == []

    day90 = at(mammogram + dt.timedelta(days=90))
    assert follow_up_timers_run(now=day90) == {**NOTHING, "reminders": 1}
    assert reminders(exam) == ["D90"]
    assert letters(exam) == [("REM-FU", "REM-FU:D90", "L1")]
    assert Letter.objects.get(exam=exam).recipient_name == str(world.l1)
    assert follow_up_timers_run(now=day90 + dt.timedelta(hours=3)) == NOTHING  # idempotent
    assert follow_up_timers_run(now=at(mammogram + dt.timedelta(days=179))) == NOTHING

    assert follow_up_timers_run(now=at(mammogram + dt.timedelta(days=180))) == {**NOTHING, "reminders": 1}
    assert reminders(exam) == ["D90", "D180"]

    exam.refresh_from_db()
    assert exam.state == S.BDD_PENDING
    year = months_later(mammogram, 12)
    assert follow_up_timers_run(now=at(year - dt.timedelta(days=1))) == NOTHING
    assert follow_up_timers_run(now=at(year)) == {**NOTHING, "lost": 1}
    exam.refresh_from_db()
    assert exam.state == S.LOST_TO_FOLLOW_UP
    assert reminders(exam) == ["D90", "D180", "M12"]
    assert sorted(k for _, key, k in letters(exam) if key == "REM-FU:M12") == ["GP", "WOMAN"]
    lost_at = ExamOutcome.objects.get(exam=exam).lost_at
    assert lost_at is not None
    assert follow_up_timers_run(now=at(year + dt.timedelta(days=30))) == NOTHING  # lost ones are left alone

    # Late news resumes the flow; the lost flag stays on the reporting row.
    work_up_record(exam_id=exam.pk, actor=world.l1, **bdd(acr_right=4, exams_done=["PMI"], conduct="BIO"))
    exam.refresh_from_db()
    assert exam.state == S.HISTOLOGY_PENDING
    assert states(exam)[-3:] == [S.LOST_TO_FOLLOW_UP, S.BDD_RECEIVED, S.HISTOLOGY_PENDING]
    assert ExamOutcome.objects.get(exam=exam).lost_at == lost_at
    assert follow_up_timers_run(now=at(year + dt.timedelta(days=40))) == NOTHING  # not lost twice
    histology_record(exam_id=exam.pk, actor=world.l1, **malignant())
    row = ExamOutcome.objects.get(exam=exam)
    assert (row.closed_reason, row.lost_at, row.cancer) == ("CANCER", lost_at, True)


def test_a_late_first_run_sends_only_the_latest_reminder(world):
    exam = bdd_pending_exam(world, days_ago=250)
    assert follow_up_timers_run(now=at(exam.mammogram_date + dt.timedelta(days=200)))["reminders"] == 1
    assert reminders(exam) == ["D180"]
    assert follow_up_timers_run(now=at(exam.mammogram_date + dt.timedelta(days=201))) == NOTHING
    assert letters(exam) == [("REM-FU", "REM-FU:D180", "L1")]


def test_histology_pending_is_reminded_and_lost_too(world):
    exam = l1_positive_exam(world, acr=5, days_ago=400)
    assert exam.state == S.HISTOLOGY_PENDING
    assert follow_up_timers_run(now=at(exam.mammogram_date + dt.timedelta(days=95)))["reminders"] == 1
    assert follow_up_timers_run(now=at(months_later(exam.mammogram_date, 12)))["lost"] == 1
    exam.refresh_from_db()
    assert exam.state == S.LOST_TO_FOLLOW_UP
    histology_record(exam_id=exam.pk, actor=world.staff, **malignant())  # lost → histology recorded → closed
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    assert states(exam)[-3:] == [S.LOST_TO_FOLLOW_UP, S.HISTOLOGY_RECORDED, S.CLOSED]


def test_surveillance_checks_are_reminded_when_missing(world):
    exam = l1_positive_exam(world, acr=3, days_ago=500)
    start = exam.mammogram_date  # L1 ACR 3: surveillance from the mammogram
    six = months_later(start, 6)
    # No 90/180-day reminders in surveillance: nothing is expected before the first check.
    assert follow_up_timers_run(now=at(start + dt.timedelta(days=120))) == NOTHING
    assert follow_up_timers_run(now=at(six - dt.timedelta(days=1))) == NOTHING
    assert follow_up_timers_run(now=at(six)) == {**NOTHING, "surveillance_reminders": 1}
    assert follow_up_timers_run(now=at(six + dt.timedelta(days=10))) == NOTHING
    assert reminders(exam) == ["S6"]
    assert letters(exam) == [("REM-FU", "REM-FU:S6", "L1")]

    check_day = six + dt.timedelta(days=20)
    work_up_record(
        exam_id=exam.pk,
        actor=world.l1,
        **bdd(origin="SURV", acr_right=3, conduct="SURV", performed_on=check_day),
    )
    exam.refresh_from_db()
    assert exam.state == S.SURVEILLANCE
    twelve = months_later(start, 12)
    assert follow_up_timers_run(now=at(twelve)) == {**NOTHING, "surveillance_reminders": 1}
    assert reminders(exam) == ["S6", "S12"]
    # Lost 12 months after the last news (the first check), not 12 months after the mammogram.
    assert follow_up_timers_run(now=at(months_later(check_day, 12) - dt.timedelta(days=1))) == NOTHING
    assert follow_up_timers_run(now=at(months_later(check_day, 12))) == {**NOTHING, "lost": 1}
    exam.refresh_from_db()
    assert exam.state == S.LOST_TO_FOLLOW_UP

    # A late second check brings her back into surveillance, then ends it (closed from SURVEILLANCE).
    work_up_record(exam_id=exam.pk, actor=world.l1, **bdd(origin="SURV", acr_right=3, conduct="SURV"))
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    assert states(exam)[-4:] == [S.LOST_TO_FOLLOW_UP, S.BDD_RECEIVED, S.SURVEILLANCE, S.CLOSED]
    row = ExamOutcome.objects.get(exam=exam)
    assert row.closed_reason == "SURVEILLANCE_DONE" and row.lost_at is not None


def test_exams_that_moved_on_are_not_touched(world):
    closed = bdd_pending_exam(world, days_ago=200)
    work_up_record(exam_id=closed.pk, actor=world.l1, **bdd())
    waiting = bdd_pending_exam(world, days_ago=100)
    assert follow_up_timers_run(now=at(timezone.localdate())) == {**NOTHING, "reminders": 1}
    assert reminders(closed) == [] and reminders(waiting) == ["D90"]


def test_the_celery_task_runs_the_timers(world, settings):
    settings.L2_FU_REMINDER_DAYS = (30,)
    exam = bdd_pending_exam(world, days_ago=31)
    assert follow_up_timers.delay().get() == {**NOTHING, "reminders": 1}
    assert reminders(exam) == ["D30"]
