"""Letters (domain spec §7, R-LET-1, R-CTI-3, R-FU-2, R-ANON-1): plan, generate the PDF, print in batches, send.

A letter is planned per recipient (idempotent per exam, event and recipient), generated once `not_before` has
passed (the woman's positive letter 24–48 h after the doctor's: the caller sets `not_before`), printed in postal
order and marked sent, which advances the exam (outcome_flow) and its reporting row in the same transaction.
"""

import datetime as dt
import hashlib
import html as html_lib
import importlib.util
import logging
import re

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from readings.models import L2Reading
from screening.models import (
    Exam,
    ExamState,
    Letter,
    LetterKind,
    LetterTemplate,
    PrintBatch,
    RecipientKind,
    User,
)
from screening.selectors_letters import postal_order
from screening.services.errors import ServiceError
from screening.services.letters_defaults import (
    DEFAULT_RECIPIENTS,
    DEFAULT_SUBJECTS,
    SAMPLE_RECIPIENTS,
    default_body,
    sample_context,
)
from screening.services.letters_recipients import alert_no_doctor, nodoc_alerts_resolve, recipients_for
from screening.services.letters_render import (
    exam_context,
    letter_context,
    letter_page,
    pdf_from_html,
    pdf_merge_html,
    render_parts,
    template_check,
)
from screening.services.outcome_record import exam_outcome_refresh

logger = logging.getLogger(__name__)
R = RecipientKind
BATCH_MAX = 150  # ~0.15 s a letter: a batch stays well within a web request


# ---------------------------------------------------------------- recipients and planning


def letters_plan(
    *,
    exam_id: int,
    kind: str,
    event_key: str,
    not_before: dt.datetime,
    due_at: dt.date | None = None,
    recipient_kinds: tuple[str, ...] | None = None,
) -> list[Letter]:
    """One PLANNED letter per recipient of `kind` (idempotent on exam, event and recipient).

    `recipient_kinds`, when given, is the full list of recipient kinds (REM-CTI with the doctor, REM-FU steps).
    POS-M to a woman who named no doctor plans nothing and raises TASK-NODOC for the secretariat (R-LET-1).
    """
    if kind not in LetterKind.values:
        raise ServiceError("letter_kind_unknown", f"Type de courrier inconnu : {kind}.")
    kinds = tuple(recipient_kinds) if recipient_kinds else DEFAULT_RECIPIENTS[kind]
    if not set(kinds) <= set(R.values):
        raise ServiceError("letter_recipient_unknown", "Type de destinataire inconnu.")
    with transaction.atomic():
        exam = (
            Exam.objects.select_for_update(of=("self",))
            .select_related("participant", "practice", "l1_radiologist")
            .filter(pk=exam_id)
            .first()
        )
        if exam is None:
            raise ServiceError("exam_not_found", "Examen introuvable.")
        recipients = recipients_for(exam, kinds)
        if not recipients and kind == LetterKind.POS_M:
            alert_no_doctor(exam)
            return []
        letters = []
        for recipient_kind, name, address in recipients:
            letter, _ = Letter.objects.get_or_create(
                exam=exam,
                event_key=event_key,
                recipient_kind=recipient_kind,
                recipient_name=name,
                defaults={
                    "kind": kind,
                    "recipient_address": address,
                    "not_before": not_before,
                    "due_at": due_at,
                },
            )
            letters.append(letter)
    return letters


# ---------------------------------------------------------------- templates


def letter_template_active(*, kind: str) -> LetterTemplate:
    """The version in use; a kind never edited starts at version 1 from templates/letters/defaults/<kind>.html."""
    if kind not in LetterKind.values:
        raise ServiceError("letter_kind_unknown", f"Type de courrier inconnu : {kind}.")
    template = LetterTemplate.objects.filter(kind=kind, active=True).first()
    if template is not None:
        return template
    version = (LetterTemplate.objects.filter(kind=kind).aggregate(v=Max("version"))["v"] or 0) + 1
    try:
        with transaction.atomic():
            return LetterTemplate.objects.create(
                kind=kind,
                version=version,
                subject=DEFAULT_SUBJECTS[kind],
                body=default_body(kind),
                active=True,
            )
    except IntegrityError:  # created at the same moment by another request
        return LetterTemplate.objects.get(kind=kind, active=True)


def letter_template_update(*, kind: str, subject: str, body: str, actor: User) -> LetterTemplate:
    """Save an edit as a new active version; the previous one stays, inactive (sent letters keep theirs)."""
    subject, body = subject.strip(), body.replace("\r\n", "\n").strip() + "\n"
    template_check(subject=subject, body=body)
    today = timezone.localdate()
    render_parts(
        subject=subject, body=body, context=_sample_full(kind, today)
    )  # fails on bad filter arguments
    current = letter_template_active(kind=kind)
    with transaction.atomic():
        current = LetterTemplate.objects.select_for_update().get(pk=current.pk)
        if not current.active:
            raise ServiceError(
                "letter_template_conflict", "Le modèle vient d'être modifié : rechargez la page."
            )
        if (current.subject, current.body) == (subject, body):
            return current  # nothing changed: no new version
        current.active = False
        current.save(update_fields=["active"])
        version = LetterTemplate.objects.filter(kind=kind).aggregate(v=Max("version"))["v"] + 1
        return LetterTemplate.objects.create(
            kind=kind, version=version, subject=subject, body=body, active=True, created_by=actor
        )


