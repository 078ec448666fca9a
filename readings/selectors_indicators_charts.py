"""The chart data of the indicators page (Chart.js, fed by a JSON script tag): the same numbers as the tables.

- monthly L2-positive (QI-02) and CTI (QI-04) rates with their targets;
- dematerialisation (QI-12) per practice over time (by quarter, by year beyond three years);
- each reader's projected yearly L2 volume (QI-11) against their target (1,500 or their own).
"""

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from readings.selectors_indicators import group_labels, indicators_table
from readings.selectors_indicators_defs import targets
from readings.selectors_indicators_sql import analytics_session, period_start
from readings.selectors_indicators_types import IndicatorTable
from readings.selectors_indicators_volumes import reader_volumes_count, volumes_indicator
from screening.models import Practice
from screening.models.outcomes import ExamOutcome

QUARTERLY_UP_TO_DAYS = 3 * 366


def indicators_charts(*, table: IndicatorTable, today: dt.date | None = None) -> dict:
    """Chart series for a coordinator's page, reusing the page's own rows when the breakdown matches."""
    today = today or timezone.localdate()
    return {
        "rates": _monthly_rates(table),
        "dematerialisation": _dematerialisation(table),
        "readers": _reader_volumes_chart(table, today),
    }


def _monthly_rates(table: IndicatorTable) -> dict:
    if table.group_by == "month":
        monthly = table
    else:
        monthly = indicators_table(
            start=table.start, end=table.end, group_by="month", medium=table.medium,
            practice_id=table.practice_id, codes=("QI-02", "QI-04"),
        )  # fmt: skip
    l2, cti = monthly.get("QI-02"), monthly.get("QI-04")
    tg = targets()
    cti_by_key = {row.key: row.cells["qi04"].value for row in cti.rows}
    return {
        "labels": [row.label for row in l2.rows],
        "series": [
            {"label": _("Positifs en L2 (% des lus)"), "data": [row.cells["qi02"].value for row in l2.rows]},
            {"label": _("CTI (% des lus)"), "data": [cti_by_key.get(row.key) for row in l2.rows]},
        ],
        "targets": [
            {
                "label": _("Objectif positifs L2 %(t)s") % {"t": tg["qi02"].text("%")},
                "value": tg["qi02"].value,
            },
            {"label": _("Objectif CTI %(t)s") % {"t": tg["qi04"].text("%")}, "value": tg["qi04"].value},
        ],
    }


def _dematerialisation(table: IndicatorTable) -> dict:
    yearly = (table.end - table.start).days > QUARTERLY_UP_TO_DAYS
    trunc = period_start("year" if yearly else "quarter")
    qs = ExamOutcome.objects.filter(mammogram_date__gte=table.start, mammogram_date__lte=table.end)
    if table.medium:
        qs = qs.filter(medium=table.medium)
    if table.practice_id is not None:
        qs = qs.filter(practice_id=table.practice_id)
    with analytics_session():
        rows = list(
            qs.annotate(period=trunc)
            .values_list("practice_id", "period")
            .annotate(n=Count("pk"), console=Count("pk", filter=Q(medium="CONSOLE")))
            .order_by()
        )
    periods = sorted({period for _p, period, _n, _c in rows})
    values = {(p, period): round(c * 100 / n, 1) for p, period, n, c in rows if n}
    practices = Practice.objects.filter(pk__in={p for p, *_rest in rows}).order_by("name")
    return {
        "labels": [str(d.year) if yearly else f"T{(d.month - 1) // 3 + 1} {d.year}" for d in periods],
        "series": [
            {"label": p.name, "data": [values.get((p.pk, period)) for period in periods]} for p in practices
        ],
    }


def _reader_volumes_chart(table: IndicatorTable, today: dt.date) -> dict:
    volumes = table.volumes
    if volumes is None:
        with analytics_session():
            volumes = reader_volumes_count(
                start=table.start, end=table.end, medium=table.medium, practice_id=table.practice_id,
                own_id=None, today=today,
            )  # fmt: skip
    names = group_labels("reader", list(volumes.per_reader())).names
    qi11 = volumes_indicator(volumes, group_by="reader", own_id=None, names=names, total_label="")
    rows = sorted(qi11.rows, key=lambda r: r.label.lower())
    return {
        "labels": [row.label for row in rows],
        "series": [
            {
                "label": _("Projection annuelle L2"),
                "data": [row.cells["qi11_projected"].value for row in rows],
            }
        ],
        "targets": [
            row.cells["qi11_projected"].target.value if row.cells["qi11_projected"].target else None
            for row in rows
        ],
        "target_label": _("Objectif annuel du lecteur"),
    }
