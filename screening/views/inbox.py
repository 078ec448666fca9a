"""The practice's inbox of studies received before their exam: attach, or create the exam from them."""

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from screening.models import AuditEvent
from screening.selectors import exams_for_practice_user, inbox_studies_for_user, inbox_study_for_user
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.services.inbox import inbox_study_attach
from screening.services.ingest import UPLOAD_STATES

from .common import client_ip, practice_required


def _dicom_date(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except (TypeError, ValueError):
        return None


def study_initial(study) -> dict:
    """Exam form values read from the study's DICOM identity."""
    last, _, first = (study.patient_name or "").partition("^")
    return {
        "programme_id": study.patient_id,
        "last_name": last.strip(),
        "first_name": first.split("^")[0].strip(),
        "birth_date": _dicom_date(study.patient_birth_date),
        "mammogram_date": _dicom_date(study.study_date),
        "accession_number": study.accession_number,
    }


@practice_required
def inbox(request: HttpRequest) -> HttpResponse:
    studies = list(inbox_studies_for_user(user=request.user)[:200])
    for study in studies:
        study.thumbnails = [i for s in study.series.all() for i in s.instances.all()][:4]
    open_exams = exams_for_practice_user(user=request.user).filter(state__in=UPLOAD_STATES)
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXAM_VIEW, object_ref="boîte de réception",
        ip_address=client_ip(request),
    )  # fmt: skip
    return render(request, "screening/inbox.html", {"studies": studies, "open_exams": open_exams})


@practice_required
@require_POST
def inbox_attach(request: HttpRequest, study_id: int) -> HttpResponse:
    study = inbox_study_for_user(user=request.user, study_id=study_id)
    exam = exams_for_practice_user(user=request.user).filter(pk=request.POST.get("exam")).first()
    if exam is None:
        messages.error(request, "Choisissez l'examen auquel rattacher cette étude.")
        return redirect("practice:inbox")
    try:
        inbox_study_attach(study_id=study.pk, exam_id=exam.pk, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("practice:inbox")
    messages.success(request, "Étude rattachée à l'examen.")
    return redirect("practice:exam_detail", exam_id=exam.pk)
