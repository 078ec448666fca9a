"""Letters (§7): planning and recipients, the 24–48 h rule, PDF content and layout, batches, sending."""

import datetime as dt
import hashlib

import pypdfium2 as pdfium
import pytest
from django.utils import timezone

from readings.models import Alert
from screening.models import ExamOutcome, Letter, LetterKind, ParticipantDoctor, PrintBatch
from screening.services.errors import ServiceError
from screening.services.letters import (
    letters_generate_due,
    letters_mark_sent,
    letters_plan,
    letters_print_batch,
)
from tests.screening.letters_support import READER_LAST, World, make_world, past, pdf_page_sizes_mm, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


def _plan(exam, kind, key=None, hours_ago=1.0, **kwargs):
    return letters_plan(
        exam_id=exam.pk, kind=kind, event_key=key or kind, not_before=past(hours_ago), **kwargs
    )


# ---------------------------------------------------------------- planning


def test_planning_is_idempotent_and_addresses_the_woman_from_her_file(world):
    exam = world.exam(verdict="NORMAL")
    first = _plan(exam, LetterKind.NEG_F, "NEG:1")
    again = _plan(exam, LetterKind.NEG_F, "NEG:1")
    assert [letter.pk for letter in first] == [letter.pk for letter in again]
    assert Letter.objects.filter(exam=exam).count() == 1
    letter = first[0]
    assert (letter.recipient_kind, letter.status) == ("WOMAN", Letter.Status.PLANNED)
    assert letter.recipient_name == f"Madame Élodie {exam.participant.last_name.upper()}"
    assert letter.recipient_address == "14 rue de l'Hôtel-de-Ville\n03200 VICHY"


def test_doctor_letters_go_to_each_named_doctor(world):
    woman = world.woman()
    ParticipantDoctor.objects.create(participant=woman, kind="GYN", name="Dr Anne Roux", town="Moulins",
                                     postal_code="03000", address="1 cours Anatole-France")  # fmt: skip
    exam = world.exam(verdict="ANOMALY", woman=woman)
    letters = _plan(exam, LetterKind.POS_M, "POS:1")
    assert sorted((x.recipient_kind, x.recipient_name) for x in letters) == [
        ("GP", "Dr Jean Mercier"),
        ("GYN", "Dr Anne Roux"),
    ]
    gp = next(x for x in letters if x.recipient_kind == "GP")
    assert gp.recipient_address == "3 place de la République\n03300 CUSSET"


def test_gp_named_on_the_form_only_gets_a_letter_without_address(world):
    exam = world.exam(verdict="NORMAL", woman=world.woman(doctor=False, gp_name="Dr Paul Faure"))
    [letter] = _plan(exam, LetterKind.NEG_M)
    assert (letter.recipient_kind, letter.recipient_name, letter.recipient_address) == (
        "GP",
        "Dr Paul Faure",
        "",
    )


def test_positive_with_no_doctor_raises_task_nodoc_and_plans_no_letter(world):
    exam = world.exam(verdict="ANOMALY", woman=world.woman(doctor=False))
    assert _plan(exam, LetterKind.POS_M) == []
    assert _plan(exam, LetterKind.POS_M) == []  # still one alert
    alert = Alert.objects.get(exam=exam)
    assert alert.kind == "TASK_NODOC" and alert.resolved_at is None
    assert alert.message.startswith("TASK-NODOC : vérifier le contact avec le radiologue")
    assert not Letter.objects.filter(exam=exam).exists()
    # A negative without a doctor is simply not sent to anyone: no alert.
    negative = world.exam(verdict="NORMAL", woman=world.woman(doctor=False))
    assert _plan(negative, LetterKind.NEG_M) == []
    assert not Alert.objects.filter(exam=negative).exists()


def test_practice_letters_and_reminder_recipients(world):
    exam = world.exam(verdict="CTI")
    [cti_r] = _plan(exam, LetterKind.CTI_R)
    assert cti_r.recipient_kind == "PRACTICE" and cti_r.recipient_name == "Cabinet de radiologie des Thermes"
    assert cti_r.recipient_address == "À l'attention du Dr Claire Lefèvre\nVICHY"
    reminders = _plan(exam, LetterKind.REM_CTI, "REM-CTI:1")
    assert sorted(x.recipient_kind for x in reminders) == ["PRACTICE", "WOMAN"]
    late = _plan(exam, LetterKind.REM_CTI, "REM-CTI:late", recipient_kinds=("PRACTICE", "WOMAN", "GP"))
    assert sorted(x.recipient_kind for x in late) == ["GP", "PRACTICE", "WOMAN"]
    [l1] = _plan(exam, LetterKind.REM_FU, "REM-FU:D90", recipient_kinds=("L1",))
    assert (l1.recipient_kind, l1.recipient_name) == ("L1", "Dr Claire Lefèvre")


