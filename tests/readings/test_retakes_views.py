"""Retake pages: the practice's « Clichés à refaire » (upload without JavaScript, « Reprise complète », refusal),
the coordination's list, and the practice boundary (another practice gets 404)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from pydicom.uid import generate_uid

from readings.models import Retake
from readings.services.l2_reading import CtiInput
from readings.services.retakes import retake_timers_run
from screening.models import AuditEvent, DicomInstance, ExamOutcome, ExamState
from tests.factories import PASSWORD
from tests.readings.test_retakes import PDF, cti_exam, letters_sent, make_centre, view_file

pytestmark = pytest.mark.django_db(transaction=True)
S = ExamState


@pytest.fixture
def centre():
    return make_centre()


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_the_practice_list_shows_each_view_to_redo_with_the_days_left(client, centre, tmp_path):
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam, days_ago=10)
    login(client, centre["staff"])
    page = client.get(reverse("retakes:list")).content.decode()
    assert exam.participant.programme_id in page
    assert "Oblique externe (MLO) — Sein droit" in page
    assert "Flou cinétique" in page and "Refaire l&#x27;incidence" in page
    assert "Bien dégager le pectoral" in page
    assert "172 jours restants" in page
    assert str(centre["readers"][0]) not in page and str(centre["readers"][1]) not in page  # R-ANON-1
    assert AuditEvent.objects.filter(actor=centre["staff"], object_ref="clichés à refaire").exists()


def test_upload_without_javascript_then_complete_sends_the_exam_back_to_l2(client, centre, tmp_path):
    items = [CtiInput(side="D", view="MLO", reason="FLO"), CtiInput(side="G", view="CC", reason="CMP")]
    exam, _reader = cti_exam(centre, tmp_path, items=items)
    letters_sent(exam)
    login(client, centre["staff"])
    detail = reverse("retakes:detail", args=[exam.pk])
    page = client.get(detail).content.decode()
    assert 'enctype="multipart/form-data"' in page and "<noscript>" in page

    study = generate_uid()
    path = view_file(exam, tmp_path, "RMLO", study_uid=study, study_date=timezone.localdate(), seed=90)
    with path.open("rb") as fh:
        response = client.post(reverse("retakes:upload", args=[exam.pk]), {"files": [fh]})
    assert response.status_code == 302
    assert DicomInstance.objects.filter(exam=exam, slot="RMLO").count() == 2

    response = client.post(reverse("retakes:complete", args=[exam.pk]), follow=True)
    page = response.content.decode()
    assert "Reprise incomplète : aucune nouvelle image pour Face (CC) du sein gauche" in page
    exam.refresh_from_db()
    assert exam.state == S.RETAKE_PENDING

    path = view_file(exam, tmp_path, "LCC", study_uid=study, study_date=timezone.localdate(), seed=91)
    with path.open("rb") as fh:
        client.post(reverse("retakes:upload", args=[exam.pk]), {"files": [fh]})
    response = client.post(reverse("retakes:complete", args=[exam.pk]), follow=True)
    assert "Reprise complète" in response.content.decode()
    exam.refresh_from_db()
    assert exam.l2_round == 2 and exam.state in (S.QUEUED, S.ASSIGNED)


def test_refusal_form_with_a_statement_closes_the_exam(client, centre, tmp_path):
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam)
    login(client, centre["l1"])
    url = reverse("retakes:refuse", args=[exam.pk])
    response = client.post(url, {"refusal": "L1", "confirm": "on"})
    assert response.status_code == 400
    assert "joignez sa déclaration signée" in response.content.decode()
    statement = SimpleUploadedFile("refus.pdf", PDF, content_type="application/pdf")
    response = client.post(url, {"refusal": "L1", "confirm": "on", "statement": statement})
    assert response.status_code == 302
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    assert ExamOutcome.objects.get(exam=exam).closed_reason == "CTI_REFUSED"
    download = client.get(reverse("retakes:statement", args=[exam.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    page = client.get(reverse("retakes:detail", args=[exam.pk])).content.decode()
    assert "Refus du radiologue L1" in page and "retake-complete" not in page


def test_another_practice_gets_404_everywhere(client, centre, tmp_path):
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam)
    Retake.objects.filter(exam=exam).update(refusal_statement="retakes/refusals/x.pdf")
    login(client, centre["other_staff"])
    assert exam.participant.programme_id not in client.get(reverse("retakes:list")).content.decode()
    for name in ("detail", "statement"):
        assert client.get(reverse(f"retakes:{name}", args=[exam.pk])).status_code == 404
    for name in ("upload", "complete", "refuse"):
        assert client.post(reverse(f"retakes:{name}", args=[exam.pk])).status_code == 404
    assert client.get(reverse("retakes:coordination")).status_code == 403
    assert client.post(reverse("retakes:close", args=[exam.pk])).status_code == 403
    exam.refresh_from_db()
    assert exam.state == S.RETAKE_PENDING


def test_the_coordination_sees_every_retake_and_closes_an_overdue_one(client, centre, tmp_path):
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam, days_ago=200)
    retake_timers_run()
    login(client, centre["coordinator"])
    assert client.get(reverse("retakes:list")).status_code == 302  # to the coordination's list
    page = client.get(reverse("retakes:coordination")).content.decode()
    assert exam.participant.programme_id in page and "Reprise hors délai" in page
    assert "18 jours de retard" in page
    response = client.post(reverse("retakes:close", args=[exam.pk]), {"note": "Injoignable"})
    assert response.status_code == 302
    exam.refresh_from_db()
    assert exam.state == S.CLOSED
    assert ExamOutcome.objects.get(exam=exam).closed_reason == "CTI_OVERDUE"
    page = client.get(reverse("retakes:coordination") + "?etat=tout").content.decode()
    assert exam.participant.programme_id in page and "Clos" in page


def test_the_exam_page_points_to_the_retake(client, centre, tmp_path):
    exam, _reader = cti_exam(centre, tmp_path)
    letters_sent(exam)
    login(client, centre["staff"])
    page = client.get(reverse("practice:exam_detail", args=[exam.pk])).content.decode()
    assert reverse("retakes:detail", args=[exam.pk]) in page
