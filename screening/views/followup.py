"""Follow-up of positives (R-FU-*): the practice enters its BDD, checks, histology and treatment; the secretariat
does the same from paper for every practice, watches the board and records interval cancers.

Views only parse, call a service and show its French message; every page that shows a woman is audited."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from screening.forms_followup import (
    ExamLookupForm,
    HistologyForm,
    IntervalCancerForm,
    TreatmentForm,
    WorkUpForm,
)
from screening.models import AuditEvent, ExamState, WorkUp
from screening.selectors import exam_history_for_practice, user_roles
from screening.selectors_followup import (
    exam_is_negative,
    follow_up_board,
    follow_up_exam_facts,
    follow_up_exam_for_user,
    follow_up_in_surveillance,
    follow_up_practices,
    follow_up_worklist,
    surveillance_next_check,
    work_up_expected_origin,
)
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.services.followup import (
    histology_record,
    interval_cancer_record,
    treatment_record,
    work_up_record,
)

from .common import client_ip, coordinator_required, role_required

S = ExamState
followup_required = role_required(lambda r: r.is_practice_user or r.is_coordinator)
AWAITING = {
    S.BDD_PENDING: gettext_lazy("Bilan différé"),
    S.SURVEILLANCE: gettext_lazy("Contrôle de surveillance"),
    S.HISTOLOGY_PENDING: gettext_lazy("Histologie"),
    S.LOST_TO_FOLLOW_UP: gettext_lazy("Bilan ou histologie tardifs"),
}


def _audit(request: HttpRequest, *, exam=None, what: str, action=AuditEvent.Action.EXAM_VIEW) -> None:
    audit_record(actor=request.user, action=action, exam=exam, object_ref=what, ip_address=client_ip(request))


def _source(request: HttpRequest, exam) -> str:
    """The practice's own entry, or the secretariat's from the paper form."""
    if exam.practice_id in user_roles(request.user).practice_ids:
        return WorkUp.Source.PRACTICE
    return WorkUp.Source.PAPER


def _service_errors(form, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@followup_required
def worklist(request: HttpRequest) -> HttpResponse:
    """'Bilans à renseigner': the exams waiting for news, oldest mammogram first."""
    roles = user_roles(request.user)
    state = request.GET.get("etat", "")
    practice = request.GET.get("cabinet", "")
    practice_id = int(practice) if practice.isdigit() and roles.is_coordinator else None
    exams = follow_up_worklist(user=request.user, state=state, practice_id=practice_id)
    page = Paginator(exams, 50).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for exam in page:
        exam.days_since = (today - exam.mammogram_date).days
        exam.awaiting = AWAITING.get(exam.state, "")
        exam.check_due = surveillance_next_check(exam=exam) if exam.state == S.SURVEILLANCE else None
    _audit(request, what="suivi : bilans à renseigner", action=AuditEvent.Action.DASHBOARD_VIEW)
    return render(
        request,
        "followup/worklist.html",
        {
            "page": page,
            "state": state,
            "states": [(s, S(s).label) for s in AWAITING],
            "practice_id": practice_id,
            "practices": follow_up_practices(user=request.user) if roles.is_coordinator else None,
            "is_coordinator": roles.is_coordinator,
            "today": today,
        },
    )


@followup_required
def exam_followup(request: HttpRequest, exam_id: int) -> HttpResponse:
    """One exam's follow-up: what was received, what is awaited, the forms that apply now."""
    exam = follow_up_exam_for_user(user=request.user, exam_id=exam_id)
    roles = user_roles(request.user)
    facts = follow_up_exam_facts(exam=exam)
    _audit(request, exam=exam, what="suivi : fiche de suivi")
    in_practice = exam.practice_id in roles.practice_ids
    context = {
        "exam": exam,
        **facts,
        "can_work_up": exam.state in (S.BDD_PENDING, S.SURVEILLANCE, S.LOST_TO_FOLLOW_UP),
        "is_check": follow_up_in_surveillance(exam=exam),
        "check_due": surveillance_next_check(exam=exam) if exam.state == S.SURVEILLANCE else None,
        "can_histology": exam.state in (S.HISTOLOGY_PENDING, S.LOST_TO_FOLLOW_UP)
        or (exam.state == S.CLOSED and bool(facts["histologies"])),
        "can_treatment": facts["has_malignant"],
        "can_interval": roles.is_coordinator and exam_is_negative(exam=exam),
        "history": exam_history_for_practice(exam=exam) if in_practice and not roles.is_coordinator else None,
        "events": exam.status_events.select_related("actor").order_by("at", "pk")
        if roles.is_coordinator
        else None,
    }
    return render(request, "followup/exam.html", context)


