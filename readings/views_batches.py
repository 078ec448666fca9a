"""Coordinator batches (issue 4): list, build from the queue filters, then assign, reassign, split, merge, recall.

Every change is two POSTs: the first runs the service with dry_run=True and shows exactly what would change,
the second ("Confirmer", confirm=1) applies it. The queue page may POST here (batch_new) repeated `exam` ids
and a `name`; the batch builder's own form posts `origine=filtres` and keeps the filters in the query string.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from readings.filters import QueueFilter, filters_summary
from readings.forms_batches import (
    ACTION_FORMS,
    MAX_BATCH_EXAMS,
    BatchActionForm,
    BatchBuildForm,
    form_error_text,
)
from readings.models import Assignment, Batch, BatchExam
from readings.services import batches as batch_services
from readings.services.batches import BatchOutcome
from readings.services.reader_state import QUEUE_ORDER
from screening.models import AuditEvent, Exam, ExamState, Practice, ReadingSite, User
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.views.common import client_ip, coordinator_required

PER_PAGE = 25
SHOWN_EXAMS = 200
ACTIONS_BY_STATE = {
    Batch.State.HELD: ("assign", "split", "merge", "recall"),
    Batch.State.ASSIGNED: ("reassign", "split", "merge", "recall"),
}
EXAM_FIELDS = ("participant", "practice")


def _audit(request: HttpRequest, ref: str) -> None:
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.DASHBOARD_VIEW,
        object_ref=ref,
        ip_address=client_ip(request),
    )


# ------------------------------------------------------------------------------------------------ reads


@dataclass
class Progress:
    """A batch's exams: those still in it plus those read through it; `by_state` as (code, label, n)."""

    states: dict[int, str] = field(default_factory=dict)  # exam id → exam state
    read: set[int] = field(default_factory=set)

    @property
    def total(self) -> int:
        return len(self.states)

    @property
    def percent(self) -> int:
        return round(100 * len(self.read) / self.total) if self.total else 0

    @property
    def by_state(self) -> list[tuple[str, str, int]]:
        counts = Counter(self.states.values())
        return [(code, label, counts[code]) for code, label in ExamState.choices if counts[code]]


def _progress(batch_ids: list[int]) -> dict[int, Progress]:
    progress = {pk: Progress() for pk in batch_ids}
    for batch_id, exam_id, state in BatchExam.objects.filter(batch_id__in=batch_ids, active=True).values_list(
        "batch_id", "exam_id", "exam__state"
    ):
        progress[batch_id].states[exam_id] = state
    for batch_id, exam_id, state in Assignment.objects.filter(
        batch_id__in=batch_ids, state=Assignment.State.COMPLETED
    ).values_list("batch_id", "exam_id", "exam__state"):
        progress[batch_id].states[exam_id] = state
        progress[batch_id].read.add(exam_id)
    return progress


def _exams(ids) -> dict[int, Exam]:
    return {e.pk: e for e in Exam.objects.filter(pk__in=list(ids)).select_related(*EXAM_FIELDS)}


def _items(batch: Batch, progress: Progress) -> list[Exam]:
    """The batch's exams in queue order, each with `batch_reader` (current or the one who read it)."""
    exams = list(
        Exam.objects.filter(pk__in=list(progress.states)).select_related(*EXAM_FIELDS).order_by(*QUEUE_ORDER)
    )
    readers: dict[int, User] = {}
    for a in Assignment.objects.filter(exam__in=exams).select_related("reader").order_by("assigned_at"):
        if a.state == Assignment.State.ACTIVE or (
            a.state == Assignment.State.COMPLETED and a.batch_id == batch.pk
        ):
            readers[a.exam_id] = a.reader
    for exam in exams:
        exam.batch_reader = readers.get(exam.pk)
        exam.read_in_batch = exam.pk in progress.read
    return exams


def _filters_display(filters: dict) -> list[tuple[str, str]]:
    """The stored filters with their French labels (a practice or a site by its name)."""
    names = {
        "practice": dict(Practice.objects.values_list("pk", "name")) if "practice" in filters else {},
        "site": dict(ReadingSite.objects.values_list("pk", "name")) if "site" in filters else {},
    }
    shown = []
    for key, value in filters.items():
        spec = QueueFilter.base_filters.get(key)
        label = str(spec.label) if spec is not None else key
        if key in names and value.isdigit():
            value = names[key].get(int(value), value)
        shown.append((label, value))
    return shown


def _history(batch: Batch) -> list[dict]:
    """The batch's history, latest first, with its times as datetimes (shown in local time)."""
    return [{**h, "at": parse_datetime(h.get("at") or "")} for h in reversed(batch.history or [])]


def _exam_state_count(batch: Batch, state: str) -> list[int]:
    return list(
        batch.items.filter(active=True, exam__state=state)
        .order_by("exam_id")
        .values_list("exam_id", flat=True)
    )


# ------------------------------------------------------------------------------------------------ list


