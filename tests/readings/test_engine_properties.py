"""Property tests of the engine's decision (no database): random readers, absences, capacities, practices and
L1 radiologists; whatever they are, the plan never breaks a rule and leaves nothing assignable behind."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from readings.services.engine import CAPACITY_CODES, ExamFacts, ReaderState, Rules, exclusion, plan

TODAY = dt.date(2026, 11, 28)


@st.composite
def worlds(draw):
    n_practices = draw(st.integers(1, 4))
    n_sites = draw(st.integers(1, 3))
    readers = []
    for i in range(draw(st.integers(0, 8))):
        readers.append(
            ReaderState(
                user_id=100 + i,
                name=f"Dr {i}",
                site_id=draw(st.integers(1, n_sites)),
                site_name="site",
                available=draw(st.booleans() | st.just(True)),
                absent=draw(st.booleans()),
                works_today=draw(st.booleans() | st.just(True)),
                practice_ids=frozenset(draw(st.sets(st.integers(1, n_practices), max_size=2))),
                declared_practice_ids=frozenset(draw(st.sets(st.integers(1, n_practices), max_size=1))),
                day_capacity=draw(st.integers(0, 6)),
                week_capacity=draw(st.integers(0, 10)),
                day_load=draw(st.integers(0, 3)),
                week_load=draw(st.integers(0, 4)),
                year_done=draw(st.integers(0, 2000)),
                share=draw(st.sampled_from([0.5, 1.0, 2.0])),
            )
        )
    # L1 radiologists: some are also readers (ids 100+), some are not (ids 1..5).
    l1_pool = [r.user_id for r in readers] + [1, 2, 3]
    exams = [
        ExamFacts(
            exam_id=1000 + j,
            l1_radiologist_id=draw(st.sampled_from(l1_pool)),
            practice_id=draw(st.integers(1, n_practices)),
            practice_home_site_id=draw(st.none() | st.integers(1, n_sites)),
        )
        for j in range(draw(st.integers(1, 25)))
    ]
    rules = Rules(exclude_same_practice=draw(st.booleans()), cross_site=draw(st.booleans()))
    return readers, exams, rules


@settings(max_examples=300, deadline=None)
@given(world=worlds())
def test_plan_never_breaks_a_rule_and_leaves_nothing_assignable(world):
    readers, exams, rules = world
    start = {r.user_id: (r.day_load, r.week_load) for r in readers}
    caps = {r.user_id: (r.day_capacity, r.week_capacity) for r in readers}
    decisions = plan(exams, readers, rules, TODAY)
    by_id = {r.user_id: r for r in readers}
    given_to: dict[int, int] = {}
    for exam, decision in zip(exams, decisions, strict=True):
        assert decision.exam_id == exam.exam_id
        if decision.reader_id is None:
            assert decision.wait_code in {"NO_READER", "NO_CAPACITY", "ALL_EXCLUDED"}
            continue
        assert decision.reader_id != exam.l1_radiologist_id  # R-COI-1
        reader = by_id[decision.reader_id]
        assert reader.available and not reader.absent and reader.works_today
        if rules.exclude_same_practice:
            assert exam.practice_id not in reader.practice_ids
        if rules.cross_site:
            assert exam.practice_home_site_id != reader.site_id
        assert exam.practice_id not in reader.declared_practice_ids
        given_to[reader.user_id] = given_to.get(reader.user_id, 0) + 1
    for user_id, n in given_to.items():
        day0, week0 = start[user_id]
        day_cap, week_cap = caps[user_id]
        assert day0 + n <= max(day_cap, day0)  # never pushes a reader over capacity
        assert week0 + n <= max(week_cap, week0)
    # Nothing assignable left behind: after the plan, every waiting exam is excluded for every reader.
    for exam, decision in zip(exams, decisions, strict=True):
        if decision.reader_id is None:
            assert all(exclusion(r, exam, rules) is not None for r in readers)


@settings(max_examples=100, deadline=None)
@given(n_readers=st.integers(2, 8), n_exams=st.integers(1, 80))
def test_identical_readers_share_the_load_evenly(n_readers, n_exams):
    readers = [ReaderState(user_id=i, name=f"Dr {i}", site_id=1, site_name="s", day_capacity=1000,
                           week_capacity=1000) for i in range(10, 10 + n_readers)]  # fmt: skip
    exams = [ExamFacts(exam_id=j, l1_radiologist_id=1, practice_id=1) for j in range(n_exams)]
    plan(exams, readers, Rules(), TODAY)
    loads = [r.week_load for r in readers]
    assert max(loads) - min(loads) <= 1


def test_a_reader_behind_the_yearly_target_gets_more_than_one_far_ahead():
    behind = ReaderState(user_id=1, name="Dr En retard", site_id=1, site_name="s", year_done=300,
                         day_capacity=1000, week_capacity=1000)  # fmt: skip
    ahead = ReaderState(user_id=2, name="Dr En avance", site_id=1, site_name="s", year_done=2400,
                        day_capacity=1000, week_capacity=1000)  # fmt: skip
    exams = [ExamFacts(exam_id=j, l1_radiologist_id=99, practice_id=1) for j in range(90)]
    decisions = plan(exams, [behind, ahead], Rules(), TODAY)
    got = {1: 0, 2: 0}
    for d in decisions:
        got[d.reader_id] += 1
    assert got[1] >= 3 * got[2]  # pace factors ×2 vs ×0.5
    assert "objectif 1500" in decisions[0].why and "Dr En retard" in decisions[0].why


def test_waiting_exam_says_why_in_french():
    reader = ReaderState(user_id=5, name="Dr Seul", site_id=1, site_name="Vichy", day_capacity=0)
    (decision,) = plan([ExamFacts(exam_id=1, l1_radiologist_id=9, practice_id=1)], [reader], Rules(), TODAY)
    assert decision.reader_id is None and decision.wait_code == "NO_CAPACITY"
    assert "Dr Seul : capacité du jour atteinte" in decision.why
    (decision,) = plan([ExamFacts(exam_id=2, l1_radiologist_id=5, practice_id=1)], [reader], Rules(), TODAY)
    assert decision.wait_code == "ALL_EXCLUDED" and "R-COI-1" in decision.why
    assert CAPACITY_CODES == {"DAY_FULL", "WEEK_FULL"}
