"""Snapshot of readers and exams for the engine, read under the locks the caller holds."""

import datetime as dt

from django.db.models import Count, Q, Sum

from readings.models import (
    Assignment,
    AssignmentRules,
    DeclaredConflict,
    L2Reading,
    ReaderAbsence,
    ReaderLoad,
    ReaderProfile,
    SiteShare,
)
from readings.services.engine import ExamFacts, ReaderState, Rules, site_factors
from screening.models import PracticeMembership

# Queue priority: a coordinator's pin, the deadline, retakes / consensus rounds, then oldest in the queue.
QUEUE_ORDER = ("-urgent", "due_at", "-l2_round", "state_changed_at", "pk")


def rules_current() -> AssignmentRules:
    """The latest version of the rules, or the defaults of the domain spec when none was saved."""
    return AssignmentRules.objects.order_by("-pk").first() or AssignmentRules()


def engine_rules(rules: AssignmentRules) -> Rules:
    return Rules(
        exclude_same_practice=rules.exclude_same_practice,
        cross_site=rules.cross_site,
        yearly_target=rules.yearly_target,
    )


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def reader_states(
    *, profile_ids: list[int] | None, today: dt.date, rules: AssignmentRules
) -> list[ReaderState]:
    """Every reader (or those profiles) with today's availability, loads and yearly volume."""
    profiles = ReaderProfile.objects.select_related("user", "site").order_by("pk")
    if profile_ids is not None:
        profiles = profiles.filter(pk__in=profile_ids)
    profiles = list(profiles)
    user_ids = [p.user_id for p in profiles]
    monday = week_start(today)
    memberships: dict[int, set[int]] = {}
    for user_id, practice_id in PracticeMembership.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "practice_id"
    ):
        memberships.setdefault(user_id, set()).add(practice_id)
    declared: dict[int, set[int]] = {}
    for profile_id, practice_id in DeclaredConflict.objects.filter(
        reader_id__in=[p.pk for p in profiles]
    ).values_list("reader_id", "practice_id"):
        declared.setdefault(profile_id, set()).add(practice_id)
    absent = set(
        ReaderAbsence.objects.filter(
            reader_id__in=[p.pk for p in profiles], starts_on__lte=today, ends_on__gte=today
        ).values_list("reader_id", flat=True)
    )
    loads = {
        (reader_id, period): assigned
        for reader_id, period, assigned in ReaderLoad.objects.filter(reader_id__in=user_ids)
        .filter(
            Q(period=ReaderLoad.Period.DAY, starts_on=today)
            | Q(period=ReaderLoad.Period.WEEK, starts_on=monday)
        )
        .values_list("reader_id", "period", "assigned")
    }
    open_loads = dict(
        Assignment.objects.filter(reader_id__in=user_ids, state=Assignment.State.ACTIVE)
        .values("reader_id")
        .annotate(n=Count("pk"))
        .values_list("reader_id", "n")
    )
    year_done = dict(
        L2Reading.objects.filter(status=L2Reading.Status.FINAL)
        .filter(reader_id__in=user_ids, submitted_at__date__gte=today.replace(month=1, day=1))
        .values("reader_id")
        .annotate(n=Count("pk"))
        .values_list("reader_id", "n")
    )
    factors = _site_factors(today=today, monday=monday)
    weekday = str(today.isoweekday())
    states = []
    for p in profiles:
        open_load = open_loads.get(p.user_id, 0)
        states.append(
            ReaderState(
                user_id=p.user_id,
                name=p.user.get_full_name() or p.user.username,
                site_id=p.site_id,
                site_name=p.site.name,
                available=p.active and p.qualified and p.user.is_active,
                absent=p.pk in absent,
                works_today=weekday in p.workdays,
                practice_ids=frozenset(memberships.get(p.user_id, ())),
                declared_practice_ids=frozenset(declared.get(p.pk, ())),
                day_capacity=p.daily_capacity,
                week_capacity=p.weekly_capacity,
                day_load=loads.get((p.user_id, ReaderLoad.Period.DAY), 0),
                week_load=loads.get((p.user_id, ReaderLoad.Period.WEEK), 0),
                open_load=open_load,
                year_done=year_done.get(p.user_id, 0) + open_load,
                yearly_target=p.yearly_target or rules.yearly_target,
                share=float(p.load_share),
                site_factor=factors.get(p.site_id, 1.0),
            )
        )
    return states


def _site_factors(*, today: dt.date, monday: dt.date) -> dict[int, float]:
    targets = dict(SiteShare.objects.values_list("site_id", "weekly_share_pct"))
    if not targets:
        return {}
    week = dict(
        ReaderLoad.objects.filter(period=ReaderLoad.Period.WEEK, starts_on=monday)
        .values("reader__reader_profile__site_id")
        .annotate(n=Sum("assigned"))
        .values_list("reader__reader_profile__site_id", "n")
    )
    return site_factors(week, targets)


def exam_facts(
    rows: list[tuple[int, int, int, int | None]], *, with_released: bool = True
) -> list[ExamFacts]:
    """rows: (exam id, L1 radiologist id, practice id, practice home site id), in priority order."""
    released: dict[int, set[int]] = {}
    if with_released and rows:
        for exam_id, reader_id in Assignment.objects.filter(
            exam_id__in=[r[0] for r in rows], state=Assignment.State.RELEASED, release_code="STALE"
        ).values_list("exam_id", "reader_id"):
            released.setdefault(exam_id, set()).add(reader_id)
    return [
        ExamFacts(
            exam_id=exam_id,
            l1_radiologist_id=l1_id,
            practice_id=practice_id,
            practice_home_site_id=home_site_id,
            released_by=frozenset(released.get(exam_id, ())),
        )
        for exam_id, l1_id, practice_id, home_site_id in rows
    ]


def loads_write(*, states: list[ReaderState], touched: set[int], today: dt.date) -> None:
    """Write the loads of the touched readers (absolute values: the caller holds their profile locks)."""
    monday = week_start(today)
    rows = []
    for s in states:
        if s.user_id in touched:
            # The profile's capacity, never the load: an overshoot must hit the check constraint.
            rows.append(ReaderLoad(reader_id=s.user_id, period="D", starts_on=today, assigned=s.day_load,
                                   capacity=s.day_capacity))  # fmt: skip
            rows.append(ReaderLoad(reader_id=s.user_id, period="W", starts_on=monday, assigned=s.week_load,
                                   capacity=s.week_capacity))  # fmt: skip
    if rows:
        ReaderLoad.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["reader", "period", "starts_on"],
            update_fields=["assigned", "capacity"],
        )