@followup_required
def work_up_new(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = follow_up_exam_for_user(user=request.user, exam_id=exam_id)
    expected = work_up_expected_origin(exam=exam)
    origins = [expected] if expected == WorkUp.Origin.SURV else [WorkUp.Origin.POS_L2, WorkUp.Origin.POS_L1]
    form = WorkUpForm(
        request.POST if request.method == "POST" else None, origins=origins, initial={"origin": expected}
    )
    source = _source(request, exam)
    if request.method == "POST" and form.is_valid():
        try:
            work_up_record(exam_id=exam.pk, actor=request.user, source=source, **form.cleaned_data)
        except ServiceError as error:
            _service_errors(form, error)
        else:
            exam.refresh_from_db()
            messages.success(
                request, _("Bilan enregistré. État de l'examen : %(s)s.") % {"s": exam.get_state_display()}
            )
            return redirect("followup:exam", exam_id=exam.pk)
    _audit(request, exam=exam, what="suivi : fiche BDD")
    is_check = expected == WorkUp.Origin.SURV
    return render(
        request,
        "followup/work_up_form.html",
        {"exam": exam, "form": form, "is_check": is_check, "paper": source == WorkUp.Source.PAPER},
    )


@followup_required
def histology_new(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = follow_up_exam_for_user(user=request.user, exam_id=exam_id)
    form = HistologyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            histology_record(exam_id=exam.pk, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, _("Histologie enregistrée."))
            return redirect("followup:exam", exam_id=exam.pk)
    _audit(request, exam=exam, what="suivi : histologie")
    return render(request, "followup/histology_form.html", {"exam": exam, "form": form})


@followup_required
def treatment_edit(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = follow_up_exam_for_user(user=request.user, exam_id=exam_id)
    current = follow_up_exam_facts(exam=exam)["treatment"]
    initial = {f: getattr(current, f) for f in TreatmentForm.base_fields} if current is not None else None
    form = TreatmentForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            treatment_record(exam_id=exam.pk, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, _("Dates de traitement enregistrées."))
            return redirect("followup:exam", exam_id=exam.pk)
    _audit(request, exam=exam, what="suivi : traitement")
    return render(request, "followup/treatment_form.html", {"exam": exam, "form": form})


@coordinator_required
def board(request: HttpRequest) -> HttpResponse:
    """The secretariat's follow-up board: counts per state, overdue, lost to follow-up."""
    _audit(request, what="suivi : tableau de suivi", action=AuditEvent.Action.DASHBOARD_VIEW)
    return render(request, "followup/board.html", follow_up_board(today=timezone.localdate()))


@coordinator_required
def interval_cancer_lookup(request: HttpRequest) -> HttpResponse:
    """Reach an exam by its number, then record the interval cancer on it."""
    form = ExamLookupForm(request.GET or None)
    if request.GET and form.is_valid():
        return redirect("followup:interval_cancer", exam_id=form.cleaned_data["examen"])
    return render(request, "followup/interval_lookup.html", {"form": form})


@coordinator_required
def interval_cancer_new(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = follow_up_exam_for_user(user=request.user, exam_id=exam_id)
    negative = exam_is_negative(exam=exam)
    form = IntervalCancerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            interval_cancer_record(exam_id=exam.pk, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, _("Cancer de l'intervalle enregistré."))
            return redirect("followup:exam", exam_id=exam.pk)
    _audit(request, exam=exam, what="suivi : cancer de l'intervalle")
    return render(
        request,
        "followup/interval_cancer_form.html",
        {"exam": exam, "form": form, "negative": negative, **follow_up_exam_facts(exam=exam)},
    )
