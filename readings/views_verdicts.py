"""The verdict's undo window in the browser (F8 d): the status bar with its countdown and Ctrl+Z."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from readings.models import L2Reading
from readings.services.verdicts import l2_reading_withdraw
from screening.models import AuditEvent
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.views.common import client_ip, reader_required

UNDO_KEY = "l2_undo"


def undo_offer(request: HttpRequest, reading: L2Reading, programme_id: str) -> None:
    """Remember the last verdict so the next page shows "… — annuler : Ctrl+Z" until the window ends."""
    request.session[UNDO_KEY] = {
        "reading_id": reading.pk,
        "final_at": reading.final_at.isoformat(),
        "label": f"{programme_id} — {reading.get_verdict_display().upper()} (D{reading.acr_right}/G{reading.acr_left})",
    }


def undo_context(request: HttpRequest) -> dict | None:
    """The pending undo offer for the status bar, if its window is still open (server clock)."""
    offer = request.session.get(UNDO_KEY)
    if not offer:
        return None
    final_at = timezone.datetime.fromisoformat(offer["final_at"])
    left = (final_at - timezone.now()).total_seconds()
    if left <= 0:
        request.session.pop(UNDO_KEY, None)
        return None
    return {**offer, "seconds_left": round(left, 1)}


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@reader_required
@require_POST
def withdraw(request: HttpRequest, reading_id: int) -> HttpResponse:
    try:
        reading = l2_reading_withdraw(reading_id=reading_id, reader=request.user)
    except ServiceError as error:
        request.session.pop(UNDO_KEY, None)
        status = 404 if error.code == "not_found" else 409
        if _wants_json(request):
            return JsonResponse({"code": error.code, "detail": error.message}, status=status)
        return render(request, "readings/undo_closed.html", {"message": error.message}, status=status)
    request.session.pop(UNDO_KEY, None)
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.READING_OPEN,
        exam=reading.exam,
        object_ref=f"verdict {reading.pk} annulé (Ctrl+Z)",
        ip_address=client_ip(request),
    )
    if _wants_json(request):
        return JsonResponse({"status": reading.status, "exam_id": reading.exam_id})
    messages.info(request, _("Verdict annulé : le cas est rouvert."))
    return redirect("readings:read", exam_id=reading.exam_id)
