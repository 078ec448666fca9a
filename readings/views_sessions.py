"""Reading sessions of a second reader: "give me the next 25 / 50 / 100 exams", and hand back the rest."""

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from readings.models import ReadingSession
from readings.selectors import session_for_reader
from readings.services.assignment import ReaderPlan
from readings.services.sessions import reading_session_end, reading_session_start
from screening.models import AuditEvent
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.views.common import client_ip, reader_required


def _shortfall(plan: ReaderPlan) -> str:
    """Why the reader received fewer exams than asked, from the engine's plan."""
    if plan.day_left == 0:
        return _("votre capacité du jour est atteinte")
    if plan.week_left == 0:
        return _("votre capacité de la semaine est atteinte")
    reasons = list(dict.fromkeys(reason for _exam, reason in plan.refused))
    if reasons:
        return _("autres examens exclus : %(reasons)s") % {"reasons": ", ".join(reasons)}
    return _("la file L2 ne contient pas d'autre examen que vous puissiez lire")


@reader_required
@require_POST
def session_start(request: HttpRequest) -> HttpResponse:
    try:
        size = int(request.POST.get("size", ""))
    except ValueError:
        size = 0  # the service refuses it with its French message
    try:
        session, plan = reading_session_start(reader=request.user, size=size)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("readings:worklist")
    except IntegrityError:  # a second click that raced the first one to the unique index
        messages.error(request, _("Une session est déjà en cours : terminez-la d'abord."))
        return redirect("readings:worklist")
    received = len(plan.assigned)
    if not received:
        # Nothing to read: the empty session is closed at once so that it does not block the next one.
        reading_session_end(session_id=session.pk, actor=request.user)
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.QUEUE_CHANGE,
        object_ref=f"session {session.pk} démarrée : {received} / {size} examens reçus"
        + ("" if received else " (fermée, vide)"),
        ip_address=client_ip(request),
    )
    if not received:
        messages.error(
            request,
            _("Aucun examen reçu : %(why)s. La session n'a pas été ouverte.") % {"why": _shortfall(plan)},
        )
        return redirect("readings:worklist")
    text = ngettext(
        "Session démarrée : %(n)d examen reçu", "Session démarrée : %(n)d examens reçus", received
    ) % {"n": received}
    if received < size:
        text += " " + _("sur %(size)d demandés (%(why)s)") % {"size": size, "why": _shortfall(plan)}
    messages.success(request, text + ".")
    return redirect("readings:worklist")


@reader_required
@require_POST
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_for_reader(reader=request.user, session_id=session_id)  # 404 for another reader
    if session.state != ReadingSession.State.ACTIVE:
        messages.info(request, _("Cette session est déjà terminée."))
        return redirect("readings:worklist")
    back = reading_session_end(session_id=session.pk, actor=request.user)
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.QUEUE_CHANGE,
        object_ref=f"session {session.pk} terminée : {back} examens non lus rendus à la file",
        ip_address=client_ip(request),
    )
    messages.success(
        request,
        ngettext(
            "Session terminée : %(n)d examen non lu rendu à la file.",
            "Session terminée : %(n)d examens non lus rendus à la file.",
            back,
        )
        % {"n": back},
    )
    return redirect("readings:worklist")
