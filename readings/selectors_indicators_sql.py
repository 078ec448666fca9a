"""The two SQL passes behind every indicator table (benchmark_indicators measured the alternatives):

1. counts: one GROUP BY over the period's ExamOutcome rows, one `COUNT(*) FILTER (WHERE …)` per distinct set of
   conditions (shared by the measures). Every group is kept (also the exams no reader read), so the groups
   partition the rows and the centre's totals are the sums of the groups: no second scan.
2. delays: one `GROUP BY GROUPING SETS ((value), (group, value), …)` counting the rows per value of each delay
   (whole days or whole hours): the median and P90 are then computed exactly as PostgreSQL's percentile_cont
   computes them over those values (linear interpolation), for the groups and the total, from one hashing
   pass instead of a sort per group and per total.
"""

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Case, Count, DateField, F, Func, IntegerField, Q, QuerySet, When
from django.db.models.functions import TruncMonth, TruncQuarter, TruncYear

from readings.selectors_indicators_defs import CONDITIONS, IndicatorSpec, distributions


class _PeriodStart(Func):
    output_field = DateField()

    def __init__(self, unit: str):
        super().__init__(F("mammogram_date"))
        self.unit = unit

    def as_sql(self, compiler, connection, **extra):
        template = f"date_trunc('{self.unit}', %(expressions)s::timestamp)::date"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):  # the embedded demo (ADR 0004)
        trunc = {"month": TruncMonth, "quarter": TruncQuarter, "year": TruncYear}[self.unit]
        return (
            trunc("mammogram_date", output_field=DateField())
            .resolve_expression(compiler.query)
            .as_sql(compiler, connection)
        )


def period_start(unit: str) -> Func:
    """date_trunc on the date as a plain timestamp: Django's Trunc* casts it to timestamptz first, a time
    zone conversion per row that costs more than the whole count on 2 M rows."""
    return _PeriodStart(unit)


GROUP_KEYS = {
    "month": period_start("month"),
    "quarter": period_start("quarter"),
    "year": period_start("year"),
    "practice": F("practice_id"),
    "l1": F("l1_radiologist_id"),
    "reader": F("l2_reader_id"),
    "site": F("l2_site_id"),
    "medium": F("medium"),
}


