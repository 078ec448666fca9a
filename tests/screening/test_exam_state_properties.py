"""Property test of the state machine: whatever sequence of moves is attempted, the exam only ever
follows the transition table, and the append-only history replays exactly to its current state."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.models import ExamState
from screening.services.errors import ServiceError
from screening.services.exam_state import FINAL_STATES, exam_transition, transition_allowed
from tests.factories import PracticeFactory, draft_exam, l1_of, staff_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    practice = PracticeFactory()
    return practice, staff_of(practice), l1_of(practice)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.sampled_from(ExamState.values), min_size=1, max_size=25))
def test_random_moves_follow_the_table_and_history_replays_to_the_state(people, moves):
    practice, staff, l1 = people
    exam = draft_exam(practice=practice, staff=staff, l1=l1)
    state = ExamState.DRAFT
    for target in moves:
        allowed = transition_allowed(state, target)
        try:
            exam_transition(exam_id=exam.pk, to_state=target, actor=staff)
        except ServiceError:
            assert not allowed
        else:
            assert allowed
            state = target
    exam.refresh_from_db()
    events = list(exam.status_events.order_by("at", "pk"))
    assert exam.state == state == events[-1].to_state
    for before, after in zip(events, events[1:], strict=False):
        assert after.from_state == before.to_state
        assert transition_allowed(before.to_state, after.to_state)
    if state in FINAL_STATES:
        assert all(not transition_allowed(state, s) for s in ExamState.values)
