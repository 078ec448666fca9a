"""QI-11: second-reading volumes per reader (R-READ-1), by reading date, projected to a full year.

One query counts the deciding L2 readings of the period per (reader, site); one more counts each reader's
own L1 exams (mammogram date in the period: the "+500" of R-READ-1). Per reader, per site and in total
(average per reader who read in the period), against 1,500 a year or the reader's own target.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count

from readings.models import ReaderProfile
from readings.selectors_indicators_defs import BY_CODE, Target, targets
from readings.selectors_indicators_types import Cell, Indicator, Row
from screening.models.outcomes import ExamOutcome


@dataclass
class ReaderVolumes:
    """The counts behind QI-11, kept for the readers' chart."""

    factor: float  # 365.25 ÷ elapsed days of the period
    reads: dict[tuple[int, int | None], int]  # (reader, site) → readings
    l1: dict[int, int]  # reader → own L1 exams
    own_targets: dict[int, int]  # reader → ReaderProfile.yearly_target (when set)

    def per_reader(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for (reader, _site), n in self.reads.items():
            out[reader] = out.get(reader, 0) + n
        return out


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def reader_volumes_count(
    *,
    start: dt.date,
    end: dt.date,
    medium: str | None,
    practice_id: int | None,
    own_id: int | None,
    today: dt.date,
) -> ReaderVolumes:
    elapsed = max((min(end, today) - start).days + 1, 1)  # a period still running projects what is done
    reads = ExamOutcome.objects.filter(
        l2_read_at__gte=_local_midnight(start),
        l2_read_at__lt=_local_midnight(end + dt.timedelta(days=1)),
        l2_reader_id__isnull=False,
    )
    if medium:
        reads = reads.filter(medium=medium)
    if practice_id is not None:
        reads = reads.filter(practice_id=practice_id)
    counted = {
        (reader, site): n
        for reader, site, n in reads.values_list("l2_reader_id", "l2_site_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    readers = {reader for reader, _site in counted} | ({own_id} if own_id is not None else set())
    # The "+500": the reader's own L1 exams, all practices and media (a qualification volume).
    l1 = dict(
        ExamOutcome.objects.filter(
            mammogram_date__gte=start, mammogram_date__lte=end, l1_radiologist_id__in=list(readers)
        )
        .values_list("l1_radiologist_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    own_targets = dict(
        ReaderProfile.objects.filter(user_id__in=readers, yearly_target__isnull=False).values_list(
            "user_id", "yearly_target"
        )
    )
    return ReaderVolumes(365.25 / elapsed, counted, l1, own_targets)


def volume_cells(vol: ReaderVolumes, *, n: int, readers: int, l1_reads: int | None, target: Target | None):
    """QI-11 cells of one row: readings, then the yearly projections per reader (L2, L1)."""
    tg = targets()
    l2_year = n * vol.factor / readers if readers else None
    l1_year = l1_reads * vol.factor / readers if readers and l1_reads is not None else None
    cells = {"qi11_reads": Cell(float(n), "n", n, None, kind="count")}
    for key, exact, goal in (
        ("qi11_projected", l2_year, target),
        ("qi11_l1_projected", l1_year, tg.get("qi11_l1_projected")),
    ):
        value = round(exact) if exact is not None else None
        missed = bool(goal and goal.met(exact) is False)
        cells[key] = Cell(value, "/an", None, readers, goal, missed, kind="projected")
    return cells


def volumes_indicator(
    vol: ReaderVolumes, *, group_by: str | None, own_id: int | None, names: dict, total_label
):
    """QI-11 as a table: a row per reader (or per site) and the centre's total."""
    default = targets().get("qi11_projected")
    per_reader = vol.per_reader()
    total = Row(
        None,
        total_label,
        volume_cells(
            vol, n=sum(per_reader.values()), readers=len(per_reader),
            l1_reads=sum(vol.l1.get(r, 0) for r in per_reader), target=default,
        ),
    )  # fmt: skip
    rows = []
    if group_by == "reader":
        for reader in [own_id] if own_id is not None else list(per_reader):
            own = vol.own_targets.get(reader)
            target = Target(">=", float(own), "R-READ-1") if own else default
            cells = volume_cells(
                vol, n=per_reader.get(reader, 0), readers=1, l1_reads=vol.l1.get(reader, 0), target=target
            )
            rows.append(Row(reader, names.get(reader, str(reader)), cells, own=reader == own_id))
    elif group_by == "site":
        sites: dict[int, tuple[int, set[int]]] = {}
        for (reader, site), n in vol.reads.items():
            if site is not None:
                total_n, members = sites.get(site, (0, set()))
                sites[site] = (total_n + n, members | {reader})
        for site, (n, members) in sites.items():
            l1_reads = sum(vol.l1.get(r, 0) for r in members)
            cells = volume_cells(vol, n=n, readers=len(members), l1_reads=l1_reads, target=default)
            rows.append(Row(site, names.get(site, str(site)), cells))
    return Indicator(BY_CODE["QI-11"], rows, total, broken_down=group_by in ("reader", "site"))
