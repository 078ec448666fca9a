"""Practice staff and L1 radiologists: their exams, the L1 fiche, uploads and submission."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from screening.forms import ExamCreateForm
from screening.models import AuditEvent, ExamState, PracticeRole, User
from screening.selectors import (
    exam_for_practice_user,
    exam_history_for_practice,
    exams_for_practice_user,
    inbox_study_for_user,
    ingest_files_for_exam,
    practices_for_user,
)
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.services.exams import (
    VIEW_LABEL,
    exam_create,
    exam_submit,
    missing_views,
    participant_get_or_create,
)
from screening.services.inbox import inbox_study_attach
from screening.services.ingest import UPLOAD_STATES
from screening.services.ingest_checks import RETAKE_UPLOAD_STATES

from .common import client_ip, practice_required
from .inbox import study_initial


@practice_required
def exam_list(request: HttpRequest) -> HttpResponse:
    exams = exams_for_practice_user(user=request.user)
    state = request.GET.get("etat", "")
    if state in ExamState.values:
        exams = exams.filter(state=state)
    page = Paginator(exams, 25).get_page(request.GET.get("page"))
    return render(
        request, "screening/exam_list.html", {"page": page, "state": state, "states": ExamState.choices}
    )


@practice_required
def exam_new(request: HttpRequest) -> HttpResponse:
    practices = list(practices_for_user(user=request.user))
    practice = practices[0]
    if request.method == "POST" and request.POST.get("practice"):
        practice = next((p for p in practices if str(p.pk) == request.POST["practice"]), practice)
    radiologists = User.objects.filter(
        practice_memberships__practice=practice, practice_memberships__role=PracticeRole.L1_RADIOLOGIST
    ).order_by("last_name")
    study = None
    study_id = request.POST.get("etude") or request.GET.get("etude")
    if study_id and str(study_id).isdigit():
        study = inbox_study_for_user(user=request.user, study_id=int(study_id))
    initial = study_initial(study) if study is not None else None
    form = ExamCreateForm(request.POST or None, radiologists=radiologists, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                participant = participant_get_or_create(
                    programme_id=data["programme_id"].strip(),
                    last_name=data["last_name"].strip(),
                    first_name=data["first_name"].strip(),
                    birth_date=data["birth_date"],
                )
                exam = exam_create(
                    actor=request.user,
                    practice=practice,
                    participant=participant,
                    l1_radiologist=data["l1_radiologist"],
                    mammogram_date=data["mammogram_date"],
                    accession_number=data["accession_number"],
                    medium=data["medium"],
                    l1=form.l1_data(),
                    lesions=form.lesions(),
                )
                if study is not None:  # created from an inbox study: attach it at once
                    inbox_study_attach(study_id=study.pk, exam_id=exam.pk, actor=request.user)
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Examen créé. Envoyez maintenant les images puis transmettez-le.")
            return redirect("practice:exam_detail", exam_id=exam.pk)
    return render(
        request, "screening/exam_new.html", {"form": form, "practices": practices, "practice": practice}
    )


@practice_required
def exam_detail(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = exam_for_practice_user(user=request.user, exam_id=exam_id)
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.EXAM_VIEW,
        exam=exam,
        object_ref="fiche",
        ip_address=client_ip(request),
    )
    context = {
        "exam": exam,
        "files": ingest_files_for_exam(exam=exam),
        "history": exam_history_for_practice(exam=exam),
        "missing": [VIEW_LABEL[m] for m in missing_views(exam)] if exam.medium == exam.Medium.CONSOLE else [],
        "can_upload": exam.state in UPLOAD_STATES,
        "retake_open": exam.state in RETAKE_UPLOAD_STATES,
        "can_submit": exam.state in (ExamState.DRAFT, ExamState.INCOMPLETE),
        # Final opinions only: a withdrawn (e.g. blind, before the reveal) or provisional one is not the result.
        "readings": exam.l2_readings.filter(status="FINAL")
        .prefetch_related("findings", "cti_items")
        .order_by("submitted_at"),
    }
    return render(request, "screening/exam_detail.html", context)


@practice_required
@require_POST
def exam_submit_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = exam_for_practice_user(user=request.user, exam_id=exam_id)
    try:
        exam = exam_submit(exam_id=exam.pk, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        exam.refresh_from_db()
        messages.success(request, f"Examen transmis : {exam.get_state_display()}.")
    return redirect("practice:exam_detail", exam_id=exam.pk)
