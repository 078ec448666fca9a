"""The second reader's worklist and first viewer with the verdict form."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from readings.forms import L2VerdictForm
from readings.models import L2Reading, ReadingSession
from readings.selectors import (
    exam_for_reader,
    reader_next_exam_id,
    reader_session,
    reader_worklist,
    readings_done_by,
)
from readings.services.l2_reading import l2_reading_open, l2_reading_submit
from readings.services.reader_state import rules_current
from readings.services.verdicts import l2_readings_finalize_due
from readings.views_verdicts import undo_context, undo_offer
from screening.models import AuditEvent, ExamState
from screening.selectors import standard_views
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.services.policies import l1_blinded_for
from screening.views.common import client_ip, reader_required

HANGING = (("RCC", "LCC"), ("RMLO", "LMLO"))  # H1: right breast on the viewer's left, chest walls at the seam


@reader_required
def worklist(request: HttpRequest) -> HttpResponse:
    l2_readings_finalize_due(reader=request.user)
    today = timezone.localdate()
    assignments = list(reader_worklist(reader=request.user))
    for assignment in assignments:
        assignment.days_left = (assignment.exam.due_at - today).days
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.DASHBOARD_VIEW,
        object_ref="liste de lecture L2",
        ip_address=client_ip(request),
    )
    return render(
        request,
        "readings/worklist.html",
        {
            "assignments": assignments,
            "done": readings_done_by(reader=request.user),
            "session": reader_session(reader=request.user),
            "undo": undo_context(request),
            "session_sizes": ReadingSession.SIZES,
            "session_timeout": rules_current().session_timeout_minutes,
        },
    )


@reader_required
def read_exam(request: HttpRequest, exam_id: int) -> HttpResponse:
    l2_readings_finalize_due(reader=request.user)
    exam = exam_for_reader(reader=request.user, exam_id=exam_id)
    open_for_reading = (
        exam.state in (ExamState.ASSIGNED, ExamState.IN_READING, ExamState.CONSENSUS_PENDING)
        and not exam.l2_readings.filter(reader=request.user, status=L2Reading.Status.PROVISIONAL).exists()
    )  # a verdict inside its undo window: withdraw it first
    l1 = exam.l1_form
    blinded = l1_blinded_for(exam=exam, reader=request.user)  # §5: no L1 ACR under a blind policy
    # F6: the normal verdict takes the L1 ACR per breast when it is 1 or 2, else 1.
    initial = {"acr_right": l1.acr_final_right if not blinded and l1.acr_final_right in (1, 2) else 1,
               "acr_left": l1.acr_final_left if not blinded and l1.acr_final_left in (1, 2) else 1}  # fmt: skip
    form = L2VerdictForm(request.POST or None, initial=initial)
    if request.method == "POST" and open_for_reading and form.is_valid():
        data = form.cleaned_data
        try:
            reading = l2_reading_submit(
                exam_id=exam.pk,
                reader=request.user,
                verdict=data["verdict"],
                acr_right=data.get("acr_right") or 1,
                acr_left=data.get("acr_left") or 1,
                findings=form.findings(),
                cti_items=form.cti_items(),
                comment=data["comment"],
                proposed_exams=data["proposed_exams"],
                reading_seconds=data.get("reading_seconds"),
                client_uuid=data.get("client_uuid"),
            )
        except (ServiceError, forms.ValidationError) as error:
            form.add_error(None, getattr(error, "message", None) or error.messages[0])
        else:
            messages.success(
                request,
                f"Examen {exam.participant.programme_id} — seconde lecture enregistrée : {reading.get_verdict_display()}.",
            )
            if reading.status == L2Reading.Status.PROVISIONAL:
                undo_offer(request, reading, exam.participant.programme_id)
            session = reader_session(reader=request.user)
            if session is not None and session.left == 0:
                messages.info(
                    request, _("Tous les examens de la session sont lus : vous pouvez terminer la session.")
                )
            # The open session's next unread exam first, then the rest of the worklist.
            following = reader_next_exam_id(reader=request.user)
            if following is not None:
                return redirect("readings:read", exam_id=following)
            return redirect("readings:worklist")
    if open_for_reading and request.method == "GET":
        try:
            exam = l2_reading_open(exam_id=exam.pk, reader=request.user)
        except ServiceError as error:
            messages.error(request, error.message)
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.READING_OPEN,
        exam=exam,
        object_ref="lecture L2",
        ip_address=client_ip(request),
    )
    views = standard_views(exam=exam)
    prior = exam.priors.order_by("-mammogram_date").first()
    context = {
        "exam": exam,
        "form": form,
        "open_for_reading": open_for_reading,
        "rows": [[(slot, views.get(slot)) for slot in row] for row in HANGING],
        "missing": [slot for row in HANGING for slot in row if slot not in views],
        "prior": prior,
        "prior_rows": [[(slot, standard_views(exam=prior).get(slot)) for slot in row] for row in HANGING]
        if prior
        else None,
        "l1": exam.l1_form,
        "l1_blinded": blinded,
        "l1_lesions": exam.l1_form.lesions.none() if blinded else exam.l1_form.lesions.all(),
        "readings": exam.l2_readings.filter(reader=request.user),
        "session": reader_session(reader=request.user),
        "undo": undo_context(request),
    }
    return render(request, "readings/read.html", context)
