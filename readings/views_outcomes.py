"""The coordinator's outcome pages (issue 6): one exam from verdict to closed, consensus meetings and
arbitrations, the double-reading policy versions. Thin: parse, call the services, render."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from readings.forms_outcomes import ConsensusMeetingForm, PolicyForm
from readings.models import Consensus
from readings.selectors_outcomes import (
    consensus_for_decision,
    consensus_open_list,
    consensus_possible_participants,
    exam_follow_up,
    policies_list,
)
from screening.models import AuditEvent, CentreRole, User
from screening.services.audit import audit_record
from screening.services.consensus import consensus_meeting_decide, consensus_reader_set
from screening.services.errors import ServiceError
from screening.services.policies import policy_create
from screening.views.common import client_ip, coordinator_required


@coordinator_required
def exam_follow(request: HttpRequest, exam_id: int) -> HttpResponse:
    follow = exam_follow_up(user=request.user, exam_id=exam_id)
    if follow is None:
        raise Http404
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.EXAM_VIEW,
        exam=follow.exam,
        object_ref="suivi de l'examen",
        ip_address=client_ip(request),
    )
    return render(request, "readings/coordination/exam_follow.html", {"f": follow})


@coordinator_required
def consensus_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "readings/coordination/consensus_list.html",
        {"items": consensus_open_list(user=request.user)},
    )


@coordinator_required
def consensus_decide(request: HttpRequest, consensus_id: int) -> HttpResponse:
    consensus = consensus_for_decision(user=request.user, consensus_id=consensus_id)
    if consensus is None:
        raise Http404
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.EXAM_VIEW,
        exam=consensus.exam,
        object_ref=f"consensus {consensus.pk}",
        ip_address=client_ip(request),
    )
    readers = consensus_possible_participants(consensus=consensus)
    form = ConsensusMeetingForm(request.POST or None, readers=readers)
    if request.method == "POST" and consensus.kind == Consensus.Kind.MEETING and form.is_valid():
        try:
            consensus_meeting_decide(
                consensus_id=consensus.pk,
                actor=request.user,
                opinions=form.opinions(),
                note=form.cleaned_data["note"],
                coordinator_outcome=form.cleaned_data["coordinator_outcome"] or None,
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("Décision enregistrée ; les courriers correspondants sont programmés.")
            )
            return redirect("coordination:exam_follow", exam_id=consensus.exam_id)
    return render(
        request,
        "readings/coordination/consensus_decide.html",
        {"consensus": consensus, "form": form, "readers": readers},
    )


@coordinator_required
@require_POST
def consensus_reader(request: HttpRequest, consensus_id: int) -> HttpResponse:
    consensus = consensus_for_decision(user=request.user, consensus_id=consensus_id)
    if consensus is None:
        raise Http404
    raw = request.POST.get("reader", "")
    reader = User.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if reader is None:
        messages.error(request, _("Choisissez un lecteur."))
    else:
        try:
            consensus_reader_set(consensus_id=consensus.pk, reader=reader, actor=request.user)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Lecteur désigné : l'examen est dans sa liste de lecture."))
    return redirect("coordination:consensus_decide", consensus_id=consensus.pk)


@coordinator_required
def policies(request: HttpRequest) -> HttpResponse:
    """Versions of the double-reading policy; the coordinating physician or an administrator adds one."""
    may_change = (
        request.user.centre_role in (CentreRole.PHYSICIAN, CentreRole.ADMINISTRATOR)
        or request.user.is_superuser
    )
    form = PolicyForm(request.POST or None)
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        if form.is_valid():
            data = dict(form.cleaned_data)
            version, active_from = data.pop("version"), data.pop("active_from")
            try:
                policy_create(version=version, active_from=active_from, actor=request.user, **data)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _(
                        "Nouvelle politique enregistrée : elle s'applique aux examens transmis à partir de sa date."
                    ),
                )
                return redirect("coordination:policies")
    return render(
        request,
        "readings/coordination/policies.html",
        {"policies": policies_list(), "form": form, "may_change": may_change},
    )