def _sample_full(kind: str, today: dt.date, recipient_kind: str | None = None) -> dict:
    recipient_kind = recipient_kind or DEFAULT_RECIPIENTS[kind][0]
    base = sample_context(today=today)
    return letter_context(
        base=base, mammogram_date=base["examen"]["date"], letter_date=today, due_at=today + dt.timedelta(days=9),
        recipient_kind=recipient_kind, recipient_name=SAMPLE_RECIPIENTS[recipient_kind][0],
    )  # fmt: skip


def letter_preview(
    *, kind: str, body: str | None = None, subject: str | None = None, exam_id: int | None = None
) -> bytes:
    """The PDF of the letter as it would print: the edited text (or the active one), for a sample or a real exam."""
    active = letter_template_active(kind=kind)
    subject = active.subject if subject is None else subject
    body = active.body if body is None else body
    template_check(subject=subject, body=body)
    today = timezone.localdate()
    recipient_kind = DEFAULT_RECIPIENTS[kind][0]
    name, address = SAMPLE_RECIPIENTS[recipient_kind]
    if exam_id is None:
        context = _sample_full(kind, today, recipient_kind)
        reference = f"APERÇU — exemple fictif ({kind})"
    else:
        exam = (
            Exam.objects.select_related("participant", "practice", "l1_radiologist")
            .filter(pk=exam_id)
            .first()
        )
        if exam is None:
            raise ServiceError("exam_not_found", "Examen introuvable.", field="exam_id")
        found = recipients_for(exam, DEFAULT_RECIPIENTS[kind])
        if found:
            recipient_kind, name, address = found[0]
        context = letter_context(
            base=exam_context(exam=exam, kind=kind), mammogram_date=exam.mammogram_date, letter_date=today,
            due_at=None, recipient_kind=recipient_kind, recipient_name=name,
        )  # fmt: skip
        reference = f"APERÇU — n° de dépistage {exam.participant.programme_id} ({kind})"
    rendered_subject, rendered_body = render_parts(subject=subject, body=body, context=context)
    page = letter_page(subject=rendered_subject, body=rendered_body, context=context, kind=kind,
                       recipient_name=name, recipient_address=address, reference=reference)  # fmt: skip
    return pdf_from_html(page)


# ---------------------------------------------------------------- generation


def _letter_page(letter: Letter, template: LetterTemplate, letter_date: dt.date) -> tuple[str, str]:
    """(rendered subject + body text, full page HTML) of one letter."""
    exam = letter.exam
    context = letter_context(
        base=exam_context(exam=exam, kind=letter.kind), mammogram_date=exam.mammogram_date, letter_date=letter_date,
        due_at=letter.due_at, recipient_kind=letter.recipient_kind, recipient_name=letter.recipient_name,
    )  # fmt: skip
    subject, body = render_parts(subject=template.subject, body=template.body, context=context)
    reference = f"N° de dépistage {exam.participant.programme_id} — courrier n° {letter.pk} ({letter.kind})"
    page = letter_page(subject=subject, body=body, context=context, recipient_name=letter.recipient_name,
                       recipient_address=letter.recipient_address, reference=reference, kind=letter.kind)  # fmt: skip
    return f"{subject}\n{html_lib.unescape(body)}", page


def _anonymity_guard(letter: Letter, text: str) -> None:
    """R-ANON-1: the L2 reader is never named in a letter (defence in depth: the context never holds them)."""
    exam = letter.exam
    allowed = {exam.l1_radiologist.get_full_name().casefold(), letter.recipient_name.casefold()}
    readers = L2Reading.objects.filter(exam=exam).select_related("reader")
    for name in {r.reader.get_full_name().strip().casefold() for r in readers} - allowed:
        if name and name in text.casefold():
            raise ServiceError("letter_names_reader", f"Le courrier n° {letter.pk} nomme le second lecteur.")


def _html_name(pdf_name: str) -> str:
    return re.sub(r"\.pdf$", "", pdf_name) + ".html"


def letter_generate(*, letter_id: int, now: dt.datetime | None = None) -> bool:
    """Render one due PLANNED letter to its PDF (READY). False when it is not due, not PLANNED or locked."""
    now = now or timezone.now()
    with transaction.atomic():
        letter = (
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("exam__participant", "exam__practice", "exam__l1_radiologist")
            .filter(pk=letter_id)
            .first()
        )
        if letter is None or letter.status != Letter.Status.PLANNED or letter.not_before > now:
            return False
        if letter.exam.state == ExamState.CANCELLED:  # duplicate or wrong woman: nothing goes out
            letter.status = Letter.Status.CANCELLED
            letter.save(update_fields=["status"])
            return False
        template = letter_template_active(kind=letter.kind)
        text, page = _letter_page(letter, template, timezone.localdate(now))
        _anonymity_guard(letter, text)
        pdf = pdf_from_html(page)
        letter.pdf.save(f"courrier-{letter.pk}-{letter.kind}.pdf", ContentFile(pdf), save=False)
        # The page as printed, so a batch reprints exactly the archived letter.
        default_storage.save(_html_name(letter.pdf.name), ContentFile(page.encode()))
        letter.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        letter.template, letter.generated_at, letter.status = template, now, Letter.Status.READY
        letter.save(update_fields=["pdf", "pdf_sha256", "template", "generated_at", "status"])
    return True


