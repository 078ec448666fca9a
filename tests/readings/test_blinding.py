"""§5 blinding: what the second reader sees of the L1 form under OPEN, BLIND and BLIND_THEN_REVEAL."""

import pytest

from readings.models import L2Reading
from readings.selectors_case import case_for_reader
from readings.services.assignment import exam_assign
from readings.services.l2_reading import l2_reading_submit
from readings.services.verdicts import l2_reading_withdraw
from screening.models import CentreRole
from screening.services.policies import policy_create
from tests.factories import (
    PracticeFactory,
    SiteFactory,
    UserFactory,
    l1_negative,
    l1_of,
    queued_exam,
    reader_at,
    staff_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    practice = PracticeFactory()
    physician = UserFactory(centre_role=CentreRole.PHYSICIAN)
    policy_create(version="UK-b", preset="UK", actor=physician)
    policy_create(version="REVEAL-b", preset="BLIND-REVEAL", actor=physician)
    return practice, staff_of(practice), l1_of(practice), reader_at(SiteFactory())


def exam_for(world, version):
    practice, staff, l1, reader = world
    exam = queued_exam(
        practice=practice, staff=staff, l1=l1, l1_data=l1_negative(acr_final_right=2, acr_initial_right=2)
    )
    exam.policy_version = version
    exam.save(update_fields=["policy_version"])
    exam_assign(exam_id=exam.pk, actor=None, reader=reader)
    return exam, reader


def test_open_policy_shows_the_l1_acr(world):
    exam, reader = exam_for(world, "FR-2006")
    case = case_for_reader(reader=reader, exam_id=exam.pk)
    assert case["l1"]["acr_final_right"] == 2 and "blinded" not in case["l1"]
    assert case["normal_acr"] == {"right": 2, "left": 1}


def test_blind_policy_hides_acr_lesions_bdi_and_conduct_but_keeps_history(world):
    exam, reader = exam_for(world, "UK-b")
    case = case_for_reader(reader=reader, exam_id=exam.pk)
    l1 = case["l1"]
    assert l1["blinded"] is True
    for hidden in ("acr_final_right", "acr_initial_left", "lesions", "bdi_done", "conduct"):
        assert hidden not in l1
    assert l1["density"] == "B" and "history" in l1 and "clinical_exam" in l1
    assert case["normal_acr"] == {"right": 1, "left": 1}  # no hint from the L1 ACR either


def test_blind_then_reveal_shows_l1_after_the_opinion_and_keeps_the_blind_one(world):
    exam, reader = exam_for(world, "REVEAL-b")
    assert case_for_reader(reader=reader, exam_id=exam.pk)["l1"]["blinded"] is True
    first = l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="NORMAL", undo_seconds=30)
    l2_reading_withdraw(reading_id=first.pk, reader=reader)  # the reveal: the reader reconsiders
    revealed = case_for_reader(reader=reader, exam_id=exam.pk)["l1"]
    assert "blinded" not in revealed and revealed["acr_final_right"] == 2
    second = l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="NORMAL", acr_right=2, undo_seconds=0)
    assert second.opinion_blind == {"verdict": "NORMAL", "acr_right": 1, "acr_left": 1}
    assert second.revealed_at == first.submitted_at
    assert L2Reading.objects.get(pk=first.pk).status == L2Reading.Status.WITHDRAWN
