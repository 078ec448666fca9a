"""Quality indicators (domain spec §6): SQL aggregations over ExamOutcome, one table per indicator.

A page = one counting pass grouped by the chosen breakdown (the centre's totals are the sums of the groups),
one pass for the delays' medians and P90 (selectors_indicators_sql), and the QI-11 reading volumes
(selectors_indicators_volumes). Exams are counted by mammogram date, readings by their date. Names
(practices, radiologists, sites) are joined at the end, for the few groups shown. The definitions live in
selectors_indicators_defs; the result types in selectors_indicators_types.
"""

import datetime as dt
from collections.abc import Sequence

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from readings.selectors_indicators_defs import BREAKDOWNS, BY_CODE, INDICATORS, IndicatorSpec, targets
from readings.selectors_indicators_sql import (
    analytics_session,
    count_alias,
    counts,
    delay_histograms,
    percentile_cont,
)
from readings.selectors_indicators_types import Cell, Indicator, IndicatorTable, Row, number_fr
from readings.selectors_indicators_volumes import reader_volumes_count, volumes_indicator
from screening.models import Exam, Practice, ReadingSite, User
from screening.models.outcomes import ExamOutcome
from screening.selectors import user_roles
from screening.services.errors import ServiceError

__all__ = [
    "Cell",
    "Indicator",
    "IndicatorTable",
    "Row",
    "indicators_compute",
    "indicators_table",
    "number_fr",
]

MAX_YEARS = 15
RADIOLOGIST_BREAKDOWNS = (None, "l1", "reader")  # own row + the centre's totals
FRACTIONS = (0.5, 0.9)  # fraction_index 0 = median, 1 = P90


# --- Access ---------------------------------------------------------------------------------------------


def indicators_scope(*, user: User, group_by: str | None, practice_id: int | None = None) -> int | None:
    """None for the centre (coordinators see every row); a radiologist's id when they may see only their own
    row (as L1 or L2) and the centre's totals. Anyone else is refused."""
    if user.is_coordinator:
        return None
    roles = user_roles(user)
    if not (roles.is_reader or roles.l1_practice_ids):
        raise ServiceError("indicators_forbidden", _("Les indicateurs sont réservés à la coordination."))
    if group_by not in RADIOLOGIST_BREAKDOWNS or practice_id is not None:
        raise ServiceError(
            "indicators_forbidden",
            _("Un radiologue ne voit que ses propres indicateurs et les totaux du département."),
        )
    return user.pk


def _validate(*, start: dt.date, end: dt.date, group_by: str | None, medium: str | None) -> None:
    if start > end:
        raise ServiceError(
            "indicators_period", _("La date de début doit précéder la date de fin."), field="start"
        )
    if (end - start).days > 366 * MAX_YEARS:
        raise ServiceError(
            "indicators_period", _("La période est limitée à %(n)d ans.") % {"n": MAX_YEARS}, field="start"
        )
    if group_by is not None and group_by not in BREAKDOWNS:
        raise ServiceError("indicators_breakdown", _("Ventilation inconnue."), field="group_by")
    if medium is not None and medium not in Exam.Medium.values:
        raise ServiceError("indicators_medium", _("Support inconnu."), field="medium")


# --- Computation ----------------------------------------------------------------------------------------


def indicators_compute(
    *,
    user: User,
    start: dt.date,
    end: dt.date,
    group_by: str | None,
    medium: str | None,
    practice_id: int | None = None,
    codes: Sequence[str] | None = None,
) -> IndicatorTable:
    """Every indicator of §6 (or `codes`) for the exams of [start, end] (mammogram date; QI-11 by reading
    date), broken down by `group_by`, with the centre's totals, scoped to what `user` may see."""
    own_id = indicators_scope(user=user, group_by=group_by, practice_id=practice_id)
    return indicators_table(
        start=start,
        end=end,
        group_by=group_by,
        medium=medium,
        practice_id=practice_id,
        codes=codes,
        own_id=own_id,
    )


