"""Assignment: never the exam's own L1 radiologist (R-COI-1), least-loaded reader, never twice."""

import pytest
from django.db import IntegrityError, transaction

from readings.models import Assignment
from readings.services.assignment import assignment_release, exam_assign
from screening.models import ExamState
from tests.factories import PracticeFactory, SiteFactory, l1_of, reader_at, staff_of, submitted_exam

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    practice = PracticeFactory()
    sites = [SiteFactory(), SiteFactory()]
    l1 = l1_of(practice)
    reader_at(sites[0], user=l1)  # the L1 radiologist is also an L2 reader
    return {"practice": practice, "staff": staff_of(practice), "l1": l1, "sites": sites}


def test_exam_is_never_assigned_to_its_own_l1_even_when_they_are_the_only_reader(world):
    exam = submitted_exam(practice=world["practice"], staff=world["staff"], l1=world["l1"])
    assert exam.state == ExamState.QUEUED  # no eligible reader: waits in the queue
    other = reader_at(world["sites"][1])
    assignment = exam_assign(exam_id=exam.pk, actor=None)
    assert assignment.reader == other
    assert "R-COI-1" in assignment.why


def test_least_loaded_reader_gets_the_next_exam(world):
    a = reader_at(world["sites"][0])
    b = reader_at(world["sites"][1])
    readers = [
        Assignment.objects.get(
            exam=submitted_exam(practice=world["practice"], staff=world["staff"], l1=world["l1"])
        ).reader
        for _ in range(4)
    ]
    assert sorted(r.pk for r in readers) == sorted([a.pk, a.pk, b.pk, b.pk])


def test_assigning_twice_does_nothing_and_the_database_refuses_a_second_active_assignment(world):
    reader = reader_at(world["sites"][1])
    exam = submitted_exam(practice=world["practice"], staff=world["staff"], l1=world["l1"])
    assert exam.state == ExamState.ASSIGNED
    first = Assignment.objects.get(exam=exam)
    assert exam_assign(exam_id=exam.pk, actor=None) == first  # nothing new
    assert Assignment.objects.filter(exam=exam).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(exam=exam, reader=reader, l1_radiologist=world["l1"])


def test_database_refuses_an_assignment_to_the_l1_radiologist(world):
    reader_at(world["sites"][1])
    exam = submitted_exam(practice=world["practice"], staff=world["staff"], l1=world["l1"])
    Assignment.objects.filter(exam=exam).update(state=Assignment.State.RELEASED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(exam=exam, reader=world["l1"], l1_radiologist=world["l1"])


def test_released_exam_goes_back_to_the_pool_and_is_reassigned(world):
    first = reader_at(world["sites"][1])
    exam = submitted_exam(practice=world["practice"], staff=world["staff"], l1=world["l1"])
    assignment_release(exam_id=exam.pk, actor=None, reason="absence")
    second = reader_at(world["sites"][0])
    again = exam_assign(exam_id=exam.pk, actor=None)
    assert again.reader in (first, second)
    assert Assignment.objects.filter(exam=exam, state=Assignment.State.RELEASED).count() == 1
