"""Keyed entry of a lightbox session in a real browser, keyboard only: the first row has the focus, Space picks
« Normal », Enter records the row, and the next row takes the focus (no JavaScript needed)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from readings.models import L2Reading
from readings.services.films import lightbox_session_book, lightbox_session_create
from screening.models import ExamState
from tests.browser.conftest import SHOTS, _login
from tests.readings.test_films import make_world, register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_secretariat_keys_in_a_session_with_the_keyboard(page):
    world = make_world()
    first, second = register(world), register(world)
    session = lightbox_session_create(
        site=world.site, reader=world.reader, scheduled_on=timezone.localdate(), actor=world.secretary
    )
    lightbox_session_book(session_id=session.pk, exam_ids=[first.pk, second.pk], actor=world.secretary)
    _login(page, world.secretary.username)
    page.goto(f"/coordination/films/seances/{session.pk}/")
    expect(page.locator(f"#id_e{first.pk}-verdict_0")).to_be_focused()
    page.keyboard.press("Space")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(f"[data-testid=result-{first.pk}]")).to_contain_text("Normal")
    expect(page.locator(f"#id_e{second.pk}-verdict_0")).to_be_focused()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(f"[data-testid=row-{second.pk}] summary").click()
    page.screenshot(path=str(SHOTS / "films-session.png"), full_page=True)
    reading = L2Reading.objects.get(exam=first)
    assert (reading.reader, reading.keyed_by, reading.medium) == (world.reader, world.secretary, "FILM")
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.state, second.state) == (ExamState.L2_NEGATIVE, ExamState.ASSIGNED)
