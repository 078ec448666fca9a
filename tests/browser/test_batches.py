"""A coordinator builds a batch from a practice filter, previews and confirms it, gives it to a second reader
(preview, then confirm) and follows its progress, in a real browser."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from readings.models import Assignment, Batch
from readings.services.l2_reading import l2_reading_open, l2_reading_submit
from screening.models import Exam, ExamState
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


def _queued(*, practice, l1, staff, n: int) -> list[Exam]:
    today = timezone.localdate()
    return [
        Exam.objects.create(
            participant=ParticipantFactory(),
            practice=practice,
            l1_radiologist=l1,
            mammogram_date=today - dt.timedelta(days=4),
            due_at=today + dt.timedelta(days=8 + i),
            state=ExamState.QUEUED,
            created_by=staff,
        )
        for i in range(n)
    ]


def test_coordinator_builds_a_batch_assigns_it_with_previews_and_follows_its_progress(page, login, shots_dir):
    tilleuls, other = PracticeFactory(name="Cabinet des Tilleuls"), PracticeFactory(name="Cabinet du Parc")
    staff = staff_of(tilleuls)
    reader = reader_at(
        SiteFactory(name="Site de Moulins"),
        user=UserFactory(username="dr.vasseur", first_name="Hélène", last_name="Vasseur"),
    )
    l1 = l1_of(tilleuls)
    mine = _queued(practice=tilleuls, l1=l1, staff=staff, n=3)
    # One Tilleuls exam was first-read by the second reader herself: she can never second-read it (R-COI-1).
    own = _queued(practice=tilleuls, l1=reader, staff=staff, n=1)[0]
    elsewhere = _queued(practice=other, l1=l1_of(other), staff=staff_of(other), n=2)
    coord = coordinator(username="coord.allier", first_name="Nadia", last_name="Coordo")

    login(page, coord.username)
    page.goto("/coordination/lots/nouveau/")
    page.select_option("#id_practice", str(tilleuls.pk))
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_test_id("match-count")).to_have_text("4 examens correspondent aux filtres")
    table = page.get_by_test_id("matching-exams")
    expect(table).to_contain_text(mine[0].participant.programme_id)
    expect(table).not_to_contain_text(elsewhere[0].participant.programme_id)
    page.screenshot(path=str(shots_dir / "batch-new.png"), full_page=True)

    page.fill("#id_name", "Tilleuls mars")
    with page.expect_navigation():
        page.get_by_role("button", name="Prévisualiser le lot").click()
    expect(page.get_by_test_id("preview-summary")).to_contain_text("4 examens seront mis dans le lot")
    assert not Batch.objects.exists()  # a preview only
    with page.expect_navigation():
        page.get_by_role("button", name="Confirmer").click()
    expect(page).to_have_url(re.compile(r"/coordination/lots/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("Lot « Tilleuls mars » créé : 4 examen(s).")
    expect(page.get_by_test_id("batch-state")).to_have_text("En préparation")
    expect(page.get_by_test_id("progress")).to_have_text("0 / 4 lus")

    options = page.locator("#id_reader option").all_inner_texts()
    assert any(
        re.search(r"Hélène Vasseur \(Site de Moulins\) — reste 120/120 aujourd'hui", o) for o in options
    )
    page.select_option("#id_reader", str(reader.pk))
    with page.expect_navigation():
        page.get_by_role("button", name="Prévisualiser l'attribution").click()
    preview = page.get_by_test_id("preview")
    expect(preview.get_by_test_id("preview-assigned")).to_have_text(
        "3 examens seront attribués à Dr Hélène Vasseur"
    )
    expect(preview.get_by_test_id("preview-refused")).to_contain_text("1 examen refusé")
    expect(preview.locator("table.refused")).to_contain_text(own.participant.programme_id)
    expect(preview.locator("table.refused")).to_contain_text("radiologue L1 de l'examen (R-COI-1)")
    expect(preview.get_by_test_id("preview-capacity")).to_contain_text("117 aujourd'hui, 497 cette semaine")
    page.screenshot(path=str(shots_dir / "batch-assign-preview.png"), full_page=True)
    assert not Assignment.objects.exists()

    with page.expect_navigation():
        preview.get_by_role("button", name="Confirmer").click()
    expect(page.locator(".messages")).to_contain_text("3 examen(s) attribué(s), 1 rendu(s) à la file.")
    expect(page.get_by_test_id("batch-state")).to_have_text("Attribué")
    expect(page.get_by_test_id("batch-reader")).to_have_text("Dr Hélène Vasseur")
    expect(page.get_by_test_id("progress")).to_have_text("0 / 3 lus")

    # The reader reads one exam of the batch; the coordinator sees it on the batch and in the list.
    l2_reading_open(exam_id=mine[0].pk, reader=reader)
    l2_reading_submit(exam_id=mine[0].pk, reader=reader, verdict="NORMAL")
    page.reload()
    expect(page.get_by_test_id("progress")).to_have_text("1 / 3 lus")
    expect(page.get_by_test_id("batch-items")).to_contain_text("L2 négative")
    page.goto("/coordination/lots/")
    row = page.get_by_test_id(f"batch-{Batch.objects.get().pk}")
    expect(row).to_contain_text("Tilleuls mars")
    expect(row.get_by_test_id("progress")).to_have_text("1 / 3 lus")
    page.screenshot(path=str(shots_dir / "batch-list.png"), full_page=True)
