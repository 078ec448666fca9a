"""The coordinator's letters pages (§7): to print, planned, sent register (CSV), PDFs, print batches, templates.

Thin callers of screening.services.letters; every page that shows women's names or a letter is audited.
"""

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from screening.forms_letters import LetterFilterForm, LetterTemplateForm, selected_ids
from screening.models import AuditEvent, Exam, Letter, LetterKind
from screening.selectors_letters import (
    letter_for_user,
    letter_template_version,
    letter_template_versions,
    letters_by_status,
    letters_counts,
    print_batch_for_user,
    print_batch_letters,
    print_batches_recent,
)
from screening.services import letters as letter_services
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.services.letters_defaults import variables_documented
from screening.views.common import client_ip, coordinator_required

PER_PAGE = 100  # "select all" ticks the page: one page is one print batch (services.letters.BATCH_MAX)


def _audit(request: HttpRequest, ref: str, exam: Exam | None = None) -> None:
    audit_record(actor=request.user, action=AuditEvent.Action.EXAM_VIEW if exam else AuditEvent.Action.DASHBOARD_VIEW,
                 exam=exam, object_ref=ref, ip_address=client_ip(request))  # fmt: skip


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


def _list(
    request: HttpRequest, status: str, template: str, ref: str, extra: dict | None = None
) -> HttpResponse:
    form = LetterFilterForm(request.GET)  # every field optional: an empty query is valid
    letters = letters_by_status(user=request.user, status=status, filters=form.filters())
    page = Paginator(letters, PER_PAGE).get_page(request.GET.get("page"))
    _audit(request, ref)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("tout", None)
    context = {"form": form, "page": page, "counts": letters_counts(user=request.user), "query": query.urlencode(),
               "select_all": request.GET.get("tout") == "1", "tab": status, **(extra or {})}  # fmt: skip
    return render(request, template, context)


@coordinator_required
def ready(request: HttpRequest) -> HttpResponse:
    return _list(request, Letter.Status.READY, "letters/ready.html", "courriers à imprimer",
                 {"batches": print_batches_recent(limit=10)})  # fmt: skip


@coordinator_required
def planned(request: HttpRequest) -> HttpResponse:
    return _list(request, Letter.Status.PLANNED, "letters/planned.html", "courriers programmés",
                 {"now": timezone.now()})  # fmt: skip


@coordinator_required
def sent(request: HttpRequest) -> HttpResponse:
    if request.GET.get("format") == "csv":
        return _sent_csv(request)
    return _list(request, Letter.Status.SENT, "letters/sent.html", "registre des courriers envoyés")


def _sent_csv(request: HttpRequest) -> HttpResponse:
    form = LetterFilterForm(request.GET)
    letters = letters_by_status(user=request.user, status=Letter.Status.SENT, filters=form.filters())
    _audit(request, "registre des courriers envoyés (export CSV)")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="courriers-envoyes-{timezone.localdate():%Y%m%d}.csv"'
    )
    response.write("\ufeff")  # Excel opens UTF-8 with accents
    writer = csv.writer(response, delimiter=";")
    writer.writerow([_("Envoyé le"), _("Courrier"), _("Type de destinataire"), _("Destinataire"), _("Adresse"),
                     _("N° de dépistage"), _("Examen"), _("Cabinet"), _("Envoyé par"), _("Lot"), _("Empreinte SHA-256")])  # fmt: skip
    for letter in letters.iterator(chunk_size=500):
        writer.writerow([
            timezone.localtime(letter.sent_at).strftime("%d/%m/%Y %H:%M"), letter.get_kind_display(),
            letter.get_recipient_kind_display(), letter.recipient_name, " — ".join(letter.recipient_address.splitlines()),
            letter.exam.participant.programme_id, letter.exam_id, letter.exam.practice.name,
            str(letter.sent_by or ""), letter.print_batch_id or "", letter.pdf_sha256,
        ])  # fmt: skip
    return response