def letters_generate_due(*, now: dt.datetime | None = None) -> int:
    """Generate every PLANNED letter whose `not_before` has passed; returns how many became READY. Idempotent."""
    now = now or timezone.now()
    due = Letter.objects.filter(status=Letter.Status.PLANNED, not_before__lte=now).order_by(
        "not_before", "pk"
    )
    done = 0
    for letter_id in due.values_list("pk", flat=True):
        try:
            done += letter_generate(letter_id=letter_id, now=now)
        except ServiceError as error:  # one bad letter never blocks the others; it stays PLANNED
            logger.error("letter %s not generated: %s", letter_id, error.message)
    nodoc_alerts_resolve()
    return done


# ---------------------------------------------------------------- print and send


def _locked(letter_ids: list[int]) -> list[Letter]:
    ids = sorted({int(pk) for pk in letter_ids})
    if not ids:
        raise ServiceError("letters_none_selected", "Sélectionnez au moins un courrier.")
    letters = list(Letter.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if len(letters) != len(ids):
        raise ServiceError("letter_not_found", "Courrier introuvable.")
    return letters


def _printed_page(letter: Letter) -> str:
    name = _html_name(letter.pdf.name)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as fh:
            return fh.read().decode()
    on = timezone.localdate(letter.generated_at) if letter.generated_at else timezone.localdate()
    return _letter_page(letter, letter.template or letter_template_active(kind=letter.kind), on)[1]


def letters_print_batch(*, letter_ids: list[int], actor: User) -> PrintBatch:
    """One merged PDF of READY letters in postal order (recipient's postal code), kept as a PrintBatch."""
    if len(set(letter_ids)) > BATCH_MAX:
        raise ServiceError(
            "letters_batch_too_big",
            f"Un lot d'impression compte au plus {BATCH_MAX} courriers : faites plusieurs lots.",
        )
    with transaction.atomic():
        letters = _locked(letter_ids)
        for letter in letters:
            if letter.status != Letter.Status.READY:
                raise ServiceError(
                    "letter_not_ready",
                    f"Le courrier n° {letter.pk} n'est pas prêt à imprimer ({letter.get_status_display()}).",
                )
        letters.sort(key=postal_order)
        pdf = pdf_merge_html([_printed_page(letter) for letter in letters])
        batch = PrintBatch.objects.create(created_by=actor, letter_count=len(letters))
        batch.pdf.save(f"lot-{batch.pk}.pdf", ContentFile(pdf), save=True)
        Letter.objects.filter(pk__in=[letter.pk for letter in letters]).update(print_batch=batch)
    return batch


def _exam_letters_sent(*, exam_id: int, actor: User) -> None:
    # The lead's state-machine step; until its module exists, the letters are recorded and the exam waits.
    if importlib.util.find_spec("screening.services.outcome_flow") is None:
        logger.warning("screening.services.outcome_flow missing: exam %s not advanced", exam_id)
        return
    from screening.services.outcome_letters import exam_letters_sent

    exam_letters_sent(exam_id=exam_id, actor=actor)


def letters_mark_sent(
    *, letter_ids: list[int], actor: User, sent_at: dt.datetime | None = None
) -> list[Letter]:
    """READY → SENT (already SENT ones are left as they are); then each exam touched moves on, same transaction."""
    sent_at = sent_at or timezone.now()
    with transaction.atomic():
        # Exams first, as every exam writer (outcome_flow locks the exam next): no lock-order deadlock.
        exam_ids = Letter.objects.filter(pk__in=letter_ids).values_list("exam_id", flat=True).distinct()
        list(Exam.objects.select_for_update().filter(pk__in=exam_ids).order_by("pk").values_list("pk"))
        letters = _locked(letter_ids)
        for letter in letters:
            if letter.status not in (Letter.Status.READY, Letter.Status.SENT):
                raise ServiceError(
                    "letter_not_ready",
                    f"Le courrier n° {letter.pk} ne peut pas être envoyé ({letter.get_status_display()}).",
                )
        sent = [letter for letter in letters if letter.status == Letter.Status.READY]
        for letter in sent:
            letter.status, letter.sent_at, letter.sent_by = Letter.Status.SENT, sent_at, actor
            letter.save(update_fields=["status", "sent_at", "sent_by"])
        for exam_id in sorted({letter.exam_id for letter in sent}):
            _exam_letters_sent(exam_id=exam_id, actor=actor)
            exam_outcome_refresh(exam_id=exam_id)
    return letters
