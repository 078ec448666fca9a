"""F8 d: a verdict is provisional during the undo window (server clock), withdrawable with Ctrl+Z, then final."""

import datetime as dt

import pytest
from django.utils import timezone

from readings.models import Assignment, Discordance, L2Reading
from readings.selectors import reader_worklist
from readings.services.assignment import queue_assign
from readings.services.l2_reading import FindingInput, l2_reading_open, l2_reading_submit
from readings.services.verdicts import l2_reading_finalize, l2_reading_withdraw, l2_readings_finalize_due
from screening.models import Exam, ExamState
from screening.services.errors import ServiceError
from tests.factories import PASSWORD, PracticeFactory, SiteFactory, l1_of, queued_exam, reader_at, staff_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def case(settings):
    settings.L2_UNDO_WINDOW_SECONDS = 5
    practice = PracticeFactory()
    staff, l1 = staff_of(practice), l1_of(practice)
    reader = reader_at(SiteFactory())
    exams = [queued_exam(practice=practice, staff=staff, l1=l1) for _ in range(2)]
    queue_assign(limit=10)
    l2_reading_open(exam_id=exams[0].pk, reader=reader)
    return reader, exams


def test_verdict_is_provisional_then_final_when_the_window_has_passed(case):
    reader, (exam, _) = case
    reading = l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="NORMAL")
    assert reading.status == L2Reading.Status.PROVISIONAL
    assert 4.9 <= (reading.final_at - reading.submitted_at).total_seconds() <= 5.1
    exam.refresh_from_db()
    assert exam.state == ExamState.IN_READING  # no outcome, no letter, no statistic yet
    assert exam.pk not in [a.exam_id for a in reader_worklist(reader=reader)]  # but off the reader's list
    assert not l2_reading_finalize(reading_id=reading.pk)  # too early: the server clock decides
    assert l2_readings_finalize_due(now=reading.final_at + dt.timedelta(milliseconds=1)) == 1
    exam.refresh_from_db()
    reading.refresh_from_db()
    assert exam.state == ExamState.L2_NEGATIVE and reading.status == L2Reading.Status.FINAL
    assert Assignment.objects.get(exam=exam).state == Assignment.State.COMPLETED
    assert l2_readings_finalize_due(now=reading.final_at + dt.timedelta(seconds=10)) == 0  # idempotent


def test_withdraw_inside_the_window_reopens_the_case_and_a_new_verdict_can_follow(case):
    reader, (exam, _) = case
    finding = FindingInput(side="D", lesion_type="A", quadrant="QSE", acr=4)
    first = l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="ANOMALY", findings=[finding])
    assert not Discordance.objects.exists()  # only a final positive opens a discordance
    withdrawn = l2_reading_withdraw(
        reading_id=first.pk, reader=reader, now=first.submitted_at + dt.timedelta(seconds=3)
    )
    assert withdrawn.status == L2Reading.Status.WITHDRAWN
    assert exam.pk in [a.exam_id for a in reader_worklist(reader=reader)]
    second = l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="NORMAL", undo_seconds=0)
    exam.refresh_from_db()
    assert second.status == L2Reading.Status.FINAL and exam.state == ExamState.L2_NEGATIVE
    assert L2Reading.objects.filter(exam=exam).count() == 2  # the withdrawn verdict is kept (R-RET-2)
    assert not l2_reading_finalize(reading_id=first.pk, now=timezone.now() + dt.timedelta(minutes=1))


def test_withdraw_after_the_window_is_refused_and_a_double_verdict_is_impossible(case):
    reader, (exam, _) = case
    reading = l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="NORMAL")
    with pytest.raises(ServiceError) as error:
        l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="NORMAL")
    assert error.value.code == "already_submitted"
    with pytest.raises(ServiceError) as error:
        l2_reading_withdraw(
            reading_id=reading.pk, reader=reader, now=reading.final_at + dt.timedelta(seconds=1)
        )
    assert error.value.code == "undo_window_closed"


def test_http_withdraw_answers_409_after_the_window_and_reopens_before(case, client):
    reader, (exam, other) = case
    client.login(username=reader.username, password=PASSWORD)
    response = client.post(
        f"/lecture/examen/{exam.pk}/", {"verdict": "NORMAL", "acr_right": 1, "acr_left": 1}
    )
    assert response.status_code == 302 and response["Location"].endswith(f"/lecture/examen/{other.pk}/")
    page = client.get(response["Location"]).content.decode()
    reading = L2Reading.objects.get(exam=exam)
    assert (
        'data-testid="undo-bar"' in page
        and "annuler : Ctrl+Z" in page
        and exam.participant.programme_id in page
    )
    back = client.post(f"/lecture/verdict/{reading.pk}/annuler/", HTTP_ACCEPT="application/json")
    assert back.status_code == 200 and back.json()["status"] == "WITHDRAWN"
    again = client.post(f"/lecture/examen/{exam.pk}/", {"verdict": "NORMAL", "acr_right": 1, "acr_left": 1})
    assert again.status_code == 302
    late = L2Reading.objects.get(exam=exam, status=L2Reading.Status.PROVISIONAL)
    L2Reading.objects.filter(pk=late.pk).update(final_at=timezone.now() - dt.timedelta(seconds=1))
    refused = client.post(f"/lecture/verdict/{late.pk}/annuler/", HTTP_ACCEPT="application/json")
    assert refused.status_code == 409 and refused.json()["code"] == "undo_window_closed"
    client.get("/lecture/")  # the reader's next request finalises what is due
    assert Exam.objects.get(pk=exam.pk).state == ExamState.L2_NEGATIVE
