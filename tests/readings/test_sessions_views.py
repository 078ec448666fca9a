"""Reading sessions seen by a second reader: start from the worklist, read, end; what comes back to the queue."""

import datetime as dt
import html
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from readings.models import Assignment, ReaderLoad, ReadingSession
from readings.services.assignment import exam_assign
from readings.services.batches import batch_create
from screening.models import AuditEvent, Exam, ExamState
from screening.services.exam_state import exam_transition
from tests.factories import (
    PASSWORD,
    ParticipantFactory,
    PracticeFactory,
    SiteFactory,
    coordinator,
    draft_exam,
    l1_of,
    reader_at,
    staff_of,
)

pytestmark = pytest.mark.django_db(transaction=True)

WORKLIST = reverse("readings:worklist")
START = reverse("readings:session_start")


@pytest.fixture
def world():
    practice = PracticeFactory(town="Vichy")
    return SimpleNamespace(
        practice=practice,
        staff=staff_of(practice),
        l1=l1_of(practice),
        site=SiteFactory(),
    )


def queued_rows(world, due_in_days: list[int], *, l1=None, urgent: bool = False) -> list[Exam]:
    """Bare queued exams (no images, no L1 form): enough for the session logic, fast to build."""
    today = timezone.localdate()
    exams = []
    for days in due_in_days:
        due = today + dt.timedelta(days=days)
        exams.append(
            Exam.objects.create(
                participant=ParticipantFactory(),
                practice=world.practice,
                l1_radiologist=l1 or world.l1,
                created_by=world.staff,
                mammogram_date=due - dt.timedelta(days=15),
                due_at=due,
                state=ExamState.QUEUED,
                urgent=urgent,
            )
        )
    return exams


def queued_readable(world, *, days_ago: int) -> Exam:
    """A queued exam with its L1 form, that the reading page can open (built through the state machine)."""
    exam = draft_exam(practice=world.practice, staff=world.staff, l1=world.l1, days_ago=days_ago)
    exam_transition(exam_id=exam.pk, to_state=ExamState.SUBMITTED, actor=world.staff)
    return exam_transition(exam_id=exam.pk, to_state=ExamState.QUEUED, actor=world.staff)


def login(client, user) -> None:
    assert client.login(username=user.username, password=PASSWORD)


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def start(client, size) -> str:
    response = client.post(START, {"size": size}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(WORKLIST, 302)]
    return page_text(response)


def session_exam_ids(reader) -> list[int]:
    return sorted(
        Assignment.objects.filter(
            reader=reader, session__state=ReadingSession.State.ACTIVE, state=Assignment.State.ACTIVE
        ).values_list("exam_id", flat=True)
    )


def priority(exams: list[Exam]) -> list[Exam]:
    return sorted(exams, key=lambda e: (not e.urgent, e.due_at, e.pk))


def test_a_session_takes_the_next_exams_by_priority_never_own_l1_nor_batch_held(client, world):
    reader = reader_at(world.site)
    own_l1 = queued_rows(world, [1, 1], l1=reader)  # earliest deadlines, but read by this reader as L1
    held = queued_rows(world, [1, 2])
    batch_create(name="Lot films", exam_ids=[e.pk for e in held], actor=coordinator())
    urgent = queued_rows(world, [14], urgent=True)
    others = queued_rows(world, [(i % 12) + 2 for i in range(30)])

    login(client, reader)
    page = start(client, 25)

    assert "Session démarrée : 25 examens reçus." in page
    expected = priority(urgent + others)[:25]
    assert session_exam_ids(reader) == sorted(e.pk for e in expected)
    session = ReadingSession.objects.get(reader=reader, state=ReadingSession.State.ACTIVE)
    assert session.size == 25
    rows = Assignment.objects.filter(session=session)
    assert {(a.way, a.reader_id) for a in rows} == {(Assignment.Way.SESSION, reader.pk)}
    assert set(Exam.objects.filter(pk__in=[e.pk for e in expected]).values_list("state", flat=True)) == {
        ExamState.ASSIGNED
    }
    for exam in own_l1 + held + priority(others)[24:]:
        exam.refresh_from_db()
        assert exam.state == ExamState.QUEUED, exam

    # The worklist: the session panel, the 25 exams marked, the urgent one first.
    assert re.search(r"Session de 25 examens démarrée le", page)
    assert "0 / 25 lus" in page
    assert page.count('data-testid="session-exam"') == 25
    first_row = page.split('data-testid="session-exam"', 1)[1]
    assert urgent[0].participant.programme_id in first_row.split("</tr>", 1)[0]
    assert f'href="{reverse("readings:read", args=[urgent[0].pk])}" data-testid="session-resume"' in page
    assert "Démarrer une session" not in page
    assert AuditEvent.objects.filter(
        actor=reader,
        action=AuditEvent.Action.QUEUE_CHANGE,
        object_ref=f"session {session.pk} démarrée : 25 / 25 examens reçus",
    ).exists()


def test_a_session_stays_within_the_daily_capacity_and_says_why(client, world):
    reader = reader_at(world.site, daily_capacity=10)
    queued_rows(world, list(range(2, 32)))
    login(client, reader)

    page = start(client, 25)

    assert (
        "Session démarrée : 10 examens reçus sur 25 demandés (votre capacité du jour est atteinte)." in page
    )
    assert len(session_exam_ids(reader)) == 10
    assert ReaderLoad.objects.get(reader=reader, period=ReaderLoad.Period.DAY).assigned == 10
    assert Exam.objects.filter(state=ExamState.QUEUED).count() == 20


