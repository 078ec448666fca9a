"""Retake pages (issue 6): the practice's « Clichés à refaire » (upload, « Reprise complète », written refusal)
and the coordination's list of every retake with its reminder / overdue status."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from readings.models import Retake
from readings.selectors_retakes import (
    retake_page_for_practice_user,
    retake_statement_for_user,
    retakes_decorate,
    retakes_for_coordinator,
    retakes_for_practice_user,
)
from readings.services.retakes import retake_overdue_close, retake_receive, retake_refusal_record
from screening.forms_retakes import OverdueCloseForm, RetakeRefusalForm, RetakeUploadForm
from screening.models import AuditEvent, ExamState, IngestFile
from screening.selectors import exam_for_practice_user, user_roles
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.services.ingest import ingest_file_receive

from .common import client_ip, coordinator_required, practice_required


@login_required
def retake_home(request: HttpRequest) -> HttpResponse:
    roles = user_roles(request.user)
    if roles.is_practice_user:
        return retake_list(request)
    if roles.is_coordinator:
        return redirect("retakes:coordination")
    raise PermissionDenied(_("Accès réservé."))


@practice_required
def retake_list(request: HttpRequest) -> HttpResponse:
    retakes = retakes_for_practice_user(user=request.user)
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXAM_VIEW, object_ref="clichés à refaire",
        ip_address=client_ip(request),
    )  # fmt: skip
    return render(request, "screening/retakes/list.html", {"retakes": retakes})


def _detail(request: HttpRequest, exam_id: int, **forms) -> HttpResponse:
    page = retake_page_for_practice_user(user=request.user, exam_id=exam_id)
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXAM_VIEW, exam=page.exam, object_ref="reprise",
        ip_address=client_ip(request),
    )  # fmt: skip
    context = {
        "page": page,
        "exam": page.exam,
        "retake": page.retake,
        "upload_form": forms.get("upload_form") or RetakeUploadForm(),
        "refusal_form": forms.get("refusal_form") or RetakeRefusalForm(),
    }
    return render(request, "screening/retakes/detail.html", context, status=forms.get("status", 200))


@practice_required
def retake_detail(request: HttpRequest, exam_id: int) -> HttpResponse:
    return _detail(request, exam_id)


@practice_required
@require_POST
def retake_upload(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The upload without JavaScript: each file goes through the one intake pipeline (originals kept)."""
    exam = exam_for_practice_user(user=request.user, exam_id=exam_id)
    form = RetakeUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail(request, exam.pk, upload_form=form, status=400)
    for upload in form.cleaned_data["files"]:
        try:
            record = ingest_file_receive(
                practice=exam.practice,
                exam=exam,
                upload=upload,
                original_name=upload.name,
                actor=request.user,
            )
        except ServiceError as error:
            messages.error(request, f"{upload.name} : {error.message}")
            continue
        audit_record(
            actor=request.user, action=AuditEvent.Action.FILE_UPLOAD, exam=exam,
            object_ref=record.original_name, ip_address=client_ip(request),
        )  # fmt: skip
        record.refresh_from_db()
        if record.state == IngestFile.State.REFUSED:
            messages.error(request, f"{record.original_name} : {record.reason}")
        else:
            messages.info(request, f"{record.original_name} : {record.get_state_display()}")
    return redirect("retakes:detail", exam_id=exam.pk)


@practice_required
@require_POST
def retake_complete(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = exam_for_practice_user(user=request.user, exam_id=exam_id)
    try:
        retake_receive(exam_id=exam.pk, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Reprise complète : l'examen repart en seconde lecture avec ses originaux.")
        )
    return redirect("retakes:detail", exam_id=exam.pk)


@practice_required
@require_POST
def retake_refuse(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = exam_for_practice_user(user=request.user, exam_id=exam_id)
    form = RetakeRefusalForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            retake_refusal_record(
                exam_id=exam.pk, actor=request.user, refusal=data["refusal"], statement_file=data["statement"]
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            if data["statement"] is not None:
                audit_record(
                    actor=request.user, action=AuditEvent.Action.FILE_UPLOAD, exam=exam,
                    object_ref="refus écrit de reprise", ip_address=client_ip(request),
                )  # fmt: skip
            messages.success(request, _("Refus de la reprise enregistré : l'examen est clos."))
            return redirect("retakes:detail", exam_id=exam.pk)
    return _detail(request, exam.pk, refusal_form=form, status=400)


@login_required
def retake_statement(request: HttpRequest, exam_id: int) -> FileResponse:
    retake = retake_statement_for_user(user=request.user, exam_id=exam_id)
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXAM_VIEW, exam=retake.exam,
        object_ref="refus écrit de reprise", ip_address=client_ip(request),
    )  # fmt: skip
    name = retake.refusal_statement.name.rsplit("/", 1)[-1]
    return FileResponse(retake.refusal_statement.open("rb"), filename=name, as_attachment=False)


@coordinator_required
def coordination_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("etat", "")
    retakes = retakes_for_coordinator(user=request.user, state=state)
    page = Paginator(retakes, 50).get_page(request.GET.get("page"))
    page.object_list = retakes_decorate(page.object_list)
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXAM_VIEW, object_ref="reprises (coordination)",
        ip_address=client_ip(request),
    )  # fmt: skip
    filters = [
        ("", _("En cours")),
        (ExamState.CTI_REQUESTED, ExamState.CTI_REQUESTED.label),
        (ExamState.RETAKE_PENDING, ExamState.RETAKE_PENDING.label),
        (ExamState.RETAKE_OVERDUE, ExamState.RETAKE_OVERDUE.label),
        ("tout", _("Toutes")),
    ]
    context = {"page": page, "state": state, "filters": filters, "close_form": OverdueCloseForm()}
    return render(request, "screening/retakes/coordination.html", context)


@coordinator_required
@require_POST
def coordination_close(request: HttpRequest, exam_id: int) -> HttpResponse:
    form = OverdueCloseForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    if not Retake.objects.filter(exam_id=exam_id).exists():
        messages.error(request, _("Aucune reprise pour cet examen."))
        return redirect("retakes:coordination")
    try:
        retake_overdue_close(exam_id=exam_id, actor=request.user, note=note)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Reprise hors délai close : l'examen est clos (CTI_OVERDUE)."))
    state = request.POST.get("etat", "")
    query = f"?etat={state}" if state in ExamState.values or state == "tout" else ""
    return redirect(reverse("retakes:coordination") + query)