@contextmanager
def analytics_session():
    """One transaction (one snapshot: the tables of a page agree with each other); JIT off, which costs more
    than it saves on these scans (benchmark_indicators), and room for the hash tables."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # hash_mem_multiplier: the grouping sets' row estimates are far too high; without room the
                # planner sorts the rows for some sets instead of hashing them all in one pass.
                cursor.execute(
                    "SET LOCAL work_mem = '64MB'; SET LOCAL hash_mem_multiplier = 8; SET LOCAL jit = off"
                )
        yield


def count_alias(conds: Iterable[str]) -> str:
    """Stable alias of COUNT(*) FILTER (WHERE all of `conds`): one per distinct set, shared by measures."""
    names = sorted(set(conds))
    return "n_" + ("_and_".join(names) if names else "all")


def where(conds: Iterable[str]) -> Q | None:
    q = None
    for name in sorted(set(conds)):
        part = CONDITIONS[name]
        if part is not None:
            q = part if q is None else q & part
    return q


def _count(conds: Iterable[str]) -> Count:
    condition = where(conds)
    return Count("pk", filter=condition) if condition is not None else Count("pk")


def count_aggregates(specs: Iterable[IndicatorSpec]) -> dict[str, Count]:
    # Always the screened count: it also lists the groups of indicators made only of delays (QI-08).
    aggregates: dict[str, Count] = {count_alias(()): _count(())}
    for spec in specs:
        for m in spec.measures:
            if m.kind == "ratio":
                for conds in (m.num + m.den, m.den):
                    aggregates.setdefault(count_alias(conds), _count(conds))
            elif m.kind == "count":
                aggregates.setdefault(count_alias(m.num), _count(m.num))
    return aggregates


def counts(
    base: QuerySet, specs: list[IndicatorSpec], group_by: str | None
) -> tuple[dict[str, int], list[tuple[object, dict[str, int]]]]:
    """(totals, [(group key, counts)]) for every count the measures of `specs` need."""
    aggregates = count_aggregates(specs)
    if group_by is None:
        return base.aggregate(**aggregates), []
    rows = base.annotate(group_key=GROUP_KEYS[group_by]).values("group_key").annotate(**aggregates).order_by()
    groups = [(row.pop("group_key"), row) for row in rows]
    totals = {alias: sum(values[alias] for _key, values in groups) for alias in aggregates}
    return totals, groups


Histogram = Counter  # value → number of rows
DAY_DELAYS = {"neg_letter_days", "submit_days", "backlog_days"}


def delay_histograms(
    base: QuerySet, *, wanted: Iterable[str], grouped: Iterable[str], group_by: str | None, today: dt.date
) -> tuple[dict[str, Histogram], dict[str, dict[object, Histogram]]]:
    """({delay: total histogram}, {delay: {group key: histogram}}) of the delays `wanted` (by group for those
    in `grouped`), each counted over the rows its conditions select."""
    wanted, grouped = sorted(set(wanted)), set(grouped) if group_by else set()
    totals: dict[str, Histogram] = {name: Counter() for name in wanted}
    by_group: dict[str, dict[object, Histogram]] = {name: defaultdict(Counter) for name in wanted}
    if not wanted:
        return totals, by_group
    dists = distributions(today=today)
    values = {
        f"v_{name}": Case(When(where(dists[name][1]), then=dists[name][0]), output_field=IntegerField())
        for name in wanted
    }
    keyed = bool(group_by and grouped)
    columns = (["group_key"] if keyed else []) + list(values)
    inner = base.annotate(**values, **({"group_key": GROUP_KEYS[group_by]} if keyed else {}))
    if connection.vendor != "postgresql":  # the embedded demo: no GROUPING SETS, a few hundred rows
        for row in inner.values_list(*columns).order_by():
            for i, column in enumerate(columns):
                if column.startswith("v_") and row[i] is not None:
                    totals[column[2:]][row[i]] += 1
                    if keyed and column[2:] in grouped:
                        by_group[column[2:]][row[0]][row[i]] += 1
        return totals, by_group
    sql, params = inner.values(*columns).order_by().query.sql_with_params()
    # The delays in whole days take few values: they share one grouping set (one hash entry per row for the
    # three); the hours, many values, one set each. The groups partition the rows, so the totals are sums.
    days = [f'"v_{name}"' for name in wanted if name in DAY_DELAYS]
    families = ([days] if days else []) + [[f'"v_{name}"'] for name in wanted if name not in DAY_DELAYS]
    sets = ["(" + ", ".join((['"group_key"'] if keyed else []) + family) + ")" for family in families]
    quoted = ", ".join(f'"{c}"' for c in columns)
    outer = (
        f"SELECT {quoted}, GROUPING({quoted}) AS grouping_bits, COUNT(*) FROM ({sql}) AS delays "
        f"GROUP BY GROUPING SETS ({', '.join(sets)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        results = cursor.fetchall()
    width = len(columns)
    for row in results:
        *cells, bits, n = row
        # GROUPING(): bit 1 = the column is not part of this grouping set (leftmost column = highest bit).
        present = [i for i in range(width) if not bits & (1 << (width - 1 - i))]
        for i in present:
            if not columns[i].startswith("v_") or cells[i] is None:  # None: a row this delay skips
                continue
            name = columns[i][2:]
            totals[name][cells[i]] += n
            if keyed and name in grouped:
                by_group[name][cells[0]][cells[i]] += n
    return totals, by_group


def percentile_cont(histogram: Histogram, fraction: float) -> float | None:
    """PostgreSQL's percentile_cont(fraction) over the values a histogram counts: the value at (n − 1) ×
    fraction in sorted order, interpolated linearly between its two neighbours."""
    n = sum(histogram.values())
    if not n:
        return None
    position = (n - 1) * fraction
    lower_rank, weight = int(position), position - int(position)
    upper_rank = min(lower_rank + 1, n - 1)
    lower = upper = None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if lower is None and seen > lower_rank:
            lower = value
        if seen > upper_rank:
            upper = value
            break
    return float(lower) + weight * (float(upper) - float(lower))
