"""Three real Celery workers drain the L2 queue over Redis on PostgreSQL while, at the same time, a
coordinator assigns exams by hand and a reader opens a reading session. Afterwards, from the database:
no exam went to its own L1 radiologist, none twice, no day or week capacity is exceeded, the load
counters equal the assignments, and no exam is left in the queue that some reader could still take.

The workers are separate processes (`celery worker --pool solo`) on a queue of this run's own, pointed
at this run's test database: they only see committed data, hence transaction=True. They are always
stopped by the fixture, whatever the test's outcome. L2_CONCURRENCY_SEED=<n> replays a failing world.
"""

import os
import random
import threading
import time

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from readings import benchmarking as bench
from readings.models import Assignment, ReaderLoad, ReaderProfile, ReadingSession
from readings.services.assignment import exams_assign_to_reader
from readings.services.engine import EXCLUSIONS, WAIT_CODES
from readings.services.reader_state import QUEUE_ORDER
from readings.services.sessions import reading_session_start
from screening.models import Exam, ExamState, User

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

SEED = int(os.environ.get("L2_CONCURRENCY_SEED") or random.randrange(1_000_000))
WORKERS, EXAMS, READERS, CHUNK = 3, 600, 12, 20


@pytest.fixture
def workers(transactional_db, tmp_path):
    """Three worker processes on the test database; stopped (SIGTERM, then SIGKILL) whatever happens."""
    pool = None
    try:
        pool = bench.workers_start(
            count=WORKERS,
            database_url=bench.database_url(connection.settings_dict),
            broker_url=settings.CELERY_BROKER_URL,
            log_dir=tmp_path / "workers",
        )
        bench.workers_wait_ready(pool, timeout=120)
        yield pool
    finally:
        if pool is not None:
            bench.workers_stop(pool)
            assert all(p.poll() is not None for p in pool.procs)


def _in_thread(results: dict, errors: list, name: str, fn) -> threading.Thread:
    def run():
        try:
            results[name] = fn()
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            errors.append((name, repr(exc)))
        finally:
            connection.close()  # this thread's own connection

    return threading.Thread(target=run, name=name)


