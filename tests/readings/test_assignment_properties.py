"""Property test on PostgreSQL: random readers (absences, part-time days, capacities, memberships, declared
conflicts), practices, L1 radiologists and rules; a random mix of automatic runs, coordinator assignments,
releases and reader sessions. After every mix the invariants hold in the database:
no exam read by its own L1, never two active assignments, no capacity exceeded, load counters exact, and
every queued exam that some reader could take is taken."""

import datetime as dt

import pytest
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readings.models import (
    Assignment,
    AssignmentRules,
    DeclaredConflict,
    ReaderAbsence,
    ReaderLoad,
    ReaderProfile,
)
from readings.services.assignment import assignment_release, exams_assign_to_reader, queue_drain
from readings.services.engine import exclusion
from readings.services.reader_state import engine_rules, exam_facts, reader_states, rules_current, week_start
from readings.services.sessions import reading_session_end, reading_session_start
from screening.models import Exam, ExamState, PracticeMembership, PracticeRole
from screening.services.errors import ServiceError
from tests.factories import PracticeFactory, SiteFactory, UserFactory, l1_of, queued_exam, staff_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

READER = st.fixed_dictionaries(
    {
        "site": st.integers(0, 1),
        "day_cap": st.integers(0, 5),
        "week_cap": st.integers(0, 8),
        "absent": st.booleans(),
        "works_today": st.booleans() | st.just(True),
        "active": st.booleans() | st.just(True),
        "member_of": st.none() | st.integers(0, 2),
        "declared": st.none() | st.integers(0, 2),
    }
)
OP = st.one_of(
    st.tuples(st.just("drain")),
    st.tuples(st.just("manual"), st.integers(0, 30), st.integers(0, 7)),
    st.tuples(st.just("release"), st.integers(0, 30)),
    st.tuples(st.just("session"), st.integers(0, 7)),
)


@pytest.fixture
def base():
    sites = [SiteFactory(), SiteFactory()]
    practices = [PracticeFactory(home_site=sites[i % 2]) for i in range(3)]
    staff = [staff_of(p) for p in practices]
    coordinator = UserFactory()
    return sites, practices, staff, coordinator


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    readers=st.lists(READER, min_size=1, max_size=7),
    exams=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 9), st.integers(-2, 14)), min_size=1, max_size=25
    ),
    rules=st.tuples(st.booleans(), st.booleans()),
    ops=st.lists(OP, max_size=8),
)
def test_invariants_hold_whatever_the_world_and_the_order_of_actions(base, readers, exams, rules, ops):
    sites, practices, staff, coordinator = base
    with transaction.atomic():  # each example rolls back
        _run(sites, practices, staff, coordinator, readers, exams, rules, ops)
        transaction.set_rollback(True)


def _run(sites, practices, staff, coordinator, readers, exams, rules, ops):
    today = timezone.localdate()
    AssignmentRules.objects.create(exclude_same_practice=rules[0], cross_site=rules[1])
    users = []
    for spec in readers:
        user = UserFactory()
        profile = ReaderProfile.objects.create(
            user=user, site=sites[spec["site"]], daily_capacity=spec["day_cap"], weekly_capacity=spec["week_cap"],
            active=spec["active"],
            workdays="1234567" if spec["works_today"] else "1234567".replace(str(today.isoweekday()), ""),
        )  # fmt: skip
        if spec["absent"]:
            ReaderAbsence.objects.create(
                reader=profile, starts_on=today, ends_on=today + dt.timedelta(days=2)
            )
        if spec["member_of"] is not None:  # also an L1 radiologist of that practice
            PracticeMembership.objects.create(
                user=user, practice=practices[spec["member_of"]], role=PracticeRole.L1_RADIOLOGIST
            )
        if spec["declared"] is not None:
            DeclaredConflict.objects.create(reader=profile, practice=practices[spec["declared"]])
        users.append(user)
    pure_l1 = [l1_of(p) for p in practices]
    exam_ids = []
    for practice_idx, l1_idx, due in exams:
        # L1: one of the readers (who must then be a member of that practice) or the practice's own L1.
        l1 = pure_l1[practice_idx]
        if l1_idx < len(users):
            candidate = users[l1_idx]
            PracticeMembership.objects.get_or_create(
                user=candidate, practice=practices[practice_idx], role=PracticeRole.L1_RADIOLOGIST
            )
            l1 = candidate
        exam = queued_exam(
            practice=practices[practice_idx], staff=staff[practice_idx], l1=l1, due_in_days=due
        )
        exam_ids.append(exam.pk)
    sessions = []
    for op in ops:
        if op[0] == "drain":
            queue_drain(started_at=timezone.now())
        elif op[0] == "manual" and users:
            exams_assign_to_reader(
                exam_ids=[exam_ids[op[1] % len(exam_ids)]],
                reader=users[op[2] % len(users)],
                actor=coordinator,
            )
        elif op[0] == "release":
            assignment_release(exam_id=exam_ids[op[1] % len(exam_ids)], actor=coordinator, reason="test")
        elif op[0] == "session" and users:
            try:
                session, _ = reading_session_start(reader=users[op[1] % len(users)], size=25)
                sessions.append(session)
            except ServiceError:
                pass  # already has a session / not allowed: fine
    if sessions:
        reading_session_end(session_id=sessions[0].pk, actor=None)
    _check_invariants(exam_ids, today)
    queue_drain(started_at=timezone.now())
    _check_invariants(exam_ids, today)
    _check_nothing_assignable_left(exam_ids, today)


def _check_invariants(exam_ids, today):
    live = Assignment.objects.exclude(state=Assignment.State.RELEASED)
    assert not Assignment.objects.filter(reader_id=F("exam__l1_radiologist_id")).exists()
    doubles = (
        Assignment.objects.filter(state=Assignment.State.ACTIVE)
        .values("exam_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not doubles.exists()
    for profile in ReaderProfile.objects.all():
        day = live.filter(reader_id=profile.user_id, assigned_at__date=today).count()
        week = live.filter(reader_id=profile.user_id, assigned_at__date__gte=week_start(today)).count()
        assert day <= profile.daily_capacity and week <= profile.weekly_capacity
        counted = ReaderLoad.objects.filter(reader_id=profile.user_id, period="D", starts_on=today).first()
        assert (counted.assigned if counted else 0) == day
    for exam in Exam.objects.filter(pk__in=exam_ids):
        active = exam.assignments.filter(state=Assignment.State.ACTIVE).count()
        assert active == (1 if exam.state in (ExamState.ASSIGNED, ExamState.IN_READING) else 0)


def _check_nothing_assignable_left(exam_ids, today):
    rules = rules_current()
    states = reader_states(profile_ids=None, today=today, rules=rules)
    rows = list(
        Exam.objects.filter(pk__in=exam_ids, state=ExamState.QUEUED).values_list(
            "pk", "l1_radiologist_id", "practice_id", "practice__home_site_id"
        )
    )
    for facts in exam_facts(rows):
        assert all(exclusion(s, facts, engine_rules(rules)) is not None for s in states), facts
