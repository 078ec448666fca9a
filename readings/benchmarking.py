"""Assignment benchmark and concurrency test helpers: a synthetic world, real Celery workers, invariants.

Used by `manage.py benchmark_assignment` and tests/readings/test_assignment_concurrency.py. Nothing here is
used by the running application: the worker side is only a `task_postrun` hook, active when a worker is
started with L2_BENCH_DONE_KEY set, that reports each finished task into a Redis list.
"""

import datetime as dt
import math
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, F, Q
from django.utils import timezone

from readings.models import Assignment, BatchExam, ReaderAbsence, ReaderLoad, ReaderProfile, SiteShare
from readings.services.engine import exclusion
from readings.services.reader_state import (
    QUEUE_ORDER,
    engine_rules,
    exam_facts,
    reader_states,
    rules_current,
    week_start,
)
from screening.models import (
    CentreRole,
    Exam,
    ExamState,
    Participant,
    Practice,
    PracticeMembership,
    PracticeRole,
    ReadingCentre,
    ReadingSite,
    User,
)

SITES = (("VICHY", "Vichy"), ("MOULINS", "Moulins"), ("MONTLUCON", "Montluçon"))


# --- the synthetic world ----------------------------------------------------------------------------


@dataclass
class World:
    token: str
    seed: int
    today: dt.date
    site_ids: list[int] = field(default_factory=list)
    practice_ids: list[int] = field(default_factory=list)
    practice_weights: list[int] = field(default_factory=list)
    staff_of: dict[int, int] = field(default_factory=dict)  # practice id → staff user id
    l1_of: dict[int, list[int]] = field(default_factory=dict)  # practice id → L1 radiologist ids
    readers: list[int] = field(default_factory=list)  # reader user ids
    absent: list[int] = field(default_factory=list)
    off_today: list[int] = field(default_factory=list)
    inactive: list[int] = field(default_factory=list)
    small: list[int] = field(default_factory=list)
    reader_l1: dict[int, int] = field(default_factory=dict)  # reader user id → practice where they are L1
    coordinator_id: int = 0
    exams: int = 0

    @property
    def available(self) -> list[int]:
        out = set(self.absent) | set(self.off_today) | set(self.inactive)
        return [r for r in self.readers if r not in out]


def _users(token: str, prefix: str, n: int, **fields) -> list[User]:
    # fmt: off
    rows = [User(username=f"{prefix}{token}-{i}", first_name=prefix.capitalize(), last_name=f"{prefix.upper()}{i}",
                 title="Dr", password="!", **fields) for i in range(n)]
    # fmt: on
    return User.objects.bulk_create(rows)