@coordinator_required
def batch_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("etat", "")
    if state not in Batch.State.values:
        state = ""
    batches = Batch.objects.select_related("reader", "created_by").order_by("-pk")
    if state:
        batches = batches.filter(state=state)
    page = Paginator(batches, PER_PAGE).get_page(request.GET.get("page"))
    progress = _progress([b.pk for b in page.object_list])
    for b in page.object_list:
        b.progress = progress[b.pk]
    _audit(request, f"lots {state}".strip())
    return render(
        request,
        "readings/coordination/batch_list.html",
        {"page": page, "state": state, "states": Batch.State.choices},
    )


# ------------------------------------------------------------------------------------------------ build


@coordinator_required
def batch_new(request: HttpRequest) -> HttpResponse:
    filterset = QueueFilter(
        request.GET, queryset=Exam.objects.select_related(*EXAM_FIELDS).order_by(*QUEUE_ORDER)
    )
    matching = filterset.qs
    context = {"filterset": filterset, "query": request.GET.urlencode(), "max": MAX_BATCH_EXAMS}
    form = BatchBuildForm(request.POST or None, initial={"origine": "filtres"})
    preview = _build(request, form, filterset, matching) if request.method == "POST" else None
    if isinstance(preview, HttpResponse):
        return preview
    context["preview"] = preview
    if preview is None:
        context.update(count=matching.count(), exams=matching[:SHOWN_EXAMS], shown=SHOWN_EXAMS)
    context["form"] = form
    _audit(request, "lots : constitution")
    return render(request, "readings/coordination/batch_new.html", context)


