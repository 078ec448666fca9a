"""The coordinator's dashboard: states, deadlines, verdicts side by side, discordances, loads."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from readings.selectors import coordinator_dashboard, exams_with_verdicts
from readings.services.verdicts import l2_readings_finalize_due
from screening.models import AuditEvent, ExamState
from screening.services.audit import audit_record
from screening.views.common import client_ip, coordinator_required


@coordinator_required
def dashboard(request: HttpRequest) -> HttpResponse:
    l2_readings_finalize_due()  # verdicts past their undo window count as final here
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.DASHBOARD_VIEW,
        object_ref="tableau de bord",
        ip_address=client_ip(request),
    )
    return render(request, "readings/dashboard.html", coordinator_dashboard())


@coordinator_required
def exam_table(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("etat", "")
    if state not in ExamState.values:
        state = ""
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.DASHBOARD_VIEW,
        object_ref=f"examens {state}".strip(),
        ip_address=client_ip(request),
    )
    return render(
        request,
        "readings/exam_table.html",
        {
            "exams": exams_with_verdicts(state=state),
            "state": state,
            "states": ExamState.choices,
            "today": timezone.localdate(),
        },
    )