def test_unknown_kind_is_refused(world):
    exam = world.exam()
    with pytest.raises(ServiceError) as error:
        _plan(exam, "XYZ")
    assert error.value.code == "letter_kind_unknown"


# ---------------------------------------------------------------- generation


def test_the_womans_positive_letter_waits_for_its_not_before(world):
    """R-LET-1: the doctor's letter on day 0, the woman's 24–48 h later; generation respects not_before."""
    exam = world.exam(verdict="ANOMALY")
    now = timezone.now()
    letters_plan(exam_id=exam.pk, kind=LetterKind.POS_M, event_key="POS-M:1", not_before=now)
    letters_plan(
        exam_id=exam.pk, kind=LetterKind.POS_F, event_key="POS-F:1", not_before=now + dt.timedelta(hours=24)
    )
    assert letters_generate_due(now=now + dt.timedelta(minutes=1)) == 1
    statuses = dict(Letter.objects.filter(exam=exam).values_list("kind", "status"))
    assert statuses == {"POS-M": "READY", "POS-F": "PLANNED"}
    assert letters_generate_due(now=now + dt.timedelta(hours=23)) == 0
    assert letters_generate_due(now=now + dt.timedelta(hours=24, minutes=1)) == 1
    assert letters_generate_due(now=now + dt.timedelta(hours=30)) == 0  # idempotent
    assert set(Letter.objects.filter(exam=exam).values_list("status", flat=True)) == {"READY"}


def test_generated_pdf_is_an_a4_letter_with_the_womans_data_and_never_the_reader(world):
    exam = world.exam(verdict="ANOMALY")
    [letter] = _plan(exam, LetterKind.POS_F)
    assert letters_generate_due() == 1
    letter.refresh_from_db()
    data = letter.pdf.read()
    assert letter.pdf_sha256 == hashlib.sha256(data).hexdigest()
    assert letter.template.kind == "POS-F" and letter.template.version == 1 and letter.generated_at
    assert pdf_page_sizes_mm(data)[0] == (210.0, 297.0)
    text = " ".join(" ".join(pdf_text(data)).split())
    assert f"Madame Élodie {exam.participant.last_name.upper()}" in text
    assert "14 rue de l'Hôtel-de-Ville" in text and "03200 VICHY" in text
    assert "des examens complémentaires sont nécessaires" in text
    assert "Cabinet de radiologie des Thermes" in text and "Dr Claire Lefèvre" in text
    assert f"Vichy, le {_long_date(timezone.localdate())}" in text
    assert "Le médecin coordinateur" in text and "CRCDC Auvergne-Rhône-Alpes — site de l'Allier" in text
    assert "cancer" not in text.casefold()
    assert READER_LAST.casefold() not in text.casefold() and "Hortense" not in text
    # The first page really is drawn: some ink on a white A4 page.
    image = pdfium.PdfDocument(data)[0].render(scale=1).to_pil().convert("L")
    assert abs(image.size[0] - 595) <= 1 and abs(image.size[1] - 842) <= 1  # A4 at 72 dpi
    histogram = image.histogram()
    ink = sum(histogram[:128]) / sum(histogram)
    assert image.getextrema()[1] == 255 and 0.01 < ink < 0.2, ink  # dark text on white paper


def test_doctor_letter_carries_the_l2_findings_in_french(world):
    exam = world.exam(verdict="ANOMALY")
    _plan(exam, LetterKind.POS_M)
    _plan(exam, LetterKind.POS_R)
    letters_generate_due()
    texts = {
        x.kind: " ".join(" ".join(pdf_text(x.pdf.read())).split()) for x in Letter.objects.filter(exam=exam)
    }
    assert (
        "sein gauche, quadrant supéro-externe (2 h), tiers moyen : microcalcifications, 8 mm"
        in texts["POS-M"]
    )
    assert "Examens proposés : agrandissements, échographie." in texts["POS-M"]
    assert "fiche de bilan de diagnostic différé (BDD)" in texts["POS-R"]
    for text in texts.values():
        assert READER_LAST.casefold() not in text.casefold()


def test_cti_letter_lists_each_view_with_reason_and_action(world):
    exam = world.exam(verdict="CTI")
    _plan(exam, LetterKind.CTI_R)
    _plan(exam, LetterKind.CTI_F)
    letters_generate_due()
    texts = {
        x.kind: " ".join(" ".join(pdf_text(x.pdf.read())).split()) for x in Letter.objects.filter(exam=exam)
    }
    assert "Sein droit" in texts["CTI-R"] and "Oblique externe (MLO)" in texts["CTI-R"]
    assert "Positionnement / glande incomplètement dégagée" in texts["CTI-R"]
    assert "Refaire l'incidence" in texts["CTI-R"] and "clichés d'origine" in texts["CTI-R"]
    assert "gratuitement" in texts["CTI-F"]


