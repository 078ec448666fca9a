"""The coordinator's letters pages: access, print → batch → sent, register and CSV, PDFs audited, templates."""

import csv
import io

import pytest
from django.http import Http404
from django.urls import reverse

from screening.models import AuditEvent, Letter, LetterTemplate
from screening.selectors_letters import letters_for_exam
from screening.services.letters import letters_generate_due, letters_plan
from tests.factories import PASSWORD, PracticeFactory, staff_of
from tests.screening.letters_support import World, make_world, past, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _ready_letters(world, n=2):
    exams = [world.exam(verdict="NORMAL", woman=world.woman(postal_code=f"0310{i}")) for i in range(n)]
    for exam in exams:
        letters_plan(exam_id=exam.pk, kind="NEG-F", event_key="NEG", not_before=past(1))
    letters_generate_due()
    return list(Letter.objects.filter(exam__in=exams).order_by("pk"))


PAGES = [
    ("letters:ready", {}),
    ("letters:planned", {}),
    ("letters:sent", {}),
    ("letters:templates", {}),
    ("letters:template_edit", {"kind": "POS-F"}),
    ("letters:template_history", {"kind": "POS-F"}),
    ("letters:template_preview", {"kind": "POS-F"}),
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_coordinator_sees_the_pages_and_a_practice_user_is_refused(client, world, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    assert client.get(url).status_code == 302  # anonymous → login
    _login(client, world.staff)
    assert client.get(url).status_code == 403
    client.logout()
    _login(client, world.coordinator)
    assert client.get(url).status_code == 200


def test_ready_list_print_then_mark_sent(client, world):
    letters = _ready_letters(world)
    _login(client, world.coordinator)
    page = client.get(reverse("letters:ready"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Imprimer la sélection" in html and "Marquer comme envoyés" in html
    assert all(f'value="{x.pk}"' in html for x in letters)
    assert "checked" in client.get(reverse("letters:ready") + "?tout=1").content.decode()
    # Print: one batch, then its page with the download and the "sent" button.
    response = client.post(reverse("letters:print"), {"letter": [x.pk for x in letters]})
    batch_url = response["Location"]
    assert response.status_code == 302 and "/lots/" in batch_url
    batch_page = client.get(batch_url).content.decode()
    assert (
        "Télécharger le PDF à imprimer" in batch_page
        and "Marquer ces 2 courriers comme envoyés" in batch_page
    )
    batch_id = Letter.objects.get(pk=letters[0].pk).print_batch_id
    download = client.get(reverse("letters:batch_pdf", args=[batch_id]))
    assert download["Content-Type"] == "application/pdf" and "attachment" in download["Content-Disposition"]
    assert len(pdf_text(b"".join(download.streaming_content))) == 2
    # Mark sent from the batch page.
    response = client.post(
        reverse("letters:mark_sent"), {"letter": [x.pk for x in letters], "next": batch_url}
    )
    assert response.status_code == 302 and response["Location"] == batch_url
    assert set(Letter.objects.filter(pk__in=[x.pk for x in letters]).values_list("status", "sent_by")) == {
        ("SENT", world.coordinator.pk)
    }


def test_printing_nothing_or_a_planned_letter_shows_a_french_message(client, world):
    _login(client, world.coordinator)
    response = client.post(reverse("letters:print"), {}, follow=True)
    assert "Sélectionnez au moins un courrier." in response.content.decode()
    exam = world.exam(verdict="NORMAL")
    [planned] = letters_plan(exam_id=exam.pk, kind="NEG-F", event_key="x", not_before=past(-48))
    response = client.post(reverse("letters:mark_sent"), {"letter": [planned.pk]}, follow=True)
    assert response.status_code == 200
    assert f"Le courrier n° {planned.pk} ne peut pas être envoyé (Programmé)." in response.content.decode()


def test_planned_page_and_generate_now(client, world):
    exam = world.exam(verdict="ANOMALY")
    [letter] = letters_plan(exam_id=exam.pk, kind="POS-R", event_key="POS-R", not_before=past(0.1))
    _login(client, world.coordinator)
    assert f'data-letter="{letter.pk}"' in client.get(reverse("letters:planned")).content.decode()
    response = client.post(reverse("letters:generate_now"), follow=True)
    assert "1 courrier(s) généré(s)" in response.content.decode()
    letter.refresh_from_db()
    assert letter.status == "READY"


def test_sent_register_and_csv_export(client, world):
    letters = _ready_letters(world, 1)
    from screening.services.letters import letters_mark_sent

    letters_mark_sent(letter_ids=[letters[0].pk], actor=world.coordinator)
    _login(client, world.coordinator)
    html = client.get(reverse("letters:sent")).content.decode()
    assert letters[0].recipient_name in html and str(world.coordinator) in html
    export = client.get(reverse("letters:sent") + "?kind=NEG-F&format=csv")
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Envoyé le", "Courrier", "Type de destinataire", "Destinataire"]
    assert len(rows) == 2 and rows[1][3] == letters[0].recipient_name and rows[1][8] == str(world.coordinator)
    assert rows[1][10] == letters[0].pdf_sha256
    assert (
        client.get(reverse("letters:sent") + "?kind=POS-F&format=csv").content.decode("utf-8-sig").count("\n")
        == 1
    )


def test_letter_pdf_is_audited_and_framable_only_by_the_site(client, world):
    [letter] = _ready_letters(world, 1)
    _login(client, world.coordinator)
    response = client.get(reverse("letters:letter_pdf", args=[letter.pk]))
    assert response["Content-Type"] == "application/pdf" and response["X-Frame-Options"] == "SAMEORIGIN"
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXAM_VIEW, exam=letter.exam)
    assert event.actor == world.coordinator and f"courrier {letter.pk}" in event.object_ref
    client.logout()
    _login(client, world.staff)
    assert client.get(reverse("letters:letter_pdf", args=[letter.pk])).status_code == 403


def test_template_edit_refuses_a_bad_text_in_french_then_saves_a_version(client, world):
    _login(client, world.coordinator)
    url = reverse("letters:template_edit", args=["NEG-F"])
    bad = client.post(url, {"subject": "Résultat", "body": "<p>Madame,</p>\n{% if femme.nom %}"})
    assert bad.status_code == 200
    assert "Texte, ligne 2 : la balise « if » n&#x27;est pas fermée" in bad.content.decode()
    assert LetterTemplate.objects.filter(kind="NEG-F").count() == 1
    good = client.post(url, {"subject": "Résultat", "body": "<p>Madame, {{ femme.nom }}</p>"})
    assert good.status_code == 302
    assert LetterTemplate.objects.get(kind="NEG-F", active=True).version == 2
    history = client.get(reverse("letters:template_history", args=["NEG-F"])).content.decode()
    assert 'data-version="2"' in history and 'data-version="1"' in history


def test_preview_posts_the_edited_text_and_returns_a_pdf(client, world):
    _login(client, world.coordinator)
    url = reverse("letters:template_preview", args=["POS-F"])
    response = client.post(url, {"subject": "Essai", "body": "<p>Bonjour {{ femme.prenom }}</p>"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "Bonjour Sophie" in " ".join(pdf_text(response.content))
    error = client.post(url, {"subject": "Essai", "body": "{{ lecteur }}"})
    assert error.status_code == 400 and "la variable « lecteur » n&#x27;existe pas" in error.content.decode()
    exam = world.exam(verdict="ANOMALY")
    real = client.post(
        url, {"subject": "Essai", "body": "<p>{{ femme.nom_complet }}</p>", "exam_id": exam.pk}
    )
    assert exam.participant.last_name.upper() in " ".join(pdf_text(real.content))
    assert AuditEvent.objects.filter(exam=exam, object_ref="aperçu du courrier POS-F").exists()


def test_letters_for_exam_is_scoped(world):
    [letter] = _ready_letters(world, 1)
    assert list(letters_for_exam(user=world.coordinator, exam_id=letter.exam_id)) == [letter]
    assert list(letters_for_exam(user=world.staff, exam_id=letter.exam_id)) == [letter]
    other = staff_of(PracticeFactory())
    with pytest.raises(Http404):
        letters_for_exam(user=other, exam_id=letter.exam_id)
    with pytest.raises(Http404):
        letters_for_exam(user=world.reader, exam_id=letter.exam_id)
