"""The periodic pass: lock expiry, stale and absent readers' exams back to the pool, expired sessions, alerts."""

import datetime as dt

import pytest
from django.utils import timezone

from readings.models import Alert, Assignment, Batch, ReaderAbsence, ReadingSession
from readings.services.assignment import queue_assign
from readings.services.batches import batch_assign, batch_create
from readings.services.housekeeping import assignment_housekeeping
from readings.services.l2_reading import l2_reading_open, l2_reading_submit
from readings.services.sessions import reading_session_start
from screening.models import Exam, ExamState
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    UserFactory,
    coordinator,
    l1_of,
    queued_exam,
    reader_at,
    staff_of,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def world():
    practice = PracticeFactory()
    return {"site": SiteFactory(), "practice": practice, "staff": staff_of(practice), "l1": l1_of(practice)}


def _exam(w, **kwargs):
    return queued_exam(practice=w["practice"], staff=w["staff"], l1=w["l1"], **kwargs)


def _age(model, pk, **fields):
    model.objects.filter(pk=pk).update(**fields)


def test_unopened_automatic_assignment_goes_to_another_reader_after_the_stale_delay(world):
    first = reader_at(world["site"], user=UserFactory(last_name="Lent"))
    exam = _exam(world)
    queue_assign(exam_ids=[exam.pk])
    assignment = Assignment.objects.get(exam=exam)
    assert assignment.reader == first
    second = reader_at(world["site"], user=UserFactory(last_name="Disponible"))
    _age(Assignment, assignment.pk, assigned_at=timezone.now() - dt.timedelta(hours=73))
    done = assignment_housekeeping()
    assert done["stale_released"] == 1
    assignment.refresh_from_db()
    assert assignment.state == Assignment.State.RELEASED and assignment.release_code == "STALE"
    queue_assign(exam_ids=[exam.pk])
    assert Assignment.objects.get(exam=exam, state=Assignment.State.ACTIVE).reader == second
    assert Alert.objects.filter(kind=Alert.Kind.STALE, exam=exam).exists()
    # The slow reader is excluded for this exam from now on, and the decision says so.
    excluded = Assignment.objects.get(exam=exam, state=Assignment.State.ACTIVE).decision["excluded"]
    assert {"reader_id": first.pk, "name": first.get_full_name(), "code": "RELEASED_BEFORE"} in excluded


def test_an_opened_assignment_is_not_stale_and_an_expired_reading_lock_unlocks(world):
    reader = reader_at(world["site"])
    exam = _exam(world)
    queue_assign(exam_ids=[exam.pk])
    l2_reading_open(exam_id=exam.pk, reader=reader)
    _age(Assignment, Assignment.objects.get(exam=exam).pk, assigned_at=timezone.now() - dt.timedelta(days=5))
    _age(Exam, exam.pk, state_changed_at=timezone.now() - dt.timedelta(minutes=31))
    done = assignment_housekeeping()
    assert done["stale_released"] == 0 and done["locks_expired"] == 1
    exam.refresh_from_db()
    assert exam.state == ExamState.ASSIGNED  # back in the reader's list, still theirs
    assert Assignment.objects.get(exam=exam).state == Assignment.State.ACTIVE


def test_exams_of_a_reader_who_becomes_absent_are_rebalanced_but_batches_are_left_to_the_coordinator(world):
    reader = reader_at(world["site"])
    auto, held = _exam(world), _exam(world)
    queue_assign(exam_ids=[auto.pk])
    coord = coordinator()
    batch = batch_create(name="Lot test", exam_ids=[held.pk], actor=coord).batch
    batch_assign(batch_id=batch.pk, reader=reader, actor=coord)
    today = timezone.localdate()
    ReaderAbsence.objects.create(reader=reader.reader_profile, starts_on=today, ends_on=today)
    done = assignment_housekeeping()
    assert done["rebalanced"] == 1
    auto.refresh_from_db(), held.refresh_from_db()
    assert auto.state == ExamState.QUEUED and held.state == ExamState.ASSIGNED
    assert Batch.objects.get(pk=batch.pk).state == Batch.State.ASSIGNED


def test_inactive_session_expires_and_its_unread_exams_go_back(world):
    reader = reader_at(world["site"])
    exams = [_exam(world) for _ in range(3)]
    session, plan = reading_session_start(reader=reader, size=25)
    assert len(plan.assigned) == 3
    l2_reading_open(exam_id=exams[0].pk, reader=reader)
    l2_reading_submit(exam_id=exams[0].pk, reader=reader, verdict="NORMAL")
    _age(ReadingSession, session.pk, last_activity_at=timezone.now() - dt.timedelta(minutes=61))
    assignment_housekeeping()
    session.refresh_from_db()
    assert session.state == ReadingSession.State.EXPIRED
    states = sorted(Exam.objects.filter(pk__in=[e.pk for e in exams]).values_list("state", flat=True))
    assert states == [ExamState.L2_NEGATIVE, ExamState.QUEUED, ExamState.QUEUED]


def test_overdue_and_due_soon_alerts_open_once_and_resolve_when_read(world):
    reader = reader_at(world["site"], daily_capacity=0)
    overdue = _exam(world, days_ago=20)
    soon = _exam(world, due_in_days=2)
    queue_assign(limit=10)
    assignment_housekeeping()
    assignment_housekeeping()  # idempotent: no duplicate alert
    kinds = sorted(Alert.objects.filter(resolved_at__isnull=True).values_list("kind", "exam_id"))
    assert (Alert.Kind.OVERDUE, overdue.pk) in kinds and (Alert.Kind.DUE_SOON_UNREAD, soon.pk) in kinds
    assert Alert.objects.filter(kind=Alert.Kind.OVERDUE, exam=overdue).count() == 1
    message = Alert.objects.get(kind=Alert.Kind.OVERDUE, exam=overdue).message
    assert overdue.participant.programme_id in message and "délai dépassé" in message
    reader.reader_profile.daily_capacity = 10
    reader.reader_profile.save()
    queue_assign(limit=10)
    for exam in (overdue, soon):
        l2_reading_open(exam_id=exam.pk, reader=reader)
        l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="NORMAL")
    assignment_housekeeping()
    assert not Alert.objects.filter(resolved_at__isnull=True, exam__in=[overdue, soon]).exists()
