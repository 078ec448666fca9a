"""Letter templates: versions, validation with French messages naming the line, previews."""

import os

import pypdfium2 as pdfium
import pytest

from screening.models import Letter, LetterKind, LetterTemplate
from screening.services.errors import ServiceError
from screening.services.letters import (
    letter_preview,
    letter_template_active,
    letter_template_update,
    letters_generate_due,
    letters_plan,
)
from tests.screening.letters_support import READER_LAST, World, make_world, past, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


GOOD_BODY = """<p>Madame,</p>
<p>Nouvelle version : votre mammographie du {{ examen.date|date:"d/m/Y" }} est normale.</p>
{% for a in anomalies %}<p>{{ a.sein|capfirst }}</p>{% endfor %}
"""


def test_first_use_creates_version_1_from_the_default_file(world):
    template = letter_template_active(kind=LetterKind.NEG_F)
    assert (template.version, template.active, template.created_by) == (1, True, None)
    assert (
        "Votre mammographie a été relue par un second radiologue : elle ne montre pas d'anomalie."
        in template.body
    )
    assert template.subject == "Résultat de votre mammographie de dépistage"
    assert letter_template_active(kind=LetterKind.NEG_F).pk == template.pk
    assert LetterTemplate.objects.filter(kind=LetterKind.NEG_F).count() == 1


def test_every_default_template_passes_its_own_validation(world):
    for kind in LetterKind.values:
        template = letter_template_active(kind=kind)
        # Saving the default unchanged validates it and creates no version.
        assert letter_template_update(kind=kind, subject=template.subject, body=template.body,
                                      actor=world.coordinator).pk == template.pk  # fmt: skip


def test_an_edit_is_a_new_version_and_sent_letters_keep_theirs(world):
    exam = world.exam(verdict="NORMAL")
    letters_plan(exam_id=exam.pk, kind="NEG-F", event_key="a", not_before=past(1))
    letters_generate_due()
    first = Letter.objects.get(exam=exam)
    v2 = letter_template_update(kind="NEG-F", subject="Résultat (nouvelle version)", body=GOOD_BODY,
                                actor=world.coordinator)  # fmt: skip
    assert (v2.version, v2.active, v2.created_by) == (2, True, world.coordinator)
    v1 = LetterTemplate.objects.get(kind="NEG-F", version=1)
    assert not v1.active and first.template_id == v1.pk
    letters_plan(exam_id=world.exam(verdict="NORMAL").pk, kind="NEG-F", event_key="b", not_before=past(1))
    letters_generate_due()
    second = Letter.objects.exclude(pk=first.pk).get(kind="NEG-F")
    assert second.template_id == v2.pk
    text = " ".join(" ".join(pdf_text(second.pdf.read())).split())
    assert "Nouvelle version : votre mammographie du" in text and "Résultat (nouvelle version)" in text
    # Saving the same text again adds nothing.
    assert (
        letter_template_update(kind="NEG-F", subject=v2.subject, body=GOOD_BODY, actor=world.coordinator).pk
        == v2.pk
    )


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        (
            "<p>Madame,</p>\n<p>ligne 2</p>\n{% if femme.nom %}oui\n",
            "letter_template_syntax",
            "Texte, ligne 3 : la balise « if » n'est pas fermée",
        ),
        (
            "<p>Madame,</p>\n{% if femme.nom %}x{% endfi %}",
            "letter_template_syntax",
            "Texte, ligne 2 : balise « endfi »",
        ),
        (
            "<p>{{ lecteur.nom }}</p>",
            "letter_template_variable",
            "Texte, ligne 1 : la variable « lecteur.nom » n'existe pas",
        ),
        (
            "<p>\n{% for a in anomalies %}{{ a.lecteur }}{% endfor %}</p>",
            "letter_template_variable",
            "ligne 2 : la variable « a.lecteur » n'existe pas",
        ),
        ("{{ femme.nom|safe }}", "letter_template_filter", "le filtre « safe » n'est pas autorisé"),
        (
            "{% include 'base.html' %}",
            "letter_template_syntax",
            "balise « include » inconnue ou non autorisée",
        ),
        ("{% load static %}", "letter_template_syntax", "{% load %} n'est pas autorisé"),
        ("{% now 'Y' %}", "letter_template_tag", "la balise « now » n'est pas autorisée"),
        ("{{ examen.date|date:femme.inconnu }}", "letter_template_variable", "« femme.inconnu »"),
    ],
)
def test_a_bad_template_is_refused_with_a_french_message_and_nothing_is_stored(world, body, code, fragment):
    letter_template_active(kind="POS-F")
    with pytest.raises(ServiceError) as error:
        letter_template_update(kind="POS-F", subject="Objet", body=body, actor=world.coordinator)
    assert error.value.code == code
    assert fragment in error.value.message
    assert list(LetterTemplate.objects.filter(kind="POS-F").values_list("version", flat=True)) == [1]


def test_bad_subject_is_refused_naming_the_subject(world):
    with pytest.raises(ServiceError) as error:
        letter_template_update(
            kind="NEG-F", subject="Résultat {{ lecteur }}", body=GOOD_BODY, actor=world.coordinator
        )
    assert (
        error.value.message.startswith("Objet, ligne 1 : la variable « lecteur »")
        and error.value.field == "subject"
    )


def test_preview_of_the_sample_and_of_an_edited_text(world):
    pdf = letter_preview(kind="NEG-F")
    text = " ".join(" ".join(pdf_text(pdf)).split())
    assert "Madame Sophie EXEMPLE" in text and "elle ne montre pas d'anomalie" in text
    assert "APERÇU" in text
    edited = letter_preview(kind="NEG-F", subject="Essai d'objet", body="<p>Texte modifié à l'essai.</p>")
    edited_text = " ".join(pdf_text(edited))
    assert "Essai d'objet" in edited_text and "Texte modifié à l'essai." in edited_text
    assert LetterTemplate.objects.filter(kind="NEG-F").count() == 1  # a preview saves nothing
    with pytest.raises(ServiceError):
        letter_preview(kind="NEG-F", body="{{ lecteur }}")


def test_preview_on_a_real_exam_and_the_layout_images(world):
    """The real woman's letter; saves PNGs of POS-F and NEG-F when LETTERS_PNG=1 (to look at the layout)."""
    exam = world.exam(verdict="ANOMALY")
    pages = {}
    for kind in ("POS-F", "NEG-F"):
        pages[kind] = letter_preview(kind=kind, exam_id=exam.pk)
        text = " ".join(" ".join(pdf_text(pages[kind])).split())
        assert f"Madame Élodie {exam.participant.last_name.upper()}" in text and "03200 VICHY" in text
        assert READER_LAST not in text
        if os.environ.get("LETTERS_PNG") == "1":
            pdfium.PdfDocument(pages[kind])[0].render(scale=2).to_pil().save(f"/tmp/letters_{kind}.png")
    assert "cancer" not in " ".join(pdf_text(pages["POS-F"])).casefold()
    with pytest.raises(ServiceError) as error:
        letter_preview(kind="POS-F", exam_id=999_999)
    assert error.value.code == "exam_not_found"