def _wait_for_first_auto_assignment(pool, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not Assignment.objects.filter(way=Assignment.Way.AUTO).exists():
        assert time.monotonic() < deadline, f"no automatic assignment yet:\n{pool.log_tail()}"
        assert all(p.poll() is None for p in pool.procs), f"a worker exited:\n{pool.log_tail()}"
        time.sleep(0.02)


def test_real_workers_a_coordinator_and_a_session_assign_side_by_side_without_breaking_a_rule(workers):
    why = f"(seed {SEED}; L2_CONCURRENCY_SEED={SEED} replays this world)"
    world = bench.world_build(exams=EXAMS, readers=READERS, seed=SEED, capacity_ratio=0.7)
    coordinator = User.objects.get(pk=world.coordinator_id)
    normal = [r for r in world.available if r not in world.small]
    assert len(normal) >= 3, why
    by_hand, session_reader = normal[:2], User.objects.get(pk=normal[2])
    # The coordinator picks exams at the tail of the queue (the workers reach them last), and one exam whose
    # L1 radiologist is also a reader is offered to that very reader: it must be refused (R-COI-1).
    queued = list(
        Exam.objects.filter(state=ExamState.QUEUED).order_by(*QUEUE_ORDER).values_list("pk", flat=True)
    )
    tail = queued[-120:]
    rng = random.Random(SEED)
    picks = {reader: sorted(rng.sample(tail, 10)) for reader in by_hand}
    coi_reader_id = next(iter(world.reader_l1))
    coi_exam = (
        Exam.objects.filter(state=ExamState.QUEUED, l1_radiologist_id=coi_reader_id)
        .order_by("-due_at")
        .first()
    )
    assert coi_exam is not None, why
    coi_reader = User.objects.get(pk=coi_reader_id)

    redis_client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    started_at = timezone.now()
    task_ids = bench.drains_dispatch(workers, started_at=started_at, chunk=CHUNK, count=WORKERS)
    _wait_for_first_auto_assignment(workers)
    results: dict = {}
    errors: list = []
    threads = [
        _in_thread(results, errors, f"hand-{reader}", lambda r=reader: exams_assign_to_reader(
            exam_ids=picks[r], reader=User.objects.get(pk=r), actor=coordinator))
        for reader in by_hand
    ] + [
        _in_thread(results, errors, "coi", lambda: exams_assign_to_reader(
            exam_ids=[coi_exam.pk], reader=coi_reader, actor=coordinator)),
        _in_thread(results, errors, "session", lambda: reading_session_start(reader=session_reader, size=25)),
    ]  # fmt: skip
    assert redis_client.llen(workers.done_key) == 0, "the drains were over before the others started"
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done = bench.drains_wait(workers, count=WORKERS, timeout=300)
    assert not errors, f"{errors} {why}"

    # Every drain ran the real task in a worker and succeeded; their counts add up to the automatic assignments.
    assert sorted(d["task_id"] for d in done) == sorted(task_ids)
    assert {d["task"] for d in done} == {bench.DRAIN_TASK}
    assert [d["state"] for d in done] == ["SUCCESS"] * WORKERS, f"{done}\n{workers.log_tail()}"
    assert len({d["pid"] for d in done}) == WORKERS  # one drain per worker process
    auto = Assignment.objects.filter(way=Assignment.Way.AUTO)
    assert sum(d["result"]["assigned"] for d in done) == auto.count() > 0

    # The invariants, from the database.
    found = bench.violations()
    assert found == {
        "own_l1": 0, "double": 0, "over_capacity": 0, "load_counter_mismatch": 0, "state_mismatch": 0
    }, f"{found} {why}"  # fmt: skip
    loads = {
        (r, p, d): n
        for r, p, d, n in ReaderLoad.objects.filter(assigned__gt=0).values_list(
            "reader_id", "period", "starts_on", "assigned"
        )
    }
    assert loads == dict(bench.assignment_counts()), why
    left, left_why, eligible_left = bench.queue_left()
    assert eligible_left == 0, f"{eligible_left} queued exam(s) some reader could still take {why}"
    assert left > 0 and left_why.get("NO_CAPACITY", 0) > 0, f"capacities never ran out: {left_why} {why}"
    assert set(left_why) <= set(WAIT_CODES), left_why  # every exam still queued was looked at, none skipped
    for reason in Exam.objects.filter(state=ExamState.QUEUED).values_list("queue_wait_reason", flat=True):
        assert reason.startswith(tuple(WAIT_CODES.values())), reason  # what the coordinator reads
    assert Exam.objects.filter(state=ExamState.ASSIGNED).count() + left == EXAMS
    # Nobody absent, off today or inactive got anything.
    unavailable = set(world.absent) | set(world.off_today) | set(world.inactive)
    assert not Assignment.objects.filter(reader_id__in=unavailable).exists(), why

    # What the coordinator was told matches what happened.
    for reader_id in by_hand:
        plan = results[f"hand-{reader_id}"]
        assert sorted(plan.assigned + [pk for pk, _ in plan.refused]) == picks[reader_id]
        for pk in plan.assigned:
            a = Assignment.objects.get(exam_id=pk, state=Assignment.State.ACTIVE)
            assert (a.reader_id, a.way, a.assigned_by) == (reader_id, Assignment.Way.COORDINATOR, coordinator)
        for pk, reason in plan.refused:
            assert not Assignment.objects.filter(exam_id=pk, reader_id=reader_id).exists()
            assert reason, pk
    coi = results["coi"]
    assert coi.assigned == [] and coi.refused[0][0] == coi_exam.pk
    assert coi.refused[0][1] in (EXCLUSIONS["COI_L1"], "n'est pas en file L2 (Attribué)")
    assert not Assignment.objects.filter(
        reader_id=coi_reader_id, exam__l1_radiologist_id=coi_reader_id
    ).exists()

    # The session took at most 25 exams, all of them the reader's, in the session.
    session, plan = results["session"]
    assert session.state == ReadingSession.State.ACTIVE and len(plan.assigned) <= 25
    mine = Assignment.objects.filter(session=session)
    assert sorted(mine.values_list("exam_id", flat=True)) == sorted(plan.assigned)
    assert set(mine.values_list("reader_id", "way")) <= {(session_reader.pk, Assignment.Way.SESSION)}


def test_the_invariant_checks_see_a_broken_state(transactional_db):
    """The checks above are not vacuous: each one counts what was broken on purpose here."""
    world = bench.world_build(exams=40, readers=6, seed=SEED, capacity_ratio=2)
    clean = {"own_l1": 0, "double": 0, "over_capacity": 0, "load_counter_mismatch": 0, "state_mismatch": 0}
    assert bench.violations() == clean
    assert bench.queue_left() == (40, {"UNCHECKED": 40}, 40)  # nobody looked yet, everyone could read
    exam = Exam.objects.filter(state=ExamState.QUEUED).order_by("pk").first()
    reader = ReaderProfile.objects.exclude(user_id=exam.l1_radiologist_id).filter(user_id__in=world.available)
    reader = reader.first()
    reader.daily_capacity = 1
    reader.save(update_fields=["daily_capacity"])
    for state in (Assignment.State.COMPLETED, Assignment.State.ACTIVE):  # two live assignments, no load rows
        Assignment.objects.create(exam=exam, reader_id=reader.user_id, l1_radiologist_id=exam.l1_radiologist_id,
                                  state=state)  # fmt: skip
    other = Exam.objects.filter(state=ExamState.QUEUED).exclude(pk=exam.pk).order_by("pk").first()
    stranger = User.objects.get(pk=world.coordinator_id)  # a stale copy of the L1 on the assignment row
    Assignment.objects.create(exam=other, reader_id=other.l1_radiologist_id, l1_radiologist=stranger,
                              state=Assignment.State.COMPLETED)  # fmt: skip
    found = bench.violations()
    assert found["own_l1"] == 1 and found["double"] == 1 and found["state_mismatch"] == 1
    assert found["over_capacity"] >= 1 and found["load_counter_mismatch"] >= 2
    # Once every reader's day is full, nothing queued is takeable any more.
    today = timezone.localdate()
    for profile in ReaderProfile.objects.all():
        ReaderLoad.objects.update_or_create(
            reader_id=profile.user_id, period=ReaderLoad.Period.DAY, starts_on=today,
            defaults={"assigned": profile.daily_capacity, "capacity": profile.daily_capacity},
        )  # fmt: skip
    assert bench.queue_left() == (40, {"UNCHECKED": 40}, 0)