def world_build(*, exams: int, readers: int, seed: int = 0, capacity_ratio: float = 0.95) -> World:
    """Sites, practices with L1 radiologists, readers (some absent, part-time, inactive, small, also L1), exams.

    Reader capacities are sized so that about `capacity_ratio` of the exams fit today.
    """
    rng = random.Random(seed)
    world = World(token=secrets.token_hex(3), seed=seed, today=timezone.localdate())
    token = world.token
    centre, _ = ReadingCentre.objects.get_or_create(code="BENCH", defaults={"name": "Centre (benchmark)"})
    sites = ReadingSite.objects.bulk_create(
        [
            ReadingSite(centre=centre, code=f"{code[:10]}-{token}", name=name, town=name)
            for code, name in SITES
        ]
    )
    world.site_ids = [s.pk for s in sites]
    SiteShare.objects.bulk_create(
        [SiteShare(site=s, weekly_share_pct=pct) for s, pct in zip(sites, (40, 30, 30), strict=True)]
    )
    n_practices = max(4, min(40, exams // 250))
    # fmt: off
    practices = Practice.objects.bulk_create([
        Practice(centre=centre, code=f"P{i}-{token}", name=f"Cabinet {i}", town=sites[i % 3].town,
                 home_site=sites[i % 3], dematerialised_on=dt.date(2024, 1, 1))
        for i in range(n_practices)
    ])
    # fmt: on
    world.practice_ids = [p.pk for p in practices]
    world.practice_weights = [rng.randint(1, 5) for _ in practices]
    staff = _users(token, "staff", n_practices)
    l1s = _users(token, "lun", 2 * n_practices)
    reader_users = _users(token, "lecteur", readers)
    world.coordinator_id = _users(token, "coord", 1, centre_role=CentreRole.COORDINATOR)[0].pk
    members = []
    for i, p in enumerate(practices):
        world.staff_of[p.pk] = staff[i].pk
        members.append(PracticeMembership(user=staff[i], practice=p, role=PracticeRole.STAFF))
        world.l1_of[p.pk] = [l1s[2 * i].pk, l1s[2 * i + 1].pk]
    # Roles of the readers, drawn at random: ~1/5 also L1 somewhere, ~1/6 absent today, a few others.
    world.readers = [u.pk for u in reader_users]
    shuffled = world.readers[:]
    rng.shuffle(shuffled)
    k = max(1, readers // 6)
    world.absent = shuffled[:k]
    world.small = shuffled[k : 2 * k]
    world.off_today = shuffled[2 * k : 2 * k + 1] if readers >= 8 else []
    world.inactive = shuffled[2 * k + 1 : 2 * k + 2] if readers >= 10 else []
    for user_id in rng.sample(world.readers, max(1, readers // 5)):
        practice = rng.choice(practices)
        world.reader_l1[user_id] = practice.pk
        world.l1_of[practice.pk].append(user_id)
    for p in practices:
        members += [PracticeMembership(user_id=u, practice=p, role=PracticeRole.L1_RADIOLOGIST)
                    for u in world.l1_of[p.pk]]  # fmt: skip
    PracticeMembership.objects.bulk_create(members)
    # One in eight normal readers is bound by the week (weekly = daily / 2); the rest share what is left.
    small = {u: rng.randint(3, 12) for u in world.small}
    week_bound = {u for i, u in enumerate(world.readers) if i % 8 == 0 and u not in small}
    available = set(world.available)
    shares = sum(0.5 if u in week_bound else 1 for u in available - set(small))
    room = capacity_ratio * exams - sum(small[u] for u in available & set(small))
    base = max(1, math.ceil(room / max(shares, 1)))
    weekday = str(world.today.isoweekday())
    profiles = []
    for i, user in enumerate(reader_users):
        if user.pk in small:
            daily, weekly = small[user.pk], 40
        else:
            daily = max(1, round(base * rng.uniform(0.9, 1.1)))
            weekly = max(1, daily // 2) if user.pk in week_bound else daily * 5
        # fmt: off
        profiles.append(ReaderProfile(
            user=user, site=sites[i % 3], daily_capacity=daily, weekly_capacity=weekly,
            workdays="1234567".replace(weekday, "") if user.pk in world.off_today else "1234567",
            active=user.pk not in world.inactive, load_share=rng.choice((0.5, 1, 1, 1, 2)),
        ))
        # fmt: on
    profiles = ReaderProfile.objects.bulk_create(profiles)
    by_user = {p.user_id: p for p in profiles}
    # fmt: off
    ReaderAbsence.objects.bulk_create([
        ReaderAbsence(reader=by_user[u], starts_on=world.today - dt.timedelta(days=rng.randint(0, 3)),
                      ends_on=world.today + dt.timedelta(days=rng.randint(0, 5)), reason="congés")
        for u in world.absent
    ])
    # fmt: on
    exams_add(world, exams, rng=rng)
    return world


def exams_add(world: World, n: int, *, rng: random.Random | None = None, batch: int = 5000) -> None:
    """n queued exams, due over the next 15 days and ~20 % overdue, spread over practices and L1s."""
    rng = rng or random.Random(world.seed + world.exams)
    now = timezone.now()
    for start in range(world.exams, world.exams + n, batch):
        stop = min(start + batch, world.exams + n)
        # fmt: off
        women = Participant.objects.bulk_create([
            Participant(programme_id=f"B{world.token}-{i:07d}", last_name=f"BENCH{i}", first_name="Anne",
                        birth_date=dt.date(rng.randint(1951, 1975), rng.randint(1, 12), rng.randint(1, 28)))
            for i in range(start, stop)
        ])
        # fmt: on
        rows = []
        for woman in women:
            practice_id = rng.choices(world.practice_ids, weights=world.practice_weights)[0]
            mammogram = world.today - dt.timedelta(days=rng.randint(0, 19))
            # fmt: off
            rows.append(Exam(
                participant=woman, practice_id=practice_id, l1_radiologist_id=rng.choice(world.l1_of[practice_id]),
                mammogram_date=mammogram, due_at=mammogram + dt.timedelta(days=15), state=ExamState.QUEUED,
                medium=Exam.Medium.CONSOLE,  # film exams go to lightbox sessions, never to the engine
                created_by_id=world.staff_of[practice_id], submitted_at=now,
                urgent=rng.random() < 0.01, l2_round=2 if rng.random() < 0.03 else 1,
            ))
            # fmt: on
        Exam.objects.bulk_create(rows, batch_size=2000)
    world.exams += n


from readings.benchmarking_workers import (  # noqa: E402, F401  (re-exported: workers load this module)
    DONE_KEY_ENV,
    DRAIN_TASK,
    WorkerPool,
    database_url,
    drains_dispatch,
    drains_wait,
    report_extras,
    workers_start,
    workers_stop,
    workers_wait_ready,
)

# --- invariants, from the database ------------------------------------------------------------------


def violations() -> dict:
    """Counts that must all be 0: own L1, double assignment, capacity exceeded, load counters that differ
    from the assignments, exam states that contradict the assignments."""
    own_l1 = Assignment.objects.filter(
        Q(reader_id=F("exam__l1_radiologist_id")) | Q(reader_id=F("l1_radiologist_id"))
    ).count()
    # Live (not released) assignments per exam: one at most (the synthetic world has a single L2 round).
    live = Assignment.objects.exclude(state=Assignment.State.RELEASED)
    double = live.values("exam_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    caps = {p.user_id: (p.daily_capacity, p.weekly_capacity) for p in ReaderProfile.objects.all()}
    counted = assignment_counts()
    over = sum(
        1
        for (reader, period, _), n in counted.items()
        if n > caps.get(reader, (0, 0))[0 if period == ReaderLoad.Period.DAY else 1]
    )
    loads = {
        (r, p, d): n
        for r, p, d, n in ReaderLoad.objects.values_list("reader_id", "period", "starts_on", "assigned")
    }
    mismatch = sum(1 for key in set(loads) | set(counted) if loads.get(key, 0) != counted.get(key, 0))
    assigned_states = (ExamState.ASSIGNED, ExamState.IN_READING)
    state_mismatch = (
        Exam.objects.filter(state__in=assigned_states)
        .exclude(assignments__state=Assignment.State.ACTIVE)
        .count()
        + Exam.objects.filter(state=ExamState.QUEUED, assignments__state=Assignment.State.ACTIVE).count()
    )
    return {"own_l1": own_l1, "double": double, "over_capacity": over,
            "load_counter_mismatch": mismatch, "state_mismatch": state_mismatch}  # fmt: skip


def assignment_counts() -> Counter:
    """Non-released assignments per (reader, period, local day or ISO-week Monday), as ReaderLoad counts them."""
    counted: Counter = Counter()
    rows = Assignment.objects.exclude(state=Assignment.State.RELEASED).values_list("reader_id", "assigned_at")
    for reader_id, assigned_at in rows:
        day = timezone.localdate(assigned_at)
        counted[(reader_id, ReaderLoad.Period.DAY, day)] += 1
        counted[(reader_id, ReaderLoad.Period.WEEK, week_start(day))] += 1
    return counted


def queue_left() -> tuple[int, dict[str, int], int]:
    """(exams still queued, why per wait code, how many of them some reader could still take today)."""
    # Film exams are booked into lightbox sessions by the secretariat, never by the engine (§4 film exams).
    queued = Exam.objects.filter(state=ExamState.QUEUED).exclude(medium=Exam.Medium.FILM)
    why = Counter(code or "UNCHECKED" for code in queued.values_list("queue_wait_code", flat=True))
    rules = rules_current()
    states = reader_states(profile_ids=None, today=timezone.localdate(), rules=rules)
    engine = engine_rules(rules)
    rows = list(
        queued.exclude(pk__in=BatchExam.objects.filter(active=True).values("exam_id"))
        .order_by(*QUEUE_ORDER)
        .values_list("pk", "l1_radiologist_id", "practice_id", "practice__home_site_id")
    )
    eligible = sum(
        1 for facts in exam_facts(rows) if any(exclusion(r, facts, engine) is None for r in states)
    )
    return sum(why.values()), dict(sorted(why.items())), eligible
