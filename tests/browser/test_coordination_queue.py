"""The coordinator's L2 queue in a real browser: filter, pin an exam urgent, assign one, read the decision."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from readings.models import Alert, Assignment
from screening.models import AuditEvent, Exam, ExamState
from tests.factories import (
    ParticipantFactory,
    PracticeFactory,
    SiteFactory,
    UserFactory,
    coordinator,
    l1_of,
    reader_at,
    staff_of,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def queued(practice, l1, staff, programme_id: str, due_in: int) -> Exam:
    today = timezone.localdate()
    return Exam.objects.create(
        participant=ParticipantFactory(programme_id=programme_id),
        practice=practice,
        l1_radiologist=l1,
        created_by=staff,
        mammogram_date=today + dt.timedelta(days=due_in - 15),
        due_at=today + dt.timedelta(days=due_in),
        state=ExamState.QUEUED,
    )


def test_coordinator_filters_pins_assigns_and_reads_the_decision(page, login, shots_dir):
    vichy, moulins = SiteFactory(name="Site de Vichy"), SiteFactory(name="Site de Moulins")
    tilleuls = PracticeFactory(name="Cabinet des Tilleuls", home_site=vichy)
    other = PracticeFactory(name="Cabinet du Bourbonnais", home_site=moulins)
    staff = staff_of(tilleuls)
    l1 = l1_of(tilleuls, first_name="Paul", last_name="Premierlecteur")
    reader_at(vichy, user=l1)  # also a second reader: never for his own exams (R-COI-1)
    reader = reader_at(moulins, user=UserFactory(first_name="Hélène", last_name="Vasseur"))
    other_l1 = l1_of(other)
    coord = coordinator(username="coord.allier", first_name="Nadia", last_name="Coordo")
    first = queued(tilleuls, l1, staff, "03-2026-000001", due_in=2)
    second = queued(tilleuls, l1, staff, "03-2026-000002", due_in=6)
    last = queued(tilleuls, l1, staff, "03-2026-000003", due_in=11)
    queued(other, other_l1, staff_of(other), "03-2026-000099", due_in=1)

    login(page, coord.username)
    page.get_by_role("link", name="File L2", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("File de seconde lecture"))).to_be_visible()
    table = page.get_by_test_id("queue-table")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(page.get_by_test_id("heatmap")).to_be_visible()

    # Filter: one practice.
    page.get_by_label("Cabinet", exact=True).select_option(label=str(tilleuls))
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-programme", first.participant.programme_id)
    expect(table).not_to_contain_text("03-2026-000099")

    # Pin the last exam urgent: it moves to the top, the filter stays.
    row = table.locator(f'tr[data-exam="{last.pk}"]')
    with page.expect_navigation():
        row.get_by_role("button", name=re.compile("Épingler")).click()
    expect(page.locator(".messages")).to_contain_text("épinglé urgent")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-programme", last.participant.programme_id)
    expect(rows.first.get_by_role("button", name=re.compile("Urgent"))).to_be_visible()
    assert f"practice={tilleuls.pk}" in page.url

    # Assign the second exam to Dr Vasseur.
    row = table.locator(f'tr[data-exam="{second.pk}"]')
    row.locator("select[name=reader]").select_option(label=f"{reader} — Site de Moulins")
    with page.expect_navigation():
        row.get_by_role("button", name="Attribuer").click()
    expect(page.locator(".messages")).to_contain_text(f"attribué à {reader}")
    # Now assigned, it left the default view (queued exams only).
    expect(table.locator(f'tr[data-exam="{second.pk}"]')).to_have_count(0)
    assert Assignment.objects.get(exam=second).reader == reader
    page.screenshot(path=str(shots_dir / "coordination-queue.png"), full_page=True)

    # Its decision page, from the queue of all unread exams.
    page.get_by_label("État").select_option("OPEN")
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    row = table.locator(f'tr[data-exam="{second.pk}"]')
    expect(row).to_contain_text("Hélène Vasseur")
    with page.expect_navigation():
        row.get_by_role("link", name="Décision").click()
    expect(page.get_by_role("heading", name=re.compile("attribution en seconde lecture"))).to_be_visible()
    expect(page.get_by_text("Historique des attributions")).to_be_visible()
    expect(page.locator("[data-testid^=assignment-]")).to_contain_text("Coordination")
    expect(page.locator("[data-testid^=assignment-]")).to_contain_text(str(reader))
    eligibility = page.get_by_test_id("eligibility")
    expect(eligibility.locator(f'tr[data-reader="{l1.pk}"]')).to_contain_text(
        "radiologue L1 de l'examen (R-COI-1)"
    )
    expect(page.get_by_test_id("status-history")).to_contain_text("En file L2 → Attribué")
    page.screenshot(path=str(shots_dir / "coordination-decision.png"), full_page=True)
    assert AuditEvent.objects.filter(
        actor=coord, action=AuditEvent.Action.DASHBOARD_VIEW, exam=second
    ).exists()

    # The readers' loads: Dr Vasseur now has one unread assignment today.
    page.get_by_role("link", name="Lecteurs", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Seconds lecteurs"))).to_be_visible()
    vasseur = page.get_by_test_id("readers").locator(f'tr[data-reader="{reader.pk}"]')
    expect(vasseur.locator('[data-col="day"]')).to_have_text("1 / 120")
    expect(vasseur.locator('[data-col="open"]')).to_have_text("1")
    page.screenshot(path=str(shots_dir / "coordination-readers.png"), full_page=True)

    # An alert on an exam: seen ("Vu"), it stays listed until the situation is resolved.
    alert = Alert.objects.create(
        kind=Alert.Kind.OVERDUE, key="OVERDUE:test", exam=first, message="Délai dépassé."
    )
    page.get_by_role("link", name=re.compile(r"^Alertes")).click()
    expect(page.get_by_test_id("nav-alerts")).to_have_text("Alertes (1)")
    with page.expect_navigation():
        page.locator(f'tr[data-alert="{alert.pk}"]').get_by_role("button", name="Vu").click()
    expect(page.locator(".messages")).to_contain_text("Alerte marquée comme vue.")
    expect(page.locator(f'tr[data-alert="{alert.pk}"]')).to_contain_text("vue par Dr Nadia Coordo")
    expect(page.get_by_test_id("nav-alerts")).to_have_text("Alertes (0)")
    page.screenshot(path=str(shots_dir / "coordination-alerts.png"), full_page=True)