@coordinator_required
@require_POST
def print_selection(request: HttpRequest) -> HttpResponse:
    try:
        batch = letter_services.letters_print_batch(letter_ids=selected_ids(request.POST), actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return _back(request, reverse("letters:ready"))
    messages.success(request, _("Lot d'impression n° %(n)s : %(count)s courrier(s), dans l'ordre postal.")
                     % {"n": batch.pk, "count": batch.letter_count})  # fmt: skip
    return redirect("letters:batch", batch_id=batch.pk)


@coordinator_required
@require_POST
def mark_sent(request: HttpRequest) -> HttpResponse:
    try:
        letters = letter_services.letters_mark_sent(letter_ids=selected_ids(request.POST), actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(n)s courrier(s) marqué(s) comme envoyé(s).") % {"n": len(letters)})
    return _back(request, reverse("letters:ready"))


@coordinator_required
@require_POST
def generate_now(request: HttpRequest) -> HttpResponse:
    count = letter_services.letters_generate_due()
    messages.success(request, _("%(n)s courrier(s) généré(s) et prêt(s) à imprimer.") % {"n": count})
    return _back(request, reverse("letters:planned"))


@coordinator_required
@xframe_options_sameorigin
def letter_pdf(request: HttpRequest, letter_id: int) -> FileResponse:
    letter = letter_for_user(user=request.user, letter_id=letter_id)
    if not letter.pdf:
        raise Http404(_("Ce courrier n'est pas encore généré."))
    _audit(request, f"courrier {letter.pk} {letter.kind} (PDF)", exam=letter.exam)
    return FileResponse(letter.pdf.open("rb"), content_type="application/pdf",
                        filename=f"courrier-{letter.pk}-{letter.kind}.pdf")  # fmt: skip


@coordinator_required
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = print_batch_for_user(user=request.user, batch_id=batch_id)
    letters = print_batch_letters(batch=batch)
    _audit(request, f"lot d'impression {batch.pk}")
    unsent = [letter for letter in letters if letter.status == Letter.Status.READY]
    return render(request, "letters/batch.html", {"batch": batch, "letters": letters, "unsent": unsent,
                                                  "counts": letters_counts(user=request.user), "tab": "batch"})  # fmt: skip


@coordinator_required
def batch_pdf(request: HttpRequest, batch_id: int) -> FileResponse:
    batch = print_batch_for_user(user=request.user, batch_id=batch_id)
    _audit(request, f"lot d'impression {batch.pk} (PDF, {batch.letter_count} courriers)")
    return FileResponse(batch.pdf.open("rb"), content_type="application/pdf", as_attachment=True,
                        filename=f"lot-impression-{batch.pk}.pdf")  # fmt: skip


# ------------------------------------------------------------------------------------------------ templates


def _kind(kind: str) -> str:
    if kind not in LetterKind.values:
        raise Http404(_("Type de courrier inconnu."))
    return kind


@coordinator_required
def templates(request: HttpRequest) -> HttpResponse:
    rows = [
        (kind, label, letter_services.letter_template_active(kind=kind)) for kind, label in LetterKind.choices
    ]
    return render(request, "letters/templates.html", {"rows": rows, "counts": letters_counts(user=request.user),
                                                      "tab": "templates"})  # fmt: skip


@coordinator_required
def template_edit(request: HttpRequest, kind: str) -> HttpResponse:
    active = letter_services.letter_template_active(kind=_kind(kind))
    form = LetterTemplateForm(request.POST or None, initial={"subject": active.subject, "body": active.body})
    if request.method == "POST" and form.is_valid():
        try:
            saved = letter_services.letter_template_update(kind=kind, subject=form.cleaned_data["subject"],
                                                           body=form.cleaned_data["body"], actor=request.user)  # fmt: skip
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            if saved.pk == active.pk:
                messages.info(
                    request,
                    _("Aucune modification : la version %(v)s reste en service.") % {"v": saved.version},
                )
            else:
                messages.success(
                    request, _("Version %(v)s enregistrée et mise en service.") % {"v": saved.version}
                )
            return redirect("letters:template_edit", kind=kind)
    return render(request, "letters/template_edit.html", {
        "kind": kind, "label": LetterKind(kind).label, "active": active, "form": form,
        "variables": variables_documented(), "tab": "templates", "counts": letters_counts(user=request.user),
    })  # fmt: skip


@coordinator_required
@xframe_options_sameorigin
def template_preview(request: HttpRequest, kind: str) -> HttpResponse:
    """GET: the active version (or ?version=n) on the sample; POST: the text being edited, optionally on an exam."""
    _kind(kind)
    subject = body = exam_id = None
    if request.method == "POST":
        form = LetterTemplateForm(request.POST)
        if not form.is_valid():
            errors = [e for field_errors in form.errors.values() for e in field_errors]
            return render(request, "letters/preview_error.html", {"errors": errors}, status=400)
        subject, body, exam_id = (form.cleaned_data[k] for k in ("subject", "body", "exam_id"))
    elif request.GET.get("version", "").isdigit():
        version = letter_template_version(kind=kind, version=int(request.GET["version"]))
        subject, body = version.subject, version.body
    try:
        pdf = letter_services.letter_preview(kind=kind, subject=subject, body=body, exam_id=exam_id)
    except ServiceError as error:
        return render(request, "letters/preview_error.html", {"errors": [error.message]}, status=400)
    if exam_id:
        _audit(request, f"aperçu du courrier {kind}", exam=Exam.objects.get(pk=exam_id))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="apercu-{kind}.pdf"'
    return response


@coordinator_required
def template_history(request: HttpRequest, kind: str) -> HttpResponse:
    _kind(kind)
    return render(request, "letters/template_history.html", {
        "kind": kind, "label": LetterKind(kind).label, "versions": letter_template_versions(kind=kind),
        "tab": "templates", "counts": letters_counts(user=request.user),
    })  # fmt: skip
