"""The coordinator's L2 queue pages (issue 4): the queue with its deadline heat map and per-exam actions,
one exam's assignment decisions, the readers' loads and the alerts. Thin: parse, call, render."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError

from readings.selectors_queue import (
    alerts_page,
    alerts_unseen_count,
    exam_assignment_detail,
    exam_for_coordinator,
    queue_page,
    reader_user,
    readers_overview,
)
from readings.services.alerts import alert_acknowledge as alert_acknowledge_service
from readings.services.assignment import assignment_release, exam_assign, exam_pin_urgent
from readings.services.verdicts import l2_readings_finalize_due
from readings.services.workstation import exam_deferral_resolve
from readings.tasks import assign_queued_exams
from screening.models import AuditEvent, ExamState
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.views.common import client_ip, coordinator_required

EXAM_ACTIONS = ("pin", "unpin", "assign", "release", "resolve_deferral")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _next_url(request: HttpRequest, fallback: str) -> str:
    """Back to the page the form was on (with its filters and page), never to another site."""
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, require_https=request.is_secure()):
        return url
    return fallback


def _view_audit(request: HttpRequest, ref: str, exam=None) -> None:
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.DASHBOARD_VIEW,
        exam=exam,
        object_ref=ref,
        ip_address=client_ip(request),
    )


def _exam_action(request: HttpRequest, *, fallback: str) -> HttpResponse:
    """Pin / unpin, assign (to a chosen reader or the engine's choice) or release one exam, then go back."""
    back = redirect(_next_url(request, fallback))
    action, exam_id = request.POST.get("action", ""), _int(request.POST.get("exam"))
    if action not in EXAM_ACTIONS or exam_id is None:
        messages.error(request, _("Action inconnue ou examen non précisé."))
        return back
    try:
        exam = exam_for_coordinator(exam_id=exam_id)
    except Http404:  # shown as a message on the page the coordinator is on
        messages.error(request, _("Examen introuvable : il a peut-être été supprimé."))
        return back
    label = exam.participant.programme_id
    try:
        if action in ("pin", "unpin"):
            exam_pin_urgent(exam_id=exam.pk, actor=request.user, urgent=action == "pin")
            text = _("Examen %(n)s épinglé urgent : il passe en tête de la file.")
            messages.success(
                request, (text if action == "pin" else _("Urgence retirée pour %(n)s.")) % {"n": label}
            )
        elif action == "assign":
            _assign(request, exam, label)
        elif action == "resolve_deferral":
            target = request.POST.get("to_state", "")
            exam_deferral_resolve(
                exam_id=exam.pk, actor=request.user, to_state=target, note=request.POST.get("reason", "")
            )
            messages.success(
                request,
                _("Cas %(n)s : mise de côté traitée (%(s)s).") % {"n": label, "s": ExamState(target).label},
            )
        else:
            _release(request, exam, label)
    except ServiceError as error:
        messages.error(request, error.message)
    return back


def _assign(request: HttpRequest, exam, label: str) -> None:
    if exam.state != ExamState.QUEUED:
        messages.error(
            request,
            _("L'examen %(n)s n'est pas en file L2 (%(state)s) : rendez-le d'abord à la file.")
            % {"n": label, "state": exam.get_state_display()},
        )
        return
    reader_id = _int(request.POST.get("reader"))
    reader = reader_user(user_id=reader_id) if reader_id is not None else None
    if request.POST.get("reader") and reader is None:
        messages.error(request, _("Second lecteur introuvable."))
        return
    assignment = exam_assign(exam_id=exam.pk, actor=request.user, reader=reader)
    if assignment is None:
        waiting = exam_for_coordinator(exam_id=exam.pk).queue_wait_reason
        messages.error(
            request, _("Aucun lecteur éligible pour %(n)s. %(why)s") % {"n": label, "why": waiting}
        )
        return
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.QUEUE_CHANGE,
        exam=exam,
        object_ref=f"attribué à {assignment.reader}"[:200],
        ip_address=client_ip(request),
    )
    messages.success(request, _("Examen %(n)s attribué à %(r)s.") % {"n": label, "r": assignment.reader})


def _release(request: HttpRequest, exam, label: str) -> None:
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, _("Indiquez le motif pour rendre l'examen %(n)s à la file.") % {"n": label})
        return
    if not assignment_release(exam_id=exam.pk, actor=request.user, reason=reason, code="COORDINATOR"):
        messages.error(request, _("L'examen %(n)s n'a pas d'attribution en cours.") % {"n": label})
        return
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.QUEUE_CHANGE,
        exam=exam,
        object_ref=f"rendu à la file : {reason}"[:200],
        ip_address=client_ip(request),
    )
    messages.success(request, _("Examen %(n)s rendu à la file L2.") % {"n": label})


@coordinator_required
def queue(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _exam_action(request, fallback=reverse("coordination:queue"))
    l2_readings_finalize_due()  # verdicts past their undo window leave the queue's open states
    context = queue_page(params=request.GET, today=timezone.localdate())
    _view_audit(request, f"file L2 {request.GET.urlencode()}".strip())
    context["nav_alerts"] = alerts_unseen_count()
    return render(request, "readings/coordination/queue.html", context)


@coordinator_required
@require_POST
def assign_now(request: HttpRequest) -> HttpResponse:
    try:
        assign_queued_exams.delay()
    except OperationalError:
        messages.error(request, _("La file des tâches est indisponible : réessayez dans un instant."))
    else:
        audit_record(
            actor=request.user,
            action=AuditEvent.Action.QUEUE_CHANGE,
            object_ref="attribuer maintenant",
            ip_address=client_ip(request),
        )
        messages.success(
            request,
            _("Attribution lancée : les examens en file sont attribués aux lecteurs éligibles, "
              "échéance la plus proche d'abord. Rechargez la page dans un instant."),
        )  # fmt: skip
    return redirect(_next_url(request, reverse("coordination:queue")))


@coordinator_required
def exam_assignment(request: HttpRequest, exam_id: int) -> HttpResponse:
    here = reverse("coordination:exam_assignment", args=[exam_id])
    if request.method == "POST":
        return _exam_action(request, fallback=here)
    context = exam_assignment_detail(exam_id=exam_id, today=timezone.localdate())
    _view_audit(request, f"attribution de l'examen {exam_id}", exam=context["exam"])
    context["nav_alerts"] = alerts_unseen_count()
    context["here"] = here
    return render(request, "readings/coordination/exam_assignment.html", context)


@coordinator_required
def readers(request: HttpRequest) -> HttpResponse:
    context = readers_overview(today=timezone.localdate())
    _view_audit(request, "lecteurs L2")
    context["nav_alerts"] = alerts_unseen_count()
    return render(request, "readings/coordination/readers.html", context)


@coordinator_required
def alerts(request: HttpRequest) -> HttpResponse:
    context = alerts_page(kind=request.GET.get("kind", ""), page_number=request.GET.get("page"))
    _view_audit(request, f"alertes {context['kind']}".strip())
    context["nav_alerts"] = context["unseen"]
    return render(request, "readings/coordination/alerts.html", context)


@coordinator_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    try:
        alert_acknowledge_service(alert_id=alert_id, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Alerte marquée comme vue."))
    return redirect(_next_url(request, reverse("coordination:alerts")))
