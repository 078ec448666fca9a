"""A coordinator prints the ready letters (select all, batch PDF), marks them sent, then edits a template with
its live preview, in a real browser."""

import pytest
from playwright.sync_api import expect

from screening.models import Letter, LetterTemplate
from screening.services.letters import letters_generate_due, letters_plan
from tests.screening.letters_support import make_world, past

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_prints_marks_sent_and_edits_a_template(page, login, shots_dir):
    world = make_world()
    for code in ("63000", "03100"):
        exam = world.exam(verdict="NORMAL", woman=world.woman(postal_code=code))
        letters_plan(exam_id=exam.pk, kind="NEG-F", event_key="NEG", not_before=past(1))
    letters_generate_due()
    login(page, world.coordinator.username)

    page.goto("/coordination/courriers/")
    expect(page.get_by_test_id("letters-ready").locator("tbody tr")).to_have_count(2)
    page.locator("[data-select-all]").check()  # ticks every letter (progressive enhancement)
    expect(page.locator('input[name="letter"]:checked')).to_have_count(2)
    page.screenshot(path=str(shots_dir / "letters-ready.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_test_id("print-selection").click()
    expect(page.get_by_test_id("batch-download")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("batch-download").click()
    assert download.value.suggested_filename.endswith(".pdf")
    with page.expect_navigation():
        page.get_by_test_id("batch-mark-sent").click()
    expect(page.locator(".messages")).to_contain_text("2 courrier(s) marqué(s) comme envoyé(s).")
    assert set(Letter.objects.values_list("status", flat=True)) == {"SENT"}

    page.goto("/coordination/courriers/modeles/POS-F/")
    page.fill("#id_body", "<p>Madame,</p>\n{% if femme.nom %}\n<p>oubli du endif</p>")
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    expect(page.locator("[role=alert]").first).to_contain_text(
        "Texte, ligne 2 : la balise « if » n'est pas fermée"
    )
    page.fill(
        "#id_body", "<p>Madame {{ femme.nom }},</p>\n<p>Des examens complémentaires sont nécessaires.</p>"
    )
    page.get_by_test_id("preview").click()  # the PDF opens in the preview frame, nothing saved
    page.wait_for_timeout(500)
    assert LetterTemplate.objects.filter(kind="POS-F").count() == 1
    page.screenshot(path=str(shots_dir / "letters-template-edit.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    expect(page.locator(".messages")).to_contain_text("Version 2 enregistrée et mise en service.")
