"""Done-when of issue 6, in Chromium and in French: a coordinator follows an L2-positive exam from the verdict to
its closure — doctor's and L1 letters printed and sent, the woman's letter the next day, the deferred work-up and
the histology keyed in from paper — and reads each step on the exam's follow-up page."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from readings.services.assignment import exam_assign
from readings.services.l2_reading import FindingInput, l2_reading_submit
from screening.models import ExamOutcome, Letter, ParticipantDoctor
from screening.services.letters import letters_generate_due
from tests.factories import PracticeFactory, SiteFactory, coordinator, l1_of, queued_exam, reader_at, staff_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def print_and_send(page):
    page.goto("/coordination/courriers/")
    page.locator("[data-select-all]").check()
    with page.expect_navigation():
        page.get_by_test_id("print-selection").click()
    with page.expect_navigation():
        page.get_by_test_id("batch-mark-sent").click()
    expect(page.locator(".messages")).to_contain_text("marqué(s) comme envoyé(s)")


def test_a_positive_exam_from_verdict_to_closed(page, login, shots_dir):
    practice = PracticeFactory(name="Cabinet des Célestins", town="Vichy")
    secretary = coordinator(first_name="Agnès", last_name="Secrétariat")
    reader = reader_at(SiteFactory())
    exam = queued_exam(practice=practice, staff=staff_of(practice), l1=l1_of(practice), days_ago=6)
    ParticipantDoctor.objects.create(participant=exam.participant, kind="GP", name="Dr Dupuis", town="Vichy")
    exam_assign(exam_id=exam.pk, actor=None, reader=reader)
    finding = FindingInput(side="G", lesion_type="C", quadrant="QSE", acr=0, clock=2)
    l2_reading_submit(exam_id=exam.pk, reader=reader, verdict="ANOMALY", findings=[finding], undo_seconds=0)
    letters_generate_due()  # the beat task, every 5 minutes
    follow = f"/coordination/examens/{exam.pk}/suivi/"

    login(page, secretary.username)
    page.goto(follow)
    expect(page.get_by_test_id("follow-state")).to_have_text("L2 positive")
    expect(page.get_by_test_id("follow-policy")).to_contain_text("FR-2006")
    expect(page.get_by_test_id("follow-next")).to_contain_text("prêt à imprimer")

    print_and_send(page)  # the doctor's letter and the L1 practice's, day 0
    page.goto(follow)
    expect(page.get_by_test_id("follow-state")).to_have_text("Courriers envoyés")
    expect(page.get_by_test_id("follow-next")).to_contain_text(
        "programmé, pas avant le"
    )  # the woman's, +24 h

    # The next day: the woman's letter is due (R-LET-1, 24–48 h after the doctor's).
    Letter.objects.filter(exam=exam, kind="POS-F").update(not_before=timezone.now() - dt.timedelta(minutes=1))
    letters_generate_due()
    print_and_send(page)
    page.goto(follow)
    expect(page.get_by_test_id("follow-state")).to_have_text("Bilan différé attendu")

    # The BDD form arrives on paper: the secretariat keys it in.
    page.get_by_test_id("follow-entry").click()
    page.get_by_test_id("link-work-up").click()
    page.get_by_label("Radiologue ayant réalisé le bilan").fill("Dr Lemaire")
    page.get_by_label("Date du bilan").fill((timezone.localdate() - dt.timedelta(days=1)).isoformat())
    page.get_by_label("Échographie").check()
    page.get_by_label("ACR final sein droit").select_option("1")
    page.get_by_label("ACR final sein gauche").select_option("4")
    page.get_by_label("Prélèvement histologique").check()
    page.get_by_test_id("save-work-up").click()
    expect(page.get_by_test_id("exam-state")).to_have_text("Histologie attendue")

    page.get_by_test_id("link-histology").click()
    page.get_by_label("Sein gauche").check()
    page.get_by_label("Date du prélèvement").fill(timezone.localdate().isoformat())
    page.get_by_label("Malin").check()
    page.get_by_label("Invasion (cancer)").select_option("INVASIVE")
    page.get_by_label("Taille (mm)").fill("8")
    page.get_by_label("pN").fill("pN0")
    page.get_by_test_id("save-histology").click()
    expect(page.get_by_test_id("exam-state")).to_have_text("Clos")

    page.goto(follow)
    expect(page.get_by_test_id("follow-result")).to_contain_text("Positif en seconde lecture")
    expect(page.get_by_test_id("follow-result")).to_contain_text("clos : Cancer")
    expect(page.get_by_test_id("follow-letters")).to_contain_text("Examens complémentaires — femme")
    page.screenshot(path=str(shots_dir / "outcome-journey.png"), full_page=True)
    outcome = ExamOutcome.objects.get(exam=exam)
    assert (outcome.cancer, outcome.cancer_size_mm, outcome.cancer_node_negative) == (True, 8, True)
    assert outcome.woman_letter_at > outcome.doctor_letter_at and outcome.bdd_received_at is not None
