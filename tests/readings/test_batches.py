"""Coordinator batches at the service level: hold, preview, assign, split, merge, reassign, recall."""

import pytest

from readings.models import Assignment, Batch, BatchExam
from readings.services.assignment import queue_assign
from readings.services.batches import (
    batch_assign,
    batch_create,
    batch_merge,
    batch_reassign,
    batch_recall,
    batch_split,
)
from screening.models import Exam, ExamState
from screening.services.errors import ServiceError
from tests.factories import PracticeFactory, SiteFactory, coordinator, l1_of, queued_exam, reader_at, staff_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def world():
    practice = PracticeFactory()
    site = SiteFactory()
    w = {"practice": practice, "staff": staff_of(practice), "l1": l1_of(practice), "coord": coordinator()}
    w["a"], w["b"] = reader_at(site), reader_at(site)
    w["exams"] = [queued_exam(practice=practice, staff=w["staff"], l1=w["l1"]) for _ in range(6)]
    return w


def _ids(w, n=6):
    return [e.pk for e in w["exams"][:n]]


def _states(ids):
    return dict(Exam.objects.filter(pk__in=ids).values_list("pk", "state"))


def test_a_held_exam_is_left_alone_by_automatic_assignment(world):
    batch = batch_create(name="Vichy semaine 48", exam_ids=_ids(world, 3), actor=world["coord"]).batch
    result = queue_assign(limit=50)
    assert result.assigned == 3  # only the 3 not in the batch
    assert set(_states(_ids(world, 3)).values()) == {ExamState.QUEUED}
    again = batch_create(name="Autre", exam_ids=_ids(world, 1), actor=world["coord"])
    assert again.batch is None and again.skipped == [(world["exams"][0].pk, "déjà dans un lot")]
    assert batch.history[0]["action"] == "création"


def test_preview_changes_nothing_and_confirm_does_exactly_what_it_showed(world):
    batch = batch_create(name="Lot", exam_ids=_ids(world), actor=world["coord"]).batch
    world["a"].reader_profile.daily_capacity = 4
    world["a"].reader_profile.save()
    preview = batch_assign(batch_id=batch.pk, reader=world["a"], actor=world["coord"], dry_run=True)
    assert (
        len(preview.plan.assigned) == 4
        and [r for _, r in preview.plan.refused] == ["capacité du jour atteinte"] * 2
    )
    assert not Assignment.objects.exists() and Batch.objects.get(pk=batch.pk).state == Batch.State.HELD
    done = batch_assign(batch_id=batch.pk, reader=world["a"], actor=world["coord"])
    assert done.plan.assigned == preview.plan.assigned and done.released == preview.released
    assert Assignment.objects.filter(batch=batch, way=Assignment.Way.BATCH, reader=world["a"]).count() == 4
    # The two refused went back to the general queue (no longer held).
    assert BatchExam.objects.filter(batch=batch, active=True).count() == 4


def test_split_merge_reassign_and_recall(world):
    batch = batch_create(name="Lot", exam_ids=_ids(world), actor=world["coord"]).batch
    batch_assign(batch_id=batch.pk, reader=world["a"], actor=world["coord"])
    with pytest.raises(ServiceError):
        batch_split(batch_id=batch.pk, count=6, actor=world["coord"])
    part = batch_split(batch_id=batch.pk, count=2, actor=world["coord"]).batch
    assert part.state == Batch.State.HELD and part.items.filter(active=True).count() == 2
    assert Assignment.objects.filter(batch=batch, state=Assignment.State.ACTIVE).count() == 4
    moved = batch_reassign(batch_id=batch.pk, reader=world["b"], actor=world["coord"])
    assert len(moved.plan.assigned) == 4
    assert set(
        Assignment.objects.filter(state=Assignment.State.ACTIVE).values_list("reader_id", flat=True)
    ) == {world["b"].pk}
    merged = batch_merge(batch_id=batch.pk, other_id=part.pk, actor=world["coord"])
    assert len(merged.plan.assigned) == 2  # the merged exams go to the batch's reader
    assert Batch.objects.get(pk=part.pk).state == Batch.State.CLOSED
    recalled = batch_recall(batch_id=batch.pk, actor=world["coord"])
    assert len(recalled.released) == 6
    assert set(_states(_ids(world)).values()) == {ExamState.QUEUED}
    assert not BatchExam.objects.filter(active=True).exists()
    with pytest.raises(ServiceError) as error:
        batch_assign(batch_id=batch.pk, reader=world["a"], actor=world["coord"])
    assert error.value.code == "batch_closed"


def test_the_readers_own_l1_exams_leave_the_batch_with_the_reason(world):
    l1_reader = reader_at(SiteFactory(), user=world["l1"])
    batch = batch_create(name="Lot", exam_ids=_ids(world, 2), actor=world["coord"]).batch
    outcome = batch_assign(batch_id=batch.pk, reader=l1_reader, actor=world["coord"])
    assert outcome.plan.assigned == [] and all("R-COI-1" in why for _, why in outcome.plan.refused)
    assert set(_states(_ids(world, 2)).values()) == {ExamState.QUEUED}