def _long_date(day):
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre"]  # fmt: skip
    return f"{'1er' if day.day == 1 else day.day} {months[day.month - 1]} {day.year}"


# ---------------------------------------------------------------- print and send


def _ready(world, n: int):
    letters = []
    for i, code in enumerate(["63000", "03100", "03200"][:n]):
        woman = world.woman(postal_code=code, town=f"Ville{i}")
        letters += _plan(world.exam(verdict="NORMAL", woman=woman), LetterKind.NEG_F)
    letters_generate_due()
    return [Letter.objects.get(pk=x.pk) for x in letters]


def test_batch_is_one_pdf_of_ready_letters_in_postal_order(world):
    letters = _ready(world, 3)
    batch = letters_print_batch(letter_ids=[x.pk for x in letters], actor=world.coordinator)
    assert batch.letter_count == 3 and batch.created_by == world.coordinator
    pages = pdf_text(batch.pdf.read())
    assert len(pages) == 3
    towns = [next(t for t in ("03100 VILLE1", "03200 VILLE2", "63000 VILLE0") if t in page) for page in pages]
    assert towns == ["03100 VILLE1", "03200 VILLE2", "63000 VILLE0"]
    assert set(Letter.objects.filter(print_batch=batch).values_list("pk", flat=True)) == {
        x.pk for x in letters
    }


def test_batch_refuses_letters_not_ready(world):
    exam = world.exam(verdict="NORMAL")
    [planned] = letters_plan(
        exam_id=exam.pk, kind="NEG-F", event_key="x", not_before=timezone.now() + dt.timedelta(days=1)
    )
    with pytest.raises(ServiceError) as error:
        letters_print_batch(letter_ids=[planned.pk], actor=world.coordinator)
    assert error.value.code == "letter_not_ready" and "n'est pas prêt" in error.value.message
    assert not PrintBatch.objects.exists()


def test_mark_sent_records_who_and_when_and_refreshes_the_outcome(world):
    [letter] = _ready(world, 1)
    when = timezone.now() - dt.timedelta(minutes=5)
    letters_mark_sent(letter_ids=[letter.pk], actor=world.coordinator, sent_at=when)
    letter.refresh_from_db()
    assert (letter.status, letter.sent_at, letter.sent_by) == ("SENT", when, world.coordinator)
    assert ExamOutcome.objects.filter(exam_id=letter.exam_id).exists()
    # Again: harmless, the first sending is kept.
    letters_mark_sent(letter_ids=[letter.pk], actor=world.staff)
    letter.refresh_from_db()
    assert (letter.sent_at, letter.sent_by) == (when, world.coordinator)


def test_mark_sent_refuses_a_planned_letter_and_changes_nothing(world):
    [ready] = _ready(world, 1)
    exam = world.exam(verdict="NORMAL")
    [planned] = letters_plan(
        exam_id=exam.pk, kind="NEG-F", event_key="x", not_before=timezone.now() + dt.timedelta(days=1)
    )
    with pytest.raises(ServiceError):
        letters_mark_sent(letter_ids=[ready.pk, planned.pk], actor=world.coordinator)
    ready.refresh_from_db()
    assert ready.status == "READY" and ready.sent_at is None


def test_nodoc_alert_resolves_once_the_follow_up_moves_on(world):
    from screening.models import ExamState
    from screening.services.exam_state import exam_transition

    exam = world.exam(verdict="ANOMALY", woman=world.woman(doctor=False))
    _plan(exam, LetterKind.POS_M)
    letters_generate_due()
    assert Alert.objects.get(exam=exam).resolved_at is None  # still L2_POSITIVE
    exam_transition(exam_id=exam.pk, to_state=ExamState.CANCELLED, actor=world.coordinator)
    letters_generate_due()
    assert Alert.objects.get(exam=exam).resolved_at is not None


def test_a_cancelled_exam_sends_nothing_and_the_periodic_task_generates_the_rest(world):
    from screening.models import ExamState
    from screening.services.exam_state import exam_transition
    from screening.tasks_letters import letters_generate_due_task

    kept, cancelled = world.exam(verdict="NORMAL"), world.exam(verdict="NORMAL")
    for exam in (kept, cancelled):
        _plan(exam, LetterKind.NEG_F)
    exam_transition(exam_id=cancelled.pk, to_state=ExamState.CANCELLED, actor=world.coordinator)
    assert letters_generate_due_task.delay().get() == 1
    assert Letter.objects.get(exam=kept).status == "READY"
    cancelled_letter = Letter.objects.get(exam=cancelled)
    assert cancelled_letter.status == "CANCELLED" and not cancelled_letter.pdf


def test_a_batch_has_at_most_150_letters(world):
    with pytest.raises(ServiceError) as error:
        letters_print_batch(letter_ids=list(range(1, 152)), actor=world.coordinator)
    assert error.value.code == "letters_batch_too_big" and "au plus 150 courriers" in error.value.message
