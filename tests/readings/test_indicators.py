"""Quality indicators (§6) on the fixed 2024 centre of indicators_world: every figure below is counted by
hand from the row legend there (numerator / denominator, rounded to one decimal like the page)."""

import datetime as dt

import pytest

from readings.selectors_indicators import indicators_compute, indicators_table
from readings.selectors_indicators_sql import percentile_cont
from screening.services.errors import ServiceError
from tests.factories import UserFactory, staff_of
from tests.readings.indicators_world import TODAY, YEAR, build_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def world(db):
    return build_world()


def table(group_by=None, medium=None, **kw):
    return indicators_table(start=YEAR[0], end=YEAR[1], group_by=group_by, medium=medium, today=TODAY, **kw)


def cell(tbl, code, key, row=None):
    """(value, numerator, denominator, out of target) of one cell; row=None is the total."""
    indicator = tbl.get(code)
    if row is None:
        c = indicator.total.cells[key]
    else:
        c = next(r for r in indicator.rows if r.key == row).cells[key]
    return c.value, c.num, c.den, c.out_of_target


def test_totals_of_every_indicator(world):
    t = table()
    # QI-01: ACR 0/3/4/5 before BDI = rows 15, 16, 35, 36 of 40; later rounds 16, 35, 36 of 35.
    assert cell(t, "QI-01", "qi01") == (10.0, 4, 40, True)  # < 10 %: 10.0 is out
    assert cell(t, "QI-01", "qi01_later") == (8.6, 3, 35, True)
    # QI-02: positives 17, 18, 33, 38; read at L2: 40 minus 16, 20, 35, 40.
    assert cell(t, "QI-02", "qi02") == (11.1, 4, 36, True)
    assert cell(t, "QI-02", "qi02_screened") == (10.0, 4, 40, False)
    # QI-03: recalled after L2 = the 4 positives; first round 1, 2, 15, 38, 39 (38 recalled).
    assert cell(t, "QI-03", "qi03") == (10.0, 4, 40, True)
    assert cell(t, "QI-03", "qi03_first") == (20.0, 1, 5, True)
    assert cell(t, "QI-03", "qi03_later") == (8.6, 3, 35, True)
    # QI-04: 19 (CTI) and 34 (CTI retaken, final reading negative) count once each.
    assert cell(t, "QI-04", "qi04") == (5.6, 2, 36, True)
    # QI-05: every exam read at L2 was negative at L1.
    assert cell(t, "QI-05", "qi05") == (11.1, 4, 36, False)
    # QI-06: cancers among L2 positives 17, 38; screen-detected cancers 16, 17, 35, 38 (37 is an interval one).
    assert cell(t, "QI-06", "qi06_n")[:2] == (2.0, 2)
    assert cell(t, "QI-06", "qi06_share") == (50.0, 2, 4, False)
    # QI-07: positives with a known outcome 17 (cancer), 33 (benign), 38 (cancer); 18 unknown.
    assert cell(t, "QI-07", "qi07") == (66.7, 2, 3, False)
    # QI-10: woman's letter 30 h, 50 h, 24 h, 36 h after the doctor's; BDD 17, 33, 38 of 4 recalled;
    # lost: 18 of the 6 positives (16, 35 at L1; 17, 18, 33, 38 at L2).
    assert cell(t, "QI-10", "qi10_woman") == (75.0, 3, 4, False)
    assert cell(t, "QI-10", "qi10_bdd") == (75.0, 3, 4, False)
    assert cell(t, "QI-10", "qi10_lost") == (16.7, 1, 6, False)
    # QI-12: console = the Tilleuls' 20 + the Allier's 10 from July.
    assert cell(t, "QI-12", "qi12") == (75.0, 30, 40, False)
    # QI-13: 4 screen-detected cancers per 40 = 100 ‰; in situ 17; invasive 8, 15, 10 mm; N0 16 and 38.
    assert cell(t, "QI-13", "qi13_rate") == (100.0, 4, 40, False)
    assert cell(t, "QI-13", "qi13_in_situ") == (25.0, 1, 4, False)
    assert cell(t, "QI-13", "qi13_small") == (66.7, 2, 3, False)
    assert cell(t, "QI-13", "qi13_n0") == (66.7, 2, 3, True)  # > 70 % (EU)