def indicators_table(
    *,
    start: dt.date,
    end: dt.date,
    group_by: str | None,
    medium: str | None,
    practice_id: int | None = None,
    codes: Sequence[str] | None = None,
    own_id: int | None = None,
    today: dt.date | None = None,
) -> IndicatorTable:
    """The computation itself, without the access check (callers: indicators_compute, the yearly sheet).
    With `own_id`, only that radiologist's row is kept (the totals stay the centre's)."""
    _validate(start=start, end=end, group_by=group_by, medium=medium)
    if own_id is not None and group_by not in ("l1", "reader", None):
        raise ServiceError("indicators_forbidden", _("Ventilation non permise pour une fiche personnelle."))
    today = today or timezone.localdate()
    specs = [BY_CODE[c] for c in codes] if codes else list(INDICATORS)
    table = IndicatorTable(start, end, group_by, medium, practice_id, own_id=own_id)
    cohort = [s for s in specs if s.base == "mammogram"]
    dim = BREAKDOWNS[group_by][0] if group_by else None
    grouped = [s for s in cohort if dim in s.by]
    delays = {m.dist for s in cohort for m in s.measures if m.dist}
    grouped_delays = {m.dist for s in grouped for m in s.measures if m.dist}
    with analytics_session():
        base = _base(start=start, end=end, medium=medium, practice_id=practice_id)
        totals, groups = counts(base, cohort, group_by if grouped else None) if cohort else ({}, [])
        hist_totals, hist_groups = delay_histograms(
            base, wanted=delays, grouped=grouped_delays, group_by=group_by if grouped else None, today=today
        )
        if any(s.base == "read" for s in specs):
            table.volumes = reader_volumes_count(
                start=start, end=end, medium=medium, practice_id=practice_id, own_id=own_id, today=today
            )
    # A radiologist's sheet shows their own row only; the other groups still count in the totals.
    shown = [(k, v) for k, v in groups if k is not None and (own_id is None or k == own_id)]
    if own_id is not None and not shown and grouped:
        shown = [(own_id, dict.fromkeys(totals, 0))]  # no exam this period: a row of zeros
    labels = group_labels(group_by, [k for k, _v in shown])
    tg = targets()
    for spec in specs:
        if spec.base == "read":
            keys = list(table.volumes.per_reader()) + ([own_id] if own_id else [])
            names = group_labels(group_by, keys).names if group_by in ("reader", "site") else {}
            table.indicators.append(
                volumes_indicator(table.volumes, group_by=group_by, own_id=own_id, names=names,
                                  total_label=_total_label(practice_id))
            )  # fmt: skip
            continue
        total = Row(None, _total_label(practice_id), _cells(spec, totals, totals, None, hist_totals, tg))
        rows = []
        if spec in grouped:
            for key, values in shown:
                hists = {name: per_key.get(key, {}) for name, per_key in hist_groups.items()}
                cells = _cells(spec, values, totals, group_by, hists, tg)
                if spec.code == "QI-12" and group_by == "practice":
                    cells["qi12_golive"] = Cell(None, "", text=labels.golive.get(key, ""), kind="date")
                rows.append(Row(key, labels.names.get(key, str(key)), cells, own=key == own_id))
            rows = _ordered(rows, group_by)
        table.indicators.append(Indicator(spec, rows, total, broken_down=spec in grouped))
    return table


def _base(*, start, end, medium, practice_id) -> QuerySet[ExamOutcome]:
    qs = ExamOutcome.objects.filter(mammogram_date__gte=start, mammogram_date__lte=end)
    if medium:
        qs = qs.filter(medium=medium)
    if practice_id is not None:
        qs = qs.filter(practice_id=practice_id)
    return qs


def _cells(
    spec: IndicatorSpec, values: dict, totals: dict, group_by: str | None, histograms: dict, tg: dict
) -> dict[str, Cell]:
    cells = {}
    for m in spec.measures:
        target = tg.get(m.key)
        if m.kind == "date":  # filled in by the caller for the rows that have one
            cells[m.key] = Cell(None, "", kind="date")
            continue
        if m.kind == "ratio":
            num = values[count_alias(m.num + m.den)]
            den = (totals if group_by in m.den_from_total_for else values)[count_alias(m.den)]
            exact = num * m.scale / den if den else None
        elif m.kind == "count":
            num, den = values[count_alias(m.num)], None
            exact = float(num)
        elif m.kind == "within":  # share of the delays ≤ limit
            histogram = histograms.get(m.dist) or {}
            num = sum(n for value, n in histogram.items() if value <= m.limit)
            den = sum(histogram.values())
            exact = num * 100.0 / den if den else None
        else:  # percentile: den = the rows measured
            histogram = histograms.get(m.dist) or {}
            num, den = None, sum(histogram.values())
            exact = percentile_cont(histogram, FRACTIONS[m.fraction_index])
        value = round(exact, 1) if exact is not None else None
        missed = bool(target and target.met(exact) is False)
        cells[m.key] = Cell(value, m.unit, num, den, target, missed, kind=m.kind)
    return cells


def _total_label(practice_id: int | None) -> str:
    return _("Total du cabinet") if practice_id is not None else _("Total (département)")


# --- Labels, joined at the end --------------------------------------------------------------------------


class _Labels:
    def __init__(self, names: dict, golive: dict | None = None) -> None:
        self.names, self.golive = names, golive or {}


def group_labels(group_by: str | None, keys: list) -> _Labels:
    if group_by == "month":
        return _Labels({k: f"{k:%m/%Y}" for k in keys})
    if group_by == "quarter":
        return _Labels({k: _("T%(q)d %(y)d") % {"q": (k.month - 1) // 3 + 1, "y": k.year} for k in keys})
    if group_by == "year":
        return _Labels({k: str(k.year) for k in keys})
    if group_by == "practice":
        names, golive = {}, {}
        for p in Practice.objects.filter(pk__in=keys):
            names[p.pk] = f"{p.name} ({p.town})"
            golive[p.pk] = p.dematerialised_on.strftime("%d/%m/%Y") if p.dematerialised_on else _("non")
        return _Labels(names, golive)
    if group_by in ("l1", "reader"):
        return _Labels({u.pk: str(u) for u in User.objects.filter(pk__in=keys)})
    if group_by == "site":
        return _Labels(dict(ReadingSite.objects.values_list("pk", "name")))
    if group_by == "medium":
        return _Labels({k: str(Exam.Medium(k).label) if k in Exam.Medium.values else k for k in keys})
    return _Labels({})


def _ordered(rows: list[Row], group_by: str | None) -> list[Row]:
    if group_by in ("month", "quarter", "year"):
        return sorted(rows, key=lambda r: r.key)
    return sorted(rows, key=lambda r: (r.label.lower(), str(r.key)))
