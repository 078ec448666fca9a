"""Follow-up pages: the practice's 'Bilans à renseigner' and forms (own exams only, 404 otherwise), the
secretariat's paper entry, board and interval cancer form; French messages; every page audited."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from screening.models import AuditEvent, IntervalCancer, Treatment, WorkUp
from screening.services.followup import histology_record, work_up_record
from tests.factories import PASSWORD, SiteFactory, reader_at
from tests.screening.test_followup_support import (
    S,
    World,
    bdd,
    bdd_pending_exam,
    l1_positive_exam,
    malignant,
    negative_exam,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture
def world() -> World:
    return World()


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def bdd_post(**overrides) -> dict:
    data = {
        "origin": "POS_L2",
        "radiologist_name": "Dr Lemaire",
        "performed_on": (TODAY() - dt.timedelta(days=1)).isoformat(),
        "exams_done": ["MAM", "ECH"],
        "acr_right": "2",
        "acr_left": "1",
        "conduct": "DEP",
        "report": "",
    }
    data.update(overrides)
    return data


def audited(user, exam=None) -> list[str]:
    rows = AuditEvent.objects.filter(actor=user)
    if exam is not None:
        rows = rows.filter(exam=exam)
    return list(rows.order_by("pk").values_list("object_ref", flat=True))


def test_practice_worklist_lists_its_own_waiting_exams_oldest_first(client, world):
    newer = bdd_pending_exam(world, days_ago=20)
    older = l1_positive_exam(world, acr=4, days_ago=95)
    foreign = bdd_pending_exam(world, days_ago=50, practice=world.other_practice)
    page = login(client, world.staff).get(reverse("followup:worklist")).content.decode()
    rows = re.findall(r'<tr data-exam="(\d+)"', page)
    assert rows == [str(older.pk), str(newer.pk)]
    assert str(foreign.pk) not in rows and foreign.participant.last_name not in page
    days = re.findall(r'data-testid="days-since">(\d+)<', page)
    assert days == ["95", "20"]
    assert "Bilans à renseigner" in page and "Saisir l'histologie" in page
    assert audited(world.staff) == ["suivi : bilans à renseigner"]


def test_practice_enters_its_bdd_through_the_form(client, world):
    exam = bdd_pending_exam(world)
    login(client, world.l1)
    form_url = reverse("followup:work_up", args=[exam.pk])
    page = client.get(form_url).content.decode()
    assert "Fiche de bilan de diagnostic différé (BDD)" in page and 'name="conduct"' in page
    response = client.post(form_url, bdd_post())
    assert response.status_code == 302
    assert response["Location"] == reverse("followup:exam", args=[exam.pk])
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    assert WorkUp.objects.get(exam=exam).source == "PRACTICE"
    detail = client.get(response["Location"]).content.decode()
    assert "Échographie" in detail and "Faux positif" in detail
    assert audited(world.l1, exam) == ["suivi : fiche BDD", "suivi : fiche de suivi"]


def test_incoherent_bdd_shows_the_french_message_and_stores_nothing(client, world):
    exam = bdd_pending_exam(world)
    login(client, world.staff)
    response = client.post(
        reverse("followup:work_up", args=[exam.pk]), bdd_post(acr_right="4", conduct="DEP")
    )
    assert response.status_code == 200
    assert "Un ACR 4 ou 5 appelle un prélèvement histologique ou une chirurgie." in response.content.decode()
    response = client.post(
        reverse("followup:work_up", args=[exam.pk]),
        bdd_post(performed_on=(TODAY() + dt.timedelta(days=2)).isoformat()),
    )
    assert "La date du bilan est dans le futur." in response.content.decode()
    exam.refresh_from_db()
    assert exam.state == S.BDD_PENDING and not WorkUp.objects.exists()


def test_another_practice_gets_404_on_every_follow_up_page(client, world):
    exam = bdd_pending_exam(world)
    login(client, world.other_staff)
    for name in ("exam", "work_up", "histology", "treatment"):
        assert client.get(reverse(f"followup:{name}", args=[exam.pk])).status_code == 404
    assert client.post(reverse("followup:work_up", args=[exam.pk]), bdd_post()).status_code == 404
    exam.refresh_from_db()
    assert exam.state == S.BDD_PENDING
    assert client.get(reverse("followup:board")).status_code == 403
    assert client.get(reverse("followup:interval_cancer", args=[exam.pk])).status_code == 403


def test_readers_have_no_follow_up_pages(client, world):
    reader = reader_at(SiteFactory())
    login(client, reader)
    assert client.get(reverse("followup:worklist")).status_code == 403


def test_secretariat_enters_from_paper_for_any_practice(client, world):
    ours = bdd_pending_exam(world, days_ago=40)
    theirs = bdd_pending_exam(world, days_ago=30, practice=world.other_practice)
    login(client, world.secretariat)
    page = client.get(reverse("followup:worklist")).content.decode()
    assert re.findall(r'<tr data-exam="(\d+)"', page) == [str(ours.pk), str(theirs.pk)]
    filtered = client.get(reverse("followup:worklist"), {"cabinet": world.other_practice.pk}).content.decode()
    assert re.findall(r'<tr data-exam="(\d+)"', filtered) == [str(theirs.pk)]
    form = client.get(reverse("followup:work_up", args=[theirs.pk])).content.decode()
    assert 'data-testid="paper-notice"' in form
    client.post(reverse("followup:work_up", args=[theirs.pk]), bdd_post(acr_right="3", conduct="SURV"))
    theirs.refresh_from_db()
    assert theirs.state == S.SURVEILLANCE
    work_up = WorkUp.objects.get(exam=theirs)
    assert (work_up.source, work_up.entered_by) == ("PAPER", world.secretariat)


def test_histology_and_treatment_forms(client, world):
    exam = l1_positive_exam(world, acr=5)
    login(client, world.l1)
    url = reverse("followup:histology", args=[exam.pk])
    data = {"side": "D", "sampled_on": TODAY().isoformat(), "nature": "MALIGNANT", "invasiveness": "",
            "size_mm": "14", "grade": "2", "pt": "pT1c", "pn": "pN0", "m": "", "er": "true", "pr": "false",
            "her2": "", "adicap": "", "adicap_2": ""}  # fmt: skip
    page = client.post(url, data).content.decode()
    assert "Un cancer est in situ ou invasif : précisez-le." in page
    data["invasiveness"] = "INVASIVE"
    assert client.post(url, data).status_code == 302
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    histology = exam.histologies.get()
    assert (histology.er, histology.pr, histology.her2, histology.grade) == (True, False, None, 2)
    treatment_url = reverse("followup:treatment", args=[exam.pk])
    assert "Indiquez au moins une date de traitement." in client.post(treatment_url, {}).content.decode()
    surgery = TODAY() - dt.timedelta(days=1)
    assert client.post(treatment_url, {"surgery_on": surgery.isoformat()}).status_code == 302
    assert Treatment.objects.get(exam=exam).surgery_on == surgery
    page = client.get(treatment_url).content.decode()
    assert f'value="{surgery.isoformat()}"' in page  # the form shows what was saved


def test_board_counts_overdue_and_lost(client, world):
    overdue = bdd_pending_exam(world, days_ago=120)
    bdd_pending_exam(world, days_ago=10)
    lost = l1_positive_exam(world, acr=5, days_ago=400)
    from screening.services.followup_timers import follow_up_timers_run

    follow_up_timers_run()
    login(client, world.secretariat)
    page = client.get(reverse("followup:board")).content.decode()
    counts = dict(re.findall(r'data-state="(\w+)"><span[^>]*>[^<]*</span> <b>(\d+)</b>', page))
    assert counts == {
        "BDD_PENDING": "2",
        "SURVEILLANCE": "0",
        "HISTOLOGY_PENDING": "0",
        "LOST_TO_FOLLOW_UP": "1",
    }
    overdue_table = page.split('data-testid="overdue"')[1].split("</table>")[0]
    assert re.findall(r'data-exam="(\d+)"', overdue_table) == [str(overdue.pk)]
    lost_table = page.split('data-testid="lost"')[1].split("</table>")[0]
    assert re.findall(r'data-exam="(\d+)"', lost_table) == [str(lost.pk)]
    assert audited(world.secretariat) == ["suivi : tableau de suivi"]


def test_interval_cancer_reached_by_exam_number(client, world):
    exam = negative_exam(world, days_ago=200)
    positive = bdd_pending_exam(world)
    login(client, world.secretariat)
    response = client.get(reverse("followup:interval_lookup"), {"examen": exam.pk})
    assert response["Location"] == reverse("followup:interval_cancer", args=[exam.pk])
    bad = client.get(reverse("followup:interval_lookup"), {"examen": "abc"}).content.decode()
    assert "Saisissez le numéro de l&#x27;examen (chiffres uniquement)." in bad
    refused = client.get(reverse("followup:interval_cancer", args=[positive.pk])).content.decode()
    assert 'data-testid="not-negative"' in refused and 'name="diagnosed_on"' not in refused
    url = reverse("followup:interval_cancer", args=[exam.pk])
    late = {"diagnosed_on": exam.mammogram_date.isoformat(), "side": "G", "invasiveness": "INSITU"}
    assert "au plus tard 24 mois après" in client.post(url, late).content.decode()
    ok = {**late, "diagnosed_on": TODAY().isoformat(), "size_mm": "8", "source": "Gynécologue"}
    assert client.post(url, ok).status_code == 302
    cancer = IntervalCancer.objects.get(exam=exam)
    assert (cancer.invasiveness, cancer.size_mm, cancer.source) == ("INSITU", 8, "Gynécologue")
    assert audited(world.secretariat, exam) == ["suivi : cancer de l'intervalle"]  # the refused POST
    assert audited(world.secretariat, positive) == ["suivi : cancer de l'intervalle"]


def test_exam_page_offers_the_forms_that_apply(client, world):
    exam = bdd_pending_exam(world)
    work_up_record(exam_id=exam.pk, actor=world.l1, **bdd(acr_right=4, exams_done=["PMI"], conduct="BIO"))
    login(client, world.staff)
    page = client.get(reverse("followup:exam", args=[exam.pk])).content.decode()
    assert 'data-testid="link-histology"' in page and 'data-testid="link-work-up"' not in page
    history = page.split('data-testid="status-history"')[1]
    assert "(CRCDC)" in history and str(world.secretariat) not in history  # the practice sees "CRCDC"
    histology_record(exam_id=exam.pk, actor=world.l1, **malignant())
    page = client.get(reverse("followup:exam", args=[exam.pk])).content.decode()
    assert 'data-testid="link-treatment"' in page and "Ajouter une histologie (autre sein)" in page
    assert "pT1c pN0 M0" in page