def test_delays_median_and_p90(world):
    t = table()
    # QI-08, 31 negative letters; days sorted: 5 6 7 7 8 8 9 9 9 10 10 10 10 11 11 [12] 12 12 13 13 14 14 15 16
    # 16 17 18 [18] 20 20 25: median = 16th value, P90 = value at 0.9 × 30 = 27 (0-based); 23 are ≤ 15 days.
    assert cell(t, "QI-08", "qi08_median") == (12.0, None, 31, False)
    assert cell(t, "QI-08", "qi08_p90") == (18.0, None, 31, True)  # ≤ 15 days: out
    assert cell(t, "QI-08", "qi08_within") == (74.2, 23, 31, True)  # ≥ 95 %: out
    # QI-09: submission after 1 day for most (median 1, P90 2); reading 2 h (15 exams of X), 4, 6, 10, 20 h (17
    # of the Allier's + 38) and 217 h (34, after its retake): 36 values, median (10 + 20) / 2 = 15, P90 = 20.
    assert cell(t, "QI-09", "qi09_submit_median")[:3] == (1.0, None, 40)
    assert cell(t, "QI-09", "qi09_submit_p90")[0] == 2.0
    assert cell(t, "QI-09", "qi09_read_median")[:3] == (15.0, None, 36)
    assert cell(t, "QI-09", "qi09_read_p90")[0] == 20.0
    # Reading → letter: 35 exams, the 18th smallest of the hours is 223 (34: 9 days and 7 hours).
    assert cell(t, "QI-09", "qi09_letter_median")[:3] == (223.0, None, 35)
    # Backlog: 20 (submitted 11/12/2024) and 40 (22/12/2024): 30 and 19 days on 10/01/2025.
    assert cell(t, "QI-09", "qi09_backlog")[:2] == (2.0, 2)
    assert cell(t, "QI-09", "qi09_backlog_median")[:3] == (24.5, None, 2)


def test_by_practice(world):
    t = table("practice")
    p1, p2 = world.p1.pk, world.p2.pk
    assert [r.label for r in t.get("QI-01").rows] == [
        "Cabinet de l'Allier (Moulins)",
        "Cabinet des Tilleuls (Vichy)",
    ]
    assert cell(t, "QI-01", "qi01_later", p1) == (5.9, 1, 17, False)
    assert cell(t, "QI-01", "qi01_later", p2) == (11.1, 2, 18, True)
    assert cell(t, "QI-02", "qi02", p1) == (11.1, 2, 18, True)
    assert cell(t, "QI-04", "qi04", p2) == (5.6, 1, 18, True)
    # QI-08 per practice: the Tilleuls' 15 letters (median 11, P90 18 + 0.6 × 2), the Allier's 16.
    assert cell(t, "QI-08", "qi08_median", p1) == (11.0, None, 15, False)
    assert cell(t, "QI-08", "qi08_p90", p1) == (19.2, None, 15, True)
    assert cell(t, "QI-08", "qi08_within", p1) == (73.3, 11, 15, True)
    assert cell(t, "QI-08", "qi08_median", p2) == (12.0, None, 16, False)
    assert cell(t, "QI-08", "qi08_p90", p2) == (17.5, None, 16, True)
    assert cell(t, "QI-08", "qi08_within", p2) == (75.0, 12, 16, True)
    assert cell(t, "QI-09", "qi09_submit_median", p2)[0] == 1.5
    assert cell(t, "QI-09", "qi09_read_p90", p1)[0] == 4.6
    assert cell(t, "QI-09", "qi09_letter_median", p2)[0] == 225.5
    assert cell(t, "QI-09", "qi09_backlog_median", p1)[:3] == (30.0, None, 1)
    assert cell(t, "QI-10", "qi10_woman", p1) == (50.0, 1, 2, False)
    assert cell(t, "QI-10", "qi10_lost", p1) == (33.3, 1, 3, False)
    assert cell(t, "QI-10", "qi10_woman", p2) == (100.0, 2, 2, False)
    assert cell(t, "QI-12", "qi12", p2) == (50.0, 10, 20, False)
    golive = {r.key: r.cells["qi12_golive"].text for r in t.get("QI-12").rows}
    assert golive == {p1: "01/01/2023", p2: "01/07/2024"}
    # Not broken down by practice in §6: total only.
    assert not t.get("QI-13").broken_down and t.get("QI-13").rows == []
    # The totals do not depend on the breakdown.
    assert cell(t, "QI-08", "qi08_p90") == (18.0, None, 31, True)