def test_an_empty_queue_opens_no_session(client, world):
    reader = reader_at(world.site)
    login(client, reader)
    page = start(client, 50)
    assert (
        "Aucun examen reçu : la file L2 ne contient pas d'autre examen que vous puissiez lire. "
        "La session n'a pas été ouverte." in page
    )
    assert not ReadingSession.objects.filter(state=ReadingSession.State.ACTIVE).exists()
    assert "Démarrer une session" in page  # the reader can try again later


def test_one_session_at_a_time_and_bad_sizes_are_refused_in_french(client, world):
    reader = reader_at(world.site)
    queued_rows(world, list(range(2, 40)))
    login(client, reader)
    for bad in ("30", "abc", ""):
        page = start(client, bad)
        assert "Une session compte 25, 50 ou 100 examens." in page
    assert not ReadingSession.objects.exists()
    assert client.get(START).status_code == 405

    start(client, 25)
    page = start(client, 25)  # a second click, or a second tab
    assert "Une session est déjà en cours : terminez-la d'abord." in page
    assert ReadingSession.objects.filter(reader=reader).count() == 1
    assert len(session_exam_ids(reader)) == 25
    assert Exam.objects.filter(state=ExamState.QUEUED).count() == 38 - 25


def test_after_a_verdict_the_next_session_exam_opens_then_the_rest_of_the_worklist(client, world):
    reader = reader_at(world.site)
    earlier = queued_readable(world, days_ago=12)  # given directly, outside the session, earliest deadline
    exam_assign(exam_id=earlier.pk, actor=None, reader=reader)
    first, second = queued_readable(world, days_ago=6), queued_readable(world, days_ago=5)
    login(client, reader)
    assert "Session démarrée : 2 examens reçus sur 25 demandés" in start(client, 25)

    read_page = page_text(client.get(reverse("readings:read", args=[first.pk])))
    assert "Session : 0 / 2 lus" in read_page
    response = client.post(
        reverse("readings:read", args=[first.pk]), {"verdict": "NORMAL", "acr_right": "1", "acr_left": "1"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("readings:read", args=[second.pk])  # the session before `earlier`
    assert "Session : 1 / 2 lus" in page_text(client.get(response["Location"]))

    response = client.post(
        reverse("readings:read", args=[second.pk]),
        {"verdict": "NORMAL", "acr_right": "1", "acr_left": "1"},
        follow=True,
    )
    assert response.redirect_chain[0] == (reverse("readings:read", args=[earlier.pk]), 302)
    page = page_text(response)
    assert "Tous les examens de la session sont lus : vous pouvez terminer la session." in page
    assert "Session : 2 / 2 lus" in page
    worklist = page_text(client.get(WORKLIST))
    assert "2 / 2 lus" in worklist and "Tous les examens de la session sont lus." in worklist
    assert 'data-testid="session-resume"' not in worklist


def test_ending_returns_unread_exams_to_the_queue_and_keeps_read_ones(client, world):
    reader = reader_at(world.site)
    read, opened = queued_readable(world, days_ago=8), queued_readable(world, days_ago=7)
    untouched = queued_rows(world, [10, 11, 12])
    login(client, reader)
    start(client, 25)
    session = ReadingSession.objects.get(reader=reader)
    client.post(
        reverse("readings:read", args=[read.pk]), {"verdict": "NORMAL", "acr_right": "1", "acr_left": "1"}
    )
    client.get(reverse("readings:read", args=[opened.pk]))  # opened, not read
    opened.refresh_from_db()
    assert opened.state == ExamState.IN_READING

    response = client.post(reverse("readings:session_end", args=[session.pk]), follow=True)

    page = page_text(response)
    assert "Session terminée : 4 examens non lus rendus à la file." in page
    assert "Démarrer une session" in page and 'data-testid="session-exam"' not in page
    assert "Aucun examen à lire." in page
    session.refresh_from_db()
    assert session.state == ReadingSession.State.ENDED and session.ended_at is not None
    read.refresh_from_db()
    assert read.state == ExamState.L2_NEGATIVE
    back = [opened, *untouched]
    assert set(Exam.objects.filter(pk__in=[e.pk for e in back]).values_list("state", flat=True)) == {
        ExamState.QUEUED
    }
    released = Assignment.objects.filter(session=session, state=Assignment.State.RELEASED)
    assert sorted(released.values_list("exam_id", flat=True)) == sorted(e.pk for e in back)
    assert set(released.values_list("release_code", flat=True)) == {"SESSION"}
    assert Assignment.objects.get(session=session, exam=read).state == Assignment.State.COMPLETED
    assert ReaderLoad.objects.get(reader=reader, period=ReaderLoad.Period.DAY).assigned == 1
    assert AuditEvent.objects.filter(
        actor=reader, object_ref=f"session {session.pk} terminée : 4 examens non lus rendus à la file"
    ).exists()

    again = page_text(client.post(reverse("readings:session_end", args=[session.pk]), follow=True))
    assert "Cette session est déjà terminée." in again


def test_another_reader_cannot_end_a_session(client, world):
    reader, other = reader_at(world.site), reader_at(SiteFactory())
    queued_rows(world, [3, 4, 5])
    login(client, reader)
    start(client, 25)
    session = ReadingSession.objects.get(reader=reader)
    login(client, other)

    assert client.post(reverse("readings:session_end", args=[session.pk])).status_code == 404
    assert client.post(reverse("readings:session_end", args=[session.pk + 1000])).status_code == 404

    session.refresh_from_db()
    assert session.state == ReadingSession.State.ACTIVE
    assert len(session_exam_ids(reader)) == 3
    assert not Exam.objects.filter(state=ExamState.QUEUED).exists()
    coord = coordinator()
    login(client, coord)
    assert client.post(reverse("readings:session_end", args=[session.pk])).status_code == 403