def _build(
    request: HttpRequest, form: BatchBuildForm, filterset: QueueFilter, matching
) -> dict | HttpResponse | None:
    """A first POST previews the batch (dry run); a POST with confirm=1 creates it and opens it."""
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return None
    ids = form.cleaned_data["exam"]
    if form.from_filters:
        if not filterset.is_valid():
            messages.error(request, _("Corrigez les filtres avant de constituer le lot."))
            return None
        filters = filters_summary(filterset.form.cleaned_data)
        if not ids:
            ids = list(matching.values_list("pk", flat=True)[: MAX_BATCH_EXAMS + 1])
            if len(ids) > MAX_BATCH_EXAMS:
                messages.error(
                    request,
                    _("Un lot compte au plus %(max)s examens : %(n)s correspondent aux filtres. Affinez-les.")
                    % {"max": MAX_BATCH_EXAMS, "n": matching.count()},
                )
                return None
    else:
        filters = {"sélection": _("%(n)s examen(s) choisi(s) dans la file") % {"n": len(ids)}}
    if not ids:
        messages.error(
            request, _("Aucun examen à mettre dans le lot : choisissez des examens ou changez les filtres.")
        )
        return None
    confirm = request.POST.get("confirm") == "1"
    name = form.cleaned_data["name"]
    try:
        outcome = batch_services.batch_create(
            name=name, exam_ids=ids, actor=request.user, filters=filters, dry_run=not confirm
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return None
    known = set(outcome.added) | {pk for pk, _reason in outcome.skipped}
    skipped = outcome.skipped + [(pk, _("examen introuvable")) for pk in ids if pk not in known]
    if confirm and outcome.batch is not None:
        text = _("Lot « %(name)s » créé : %(n)s examen(s).") % {
            "name": outcome.batch.name,
            "n": len(outcome.added),
        }
        if skipped:
            text += " " + _("%(m)s écarté(s).") % {"m": len(skipped)}
        messages.success(request, text)
        return redirect("coordination:batch", batch_id=outcome.batch.pk)
    if confirm:
        messages.error(request, _("Aucun examen n'a pu être mis dans le lot."))
    exams = _exams([*outcome.added, *(pk for pk, _reason in skipped)])
    return {
        "name": name,
        "origine": form.cleaned_data["origine"],
        "added": [exams[pk] for pk in outcome.added if pk in exams],
        "skipped": [(exams.get(pk), pk, reason) for pk, reason in skipped],
        "can_confirm": bool(outcome.added),
    }


# ------------------------------------------------------------------------------------------------ detail


def _batch_or_404(batch_id: int) -> Batch:
    batch = Batch.objects.select_related("reader", "created_by").filter(pk=batch_id).first()
    if batch is None:
        raise Http404(_("Lot introuvable."))
    return batch


def _detail(request: HttpRequest, batch: Batch, *, preview: dict | None = None) -> HttpResponse:
    progress = _progress([batch.pk])[batch.pk]
    actions = ACTIONS_BY_STATE.get(batch.state, ())
    forms = {action: ACTION_FORMS[action](batch=batch) for action in actions}
    _audit(request, f"lot {batch.pk}" + (f" : aperçu {preview['action']}" if preview else ""))
    return render(
        request,
        "readings/coordination/batch_detail.html",
        {
            "batch": batch,
            "progress": progress,
            "items": _items(batch, progress),
            "filters": _filters_display(batch.filters or {}),
            "history": _history(batch),
            "forms": forms,
            "preview": preview,
        },
    )


@coordinator_required
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    return _detail(request, _batch_or_404(batch_id))


@coordinator_required
def batch_action(request: HttpRequest, batch_id: int, action: str) -> HttpResponse:
    batch = _batch_or_404(batch_id)
    back = redirect("coordination:batch", batch_id=batch.pk)
    if request.method != "POST":
        return back
    if action not in ACTION_FORMS:
        messages.error(request, _("Action inconnue : « %(action)s ».") % {"action": action[:40]})
        return back
    if action not in ACTIONS_BY_STATE.get(batch.state, ()):
        messages.error(
            request,
            _("Action impossible : le lot « %(name)s » est %(state)s.")
            % {"name": batch.name, "state": batch.get_state_display().lower()},
        )
        return back
    form = ACTION_FORMS[action](request.POST, batch=batch)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return back
    confirm = request.POST.get("confirm") == "1"
    before = {
        "queued": _exam_state_count(batch, ExamState.QUEUED),
        "in_reading": _exam_state_count(batch, ExamState.IN_READING),
    }
    try:
        outcome = _run(action, form, request.user, dry_run=not confirm)
    except ServiceError as error:
        messages.error(request, error.message)
        return back
    if confirm:
        messages.success(request, _done_message(action, batch, outcome, before))
        return back
    return _detail(request, batch, preview=_preview(action, form, outcome, before))


def _run(action: str, form: BatchActionForm, actor: User, *, dry_run: bool) -> BatchOutcome:
    data, batch_id = form.cleaned_data, form.batch.pk
    if action in ("assign", "reassign"):
        reader = User.objects.filter(pk=data["reader"]).first()
        if reader is None:
            raise ServiceError("not_a_reader", _("Ce second lecteur n'existe pas."))
        service = batch_services.batch_assign if action == "assign" else batch_services.batch_reassign
        return service(batch_id=batch_id, reader=reader, actor=actor, dry_run=dry_run)
    if action == "split":
        return batch_services.batch_split(
            batch_id=batch_id, count=data["count"], actor=actor, dry_run=dry_run
        )
    if action == "merge":
        return batch_services.batch_merge(
            batch_id=batch_id, other_id=data["other"], actor=actor, dry_run=dry_run
        )
    return batch_services.batch_recall(batch_id=batch_id, actor=actor, dry_run=dry_run)


def _back_to_queue(action: str, outcome: BatchOutcome, before: dict) -> list[int]:
    if action == "recall":
        return [*outcome.released, *before["queued"]]
    return [pk for pk, _reason in outcome.plan.refused] if outcome.plan else []


def _preview(action: str, form: BatchActionForm, outcome: BatchOutcome, before: dict) -> dict:
    """What confirming would change, from the dry run: exams assigned, refused (why), back to the queue."""
    plan = outcome.plan
    back = _back_to_queue(action, outcome, before)
    moving = outcome.added if action in ("split", "merge") else []
    staying = before["in_reading"] if action == "reassign" else []
    refused = plan.refused if plan else []
    exams = _exams({*(plan.assigned if plan else []), *(pk for pk, _r in refused), *back, *moving, *staying})
    return {
        "action": action,
        "plan": plan,
        "assigned": [exams[pk] for pk in (plan.assigned if plan else []) if pk in exams],
        "refused": [(exams.get(pk), pk, reason) for pk, reason in refused],
        "back": [exams[pk] for pk in back if pk in exams],
        "moving": [exams[pk] for pk in moving if pk in exams],
        "staying": [exams[pk] for pk in staying if pk in exams],
        "new_batch": outcome.batch.name if action == "split" and outcome.batch else "",
        "fields": [(name, str(value)) for name, value in form.cleaned_data.items()],
        "url": reverse("coordination:batch_action", args=[form.batch.pk, action]),
    }


def _done_message(action: str, batch: Batch, outcome: BatchOutcome, before: dict) -> str:
    back = len(_back_to_queue(action, outcome, before))
    if action in ("assign", "reassign"):
        template = (
            _("Lot attribué à %(reader)s : %(n)s examen(s) attribué(s), %(back)s rendu(s) à la file.")
            if action == "assign"
            else _("Lot réattribué à %(reader)s : %(n)s examen(s) attribué(s), %(back)s rendu(s) à la file.")
        )
        return template % {"reader": outcome.plan.reader, "n": len(outcome.plan.assigned), "back": back}
    if action == "split":
        return _("%(n)s examen(s) détaché(s) vers le lot « %(name)s » (n° %(pk)s).") % {
            "n": len(outcome.added),
            "name": outcome.batch.name,
            "pk": outcome.batch.pk,
        }
    if action == "merge":
        text = _("Fusion faite : %(n)s examen(s) ajouté(s) au lot.") % {"n": len(outcome.added)}
        if outcome.plan:
            text += " " + _("%(a)s attribué(s) à %(reader)s, %(back)s rendu(s) à la file.") % {
                "a": len(outcome.plan.assigned),
                "reader": outcome.plan.reader,
                "back": back,
            }
        return text
    return _("Lot « %(name)s » rappelé : %(back)s examen(s) rendu(s) à la file.") % {
        "name": batch.name,
        "back": back,
    }
