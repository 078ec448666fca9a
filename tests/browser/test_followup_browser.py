"""The follow-up pages in Chromium (no JavaScript needed): the L1 radiologist fills the BDD form from
'Bilans à renseigner', is told in French what is incoherent, fixes it, and the exam closes; the secretariat's
board shows the counts. Screenshots go to $L2_SHOTS_DIR (default /tmp/l2-shots)."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.screening.test_followup_support import World, bdd_pending_exam, l1_positive_exam

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_l1_radiologist_enters_a_bdd_and_the_secretariat_sees_the_board(page, login, shots_dir):
    world = World()
    exam = bdd_pending_exam(world, days_ago=100)
    l1_positive_exam(world, acr=3, days_ago=250)  # a surveillance check overdue on the board
    login(page, world.l1.username)
    page.goto("/suivi/")
    assert page.locator("[data-testid=followup-worklist] tbody tr").count() == 2
    page.screenshot(path=str(shots_dir / "followup_worklist.png"), full_page=True)
    page.locator(f"tr[data-exam='{exam.pk}']").get_by_role("link", name="Saisir le bilan").click()
    page.get_by_label("Radiologue ayant réalisé le bilan").fill("Dr Lemaire")
    page.get_by_label("Date du bilan").fill((timezone.localdate() - dt.timedelta(days=3)).isoformat())
    page.get_by_label("Échographie").check()
    page.get_by_label("ACR final sein droit").select_option("4")
    page.get_by_label("ACR final sein gauche").select_option("1")
    page.get_by_label("Retour au dépistage").check()
    page.get_by_test_id("save-work-up").click()
    error = page.locator(".field.has-error .error")
    assert error.inner_text() == "Un ACR 4 ou 5 appelle un prélèvement histologique ou une chirurgie."
    page.screenshot(path=str(shots_dir / "followup_bdd_error.png"), full_page=True)
    page.get_by_label("Prélèvement histologique").check()
    page.get_by_test_id("save-work-up").click()
    assert page.get_by_test_id("exam-state").inner_text() == "Histologie attendue"
    assert page.get_by_test_id("link-histology").is_visible()
    page.screenshot(path=str(shots_dir / "followup_exam.png"), full_page=True)

    login(page, world.secretariat.username)
    page.goto("/suivi/tableau/")
    assert page.locator("[data-state=HISTOLOGY_PENDING] b").inner_text() == "1"
    assert page.locator("[data-testid=late-checks] tbody tr[data-exam]").count() == 1
    page.screenshot(path=str(shots_dir / "followup_board.png"), full_page=True)