def test_by_reader_site_l1_medium_and_month(world):
    t = table("reader")
    x, y = world.x.pk, world.y.pk
    assert cell(t, "QI-02", "qi02", x) == (10.5, 2, 19, True)
    assert cell(t, "QI-02", "qi02", y) == (11.8, 2, 17, True)
    assert cell(t, "QI-04", "qi04", y) == (0.0, 0, 17, False)
    # QI-06 per reader: share of the département's 4 screen-detected cancers.
    assert cell(t, "QI-06", "qi06_share", x) == (50.0, 2, 4, False)
    assert cell(t, "QI-06", "qi06_share", y) == (0.0, 0, 4, False)
    assert cell(t, "QI-07", "qi07", x) == (100.0, 2, 2, False)
    assert cell(t, "QI-07", "qi07", y) == (0.0, 0, 1, False)
    assert cell(t, "QI-09", "qi09_read_p90", x)[0] == 12.0
    assert cell(t, "QI-09", "qi09_letter_median", y)[0] == 228.0
    # QI-11 (2024 fully elapsed on 10/01/2025: × 365.25 / 366): X 19 reads → 19 a year, Y 17 → 17 (own 2,000).
    assert cell(t, "QI-11", "qi11_reads", x)[:2] == (19.0, 19)
    assert cell(t, "QI-11", "qi11_projected", x)[0::3] == (19, True)
    y_projected = next(r for r in t.get("QI-11").rows if r.key == y).cells["qi11_projected"]
    assert (y_projected.value, y_projected.target.value, y_projected.out_of_target) == (17, 2000.0, True)
    assert cell(t, "QI-11", "qi11_projected")[0] == 18  # 36 reads ÷ 2 readers
    sites = table("site")
    assert cell(sites, "QI-03", "qi03", world.site_a.pk) == (10.5, 2, 19, True)
    assert cell(sites, "QI-03", "qi03", world.site_b.pk) == (11.8, 2, 17, True)
    assert cell(sites, "QI-11", "qi11_reads", world.site_b.pk)[:2] == (17.0, 17)
    l1 = table("l1")
    assert cell(l1, "QI-05", "qi05", world.r1a.pk) == (11.1, 2, 18, False)
    assert cell(l1, "QI-01", "qi01", world.r1b.pk) == (10.0, 2, 20, True)
    media = table("medium")
    assert cell(media, "QI-02", "qi02", "FILM") == (11.1, 1, 9, True)
    assert cell(media, "QI-02", "qi02_screened", "CONSOLE") == (10.0, 3, 30, False)
    assert [r.label for r in media.get("QI-02").rows] == ["Dématérialisé (console)", "Films (négatoscope)"]
    months = table("month")
    january = next(r for r in months.get("QI-02").rows if r.label == "01/2024")
    assert (january.cells["qi02"].value, january.cells["qi02"].num, january.cells["qi02"].den) == (25.0, 1, 4)
    august = next(r for r in months.get("QI-06").rows if r.label == "08/2024")
    assert (august.cells["qi06_n"].num, august.cells["qi06_share"].value) == (2, 100.0)
    assert [r.label for r in table("quarter").get("QI-12").rows] == [
        "T1 2024",
        "T2 2024",
        "T3 2024",
        "T4 2024",
    ]


def test_medium_filter_and_period(world):
    films = table(medium="FILM")
    assert cell(films, "QI-12", "qi12") == (0.0, 0, 10, False)
    assert cell(films, "QI-02", "qi02") == (11.1, 1, 9, True)
    july_on = indicators_table(
        start=dt.date(2024, 7, 1), end=YEAR[1], group_by=None, medium=None, today=TODAY
    )
    # From July: rows 7-11, 16-20, 27-32, 37-40; read at L2: all but 16, 20, 40 = 17; positive 17, 18, 38.
    assert cell(july_on, "QI-02", "qi02") == (17.6, 3, 17, True)


def test_scoping(world):
    # A radiologist sees their own row and the centre's totals, nothing else.
    mine = indicators_compute(user=world.r1a, start=YEAR[0], end=YEAR[1], group_by="l1", medium=None)
    assert [r.key for r in mine.get("QI-01").rows] == [world.r1a.pk]
    assert cell(mine, "QI-01", "qi01") == (10.0, 4, 40, True)  # the département's
    reader = indicators_compute(user=world.y, start=YEAR[0], end=YEAR[1], group_by="reader", medium=None)
    assert [r.key for r in reader.get("QI-02").rows] == [world.y.pk]
    assert [r.key for r in reader.get("QI-11").rows] == [world.y.pk]
    for group_by in ("practice", "site", "month"):
        with pytest.raises(ServiceError) as refused:
            indicators_compute(user=world.r1a, start=YEAR[0], end=YEAR[1], group_by=group_by, medium=None)
        assert refused.value.code == "indicators_forbidden"
    with pytest.raises(ServiceError):
        indicators_compute(
            user=world.r1a, start=YEAR[0], end=YEAR[1], group_by=None, medium=None, practice_id=world.p1.pk
        )
    for outsider in (staff_of(world.p1), UserFactory()):
        with pytest.raises(ServiceError):
            indicators_compute(user=outsider, start=YEAR[0], end=YEAR[1], group_by=None, medium=None)
    centre = indicators_compute(user=world.coord, start=YEAR[0], end=YEAR[1], group_by="l1", medium=None)
    assert {r.key for r in centre.get("QI-01").rows} == {world.r1a.pk, world.r1b.pk}


def test_bad_input_is_refused(world):
    with pytest.raises(ServiceError) as period:
        indicators_table(start=YEAR[1], end=YEAR[0], group_by=None, medium=None)
    assert period.value.code == "indicators_period"
    with pytest.raises(ServiceError) as breakdown:
        indicators_table(start=YEAR[0], end=YEAR[1], group_by="weekday", medium=None)
    assert breakdown.value.code == "indicators_breakdown"
    with pytest.raises(ServiceError):
        indicators_table(start=YEAR[0], end=YEAR[1], group_by=None, medium="VHS")


def test_percentile_cont_matches_postgresql():
    from collections import Counter

    from django.db import connection

    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.9, 0.25]) WITHIN GROUP (ORDER BY v) FROM unnest(%s::int[]) v",
            [values],
        )
        expected = cursor.fetchone()[0]
    assert [percentile_cont(Counter(values), f) for f in (0.5, 0.9, 0.25)] == pytest.approx(expected)
    assert percentile_cont(Counter(), 0.5) is None
    assert percentile_cont(Counter({7: 1}), 0.9) == 7.0
