"""A second reader's reading session in a real browser: ask for 25 exams, read one, end, the rest goes back."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from readings.models import Assignment, ReadingSession
from screening.models import AuditEvent, Exam, ExamState
from tests.factories import (
    ParticipantFactory,
    PracticeFactory,
    SiteFactory,
    UserFactory,
    l1_of,
    reader_at,
    staff_of,
    submitted_exam,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def at(path_pattern: str) -> re.Pattern:
    return re.compile(r"^https?://[^/]+" + path_pattern)


def commit(page) -> None:
    with page.expect_navigation():
        page.get_by_test_id("commit-verdict").click()


def test_reader_starts_a_session_reads_one_exam_and_ends_it(page, login, shots_dir):
    practice = PracticeFactory(name="Cabinet des Tilleuls", town="Vichy")
    staff, l1 = staff_of(practice), l1_of(practice)
    # Submitted while no reader exists yet: they wait in the queue, earliest deadlines of all.
    first, second, third = (
        submitted_exam(practice=practice, staff=staff, l1=l1, days_ago=days) for days in (10, 9, 8)
    )
    assert {first.state, second.state, third.state} == {ExamState.QUEUED}
    today = timezone.localdate()
    for i in range(27):  # later deadlines; images are not needed to be handed out
        due = today + dt.timedelta(days=8 + i % 5)
        Exam.objects.create(
            participant=ParticipantFactory(),
            practice=practice,
            l1_radiologist=l1,
            created_by=staff,
            mammogram_date=due - dt.timedelta(days=15),
            due_at=due,
            state=ExamState.QUEUED,
        )
    reader = reader_at(
        SiteFactory(), user=UserFactory(username="dr.session", first_name="Inès", last_name="Lamarque")
    )

    login(page, reader.username)
    expect(page).to_have_url(at(r"/lecture/$"))
    expect(page.get_by_test_id("worklist")).to_contain_text("Aucun examen à lire.")
    expect(page.locator("input[name=size][value='20']")).to_be_checked()  # the spec's default séance (F2)
    page.locator("input[name=size][value='25']").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Démarrer une session").click()

    expect(page.locator(".messages")).to_contain_text("Session démarrée : 25 examens reçus.")
    panel = page.get_by_test_id("session-panel")
    expect(panel).to_contain_text("Session de 25 examens démarrée le")
    expect(page.get_by_test_id("session-count")).to_have_text("0 / 25 lus")
    expect(page.get_by_test_id("session-exam")).to_have_count(25)
    expect(page.get_by_test_id("session-exam").first).to_contain_text(first.participant.programme_id)
    expect(page.get_by_role("button", name="Démarrer une session")).to_have_count(0)
    page.screenshot(path=str(shots_dir / "session-started.png"), full_page=True)

    page.get_by_test_id("session-resume").click()
    expect(page).to_have_url(at(rf"/lecture/examen/{first.pk}/$"))
    expect(page.get_by_test_id("session-progress")).to_have_text("Session : 0 / 25 lus")
    page.check("input[name=verdict][value=NORMAL]")
    commit(page)
    expect(page.locator(".messages")).to_contain_text(
        f"Examen {first.participant.programme_id} — seconde lecture enregistrée : Normal"
    )
    expect(page).to_have_url(at(rf"/lecture/examen/{second.pk}/$"))  # the next exam of the session
    expect(page.get_by_test_id("session-progress")).to_have_text("Session : 1 / 25 lus")

    page.get_by_role("link", name="Ma liste de lecture").click()
    expect(page).to_have_url(at(r"/lecture/$"))
    expect(page.get_by_test_id("session-count")).to_have_text("1 / 25 lus")
    expect(page.get_by_test_id("session-bar")).to_have_attribute("value", "1")
    expect(page.get_by_test_id("session-exam")).to_have_count(24)
    expect(page.get_by_test_id("session-resume")).to_have_attribute("href", f"/lecture/examen/{second.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Terminer la session").click()

    expect(page.locator(".messages")).to_contain_text(
        "Session terminée : 24 examens non lus rendus à la file."
    )
    expect(page.get_by_test_id("worklist")).to_contain_text("Aucun examen à lire.")
    expect(page.get_by_role("button", name="Démarrer une session")).to_be_visible()
    expect(page.locator("ul.done")).to_contain_text(first.participant.programme_id)
    page.screenshot(path=str(shots_dir / "session-ended.png"), full_page=True)

    session = ReadingSession.objects.get(reader=reader)
    assert session.state == ReadingSession.State.ENDED
    first.refresh_from_db()
    assert first.state == ExamState.L2_NEGATIVE
    released = Assignment.objects.filter(session=session, state=Assignment.State.RELEASED)
    assert released.count() == 24
    assert set(Exam.objects.filter(pk__in=released.values("exam_id")).values_list("state", flat=True)) == {
        ExamState.QUEUED
    }  # the opened second exam too
    assert Exam.objects.filter(state=ExamState.QUEUED).count() == 29
    assert not Assignment.objects.filter(reader=reader, state=Assignment.State.ACTIVE).exists()
    assert (
        AuditEvent.objects.filter(
            actor=reader,
            action=AuditEvent.Action.QUEUE_CHANGE,
            object_ref__startswith=f"session {session.pk} ",
        ).count()
        == 2
    )
