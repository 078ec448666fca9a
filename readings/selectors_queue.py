"""Reads of the coordinator's L2 queue pages: the queue and its deadline heat map, one exam's assignment
decisions and who could read it now, the readers' loads, the open alerts.

Built for a queue of 100,000 exams: counts are aggregates, the heat map is one GROUP BY due_at, a page of
50 rows costs a fixed number of queries (select_related / prefetch), never one per row.
"""

import datetime as dt
import math

import django_filters
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.forms import NullBooleanSelect
from django.http import Http404, QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from readings.filters import QUEUE_STATES, QueueFilter
from readings.models import (
    Alert,
    Assignment,
    BatchExam,
    L2Reading,
    ReaderAbsence,
    ReaderProfile,
    ReadingSession,
)
from readings.services.engine import EXCLUSIONS, WAIT_CODES, exclusion, year_fraction
from readings.services.reader_state import (
    QUEUE_ORDER,
    engine_rules,
    exam_facts,
    reader_states,
    rules_current,
    week_start,
)
from screening.models import Exam, ExamState, User

PER_PAGE = 50
HEAT_WEEKS = 5
OPEN_L2_STATES = tuple(code for code, _label in QUEUE_STATES)
DEADLINE_PARAMS = ("page", "deadline", "due_before", "due_on")
WEEKDAYS = (
    gettext_lazy("lun."), gettext_lazy("mar."), gettext_lazy("mer."), gettext_lazy("jeu."),
    gettext_lazy("ven."), gettext_lazy("sam."), gettext_lazy("dim."),
)  # fmt: skip


class QueuePageFilter(QueueFilter):
    """The shared queue filters, plus what the heat map links to: one due day, or every unread exam."""

    state = django_filters.ChoiceFilter(
        label=gettext_lazy("État"),
        choices=[("OPEN", gettext_lazy("Tous les non lus")), *QUEUE_STATES],
        empty_label=gettext_lazy("En file L2"),
        method="filter_state",
    )
    due_on = django_filters.DateFilter(
        label=gettext_lazy("Échéance le"), field_name="due_at", lookup_expr="exact"
    )

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "OPEN":
            return queryset.filter(state__in=OPEN_L2_STATES)
        return queryset.filter(state=value)


def soon_limit(today: dt.date) -> dt.date:
    """The last day of "à rendre sous 5 jours", as in the shared filter."""
    return today + dt.timedelta(days=settings.L2_RESULT_DEADLINE_DAYS - settings.L2_DUE_SOON_DAYS)


# ------------------------------------------------------------------------------------------------ queue


def queue_page(*, params: QueryDict, today: dt.date) -> dict:
    """The filtered queue in the engine's priority order, one page of it, its heat map and the counts."""
    active = Assignment.objects.filter(state=Assignment.State.ACTIVE).select_related("reader")
    exams = (
        Exam.objects.select_related("practice", "participant")
        .annotate(in_batch=Exists(BatchExam.objects.filter(exam=OuterRef("pk"), active=True)))
        .prefetch_related(Prefetch("assignments", queryset=active, to_attr="active_assignments"))
    )
    filterset = QueuePageFilter(data=params, queryset=exams)
    for name in ("mammogram_from", "mammogram_to", "due_before", "due_on"):
        widget = filterset.form.fields[name].widget
        widget.input_type, widget.format = "date", "%Y-%m-%d"
    for name in ("urgent", "in_batch"):
        widget = filterset.form.fields[name].widget
        if isinstance(widget, NullBooleanSelect):  # "Inconnu" reads oddly for a filter
            widget.choices = [("unknown", _("Tous")), ("true", _("Oui")), ("false", _("Non"))]
    page = Paginator(filterset.qs.order_by(*QUEUE_ORDER), PER_PAGE).get_page(params.get("page"))
    soon = soon_limit(today)
    for exam in page.object_list:
        exam.days_left = (exam.due_at - today).days
        exam.days_late = -exam.days_left
        exam.due_class = "late" if exam.due_at < today else ("soon" if exam.due_at <= soon else "")
        exam.reader = exam.active_assignments[0].reader if exam.active_assignments else None
    return {
        "filter": filterset,
        "filters_invalid": bool(filterset.errors),
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "heat": deadline_heatmap(params=params, today=today),
        "counts": queue_counts(today=today),
        "readers": reader_choices(),
        "today": today,
    }


def deadline_heatmap(*, params: QueryDict, today: dt.date, weeks: int = HEAT_WEEKS) -> dict:
    """Exams due per day for the next weeks (Monday first), for the current filters except the deadline ones.

    One GROUP BY due_at query; each cell carries the query string that shows exactly its exams.
    """
    base = params.copy()
    for key in DEADLINE_PARAMS:
        base.pop(key, None)
    filterset = QueuePageFilter(data=base, queryset=Exam.objects.all())
    per_day = dict(
        filterset.qs.order_by().values("due_at").annotate(n=Count("pk")).values_list("due_at", "n")
    )
    first = week_start(today)
    last = first + dt.timedelta(days=7 * weeks - 1)
    window = {day: n for day, n in per_day.items() if today <= day <= last}
    peak = max(window.values(), default=0)
    rows = []
    for w in range(weeks):
        row = []
        for d in range(7):
            day = first + dt.timedelta(days=7 * w + d)
            n = window.get(day, 0)
            link = base.copy()
            link["due_on"] = day.isoformat()
            row.append({
                "day": day,
                "past": day < today,
                "today": day == today,
                "n": n,
                "level": math.ceil(4 * n / peak) if n else 0,
                "month": day.day == 1 or (w == 0 and d == 0),
                "query": link.urlencode(),
            })  # fmt: skip
        rows.append(row)
    overdue = base.copy()
    overdue["deadline"] = "overdue"
    return {
        "weeks": rows,
        "weekdays": WEEKDAYS,
        "overdue": sum(n for day, n in per_day.items() if day < today),
        "overdue_query": overdue.urlencode(),
        "later": sum(n for day, n in per_day.items() if day > last),
        "last": last,
    }


def queue_counts(*, today: dt.date) -> dict:
    """The whole L2 queue by state, by reason for waiting, pinned and by deadline: one aggregate query."""
    queued = Q(state=ExamState.QUEUED)
    figures = Exam.objects.filter(state__in=OPEN_L2_STATES).aggregate(
        **{f"state_{code}": Count("pk", filter=Q(state=code)) for code in OPEN_L2_STATES},
        **{f"wait_{code}": Count("pk", filter=queued & Q(queue_wait_code=code)) for code in WAIT_CODES},
        urgent=Count("pk", filter=queued & Q(urgent=True)),
        overdue=Count("pk", filter=Q(due_at__lt=today)),
        soon=Count("pk", filter=Q(due_at__gte=today, due_at__lte=soon_limit(today))),
    )
    return {
        "states": [(code, label, figures[f"state_{code}"]) for code, label in QUEUE_STATES],
        "waits": [(code, label, figures[f"wait_{code}"]) for code, label in WAIT_CODES.items()],
        "urgent": figures["urgent"],
        "overdue": figures["overdue"],
        "soon": figures["soon"],
        "open": sum(figures[f"state_{code}"] for code in OPEN_L2_STATES),
    }


def reader_choices() -> list[tuple[int, str]]:
    """The readers a coordinator may pick for an exam (active, habilitated), by site then name."""
    profiles = (
        ReaderProfile.objects.filter(active=True, qualified=True, user__is_active=True)
        .select_related("user", "site")
        .order_by("site__name", "user__last_name", "user__first_name", "pk")
    )
    return [(p.user_id, f"{p.user} — {p.site.name}") for p in profiles]


def reader_user(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id, reader_profile__isnull=False).first()


def exam_for_coordinator(*, exam_id: int) -> Exam:
    exam = (
        Exam.objects.select_related("practice__home_site", "participant", "l1_radiologist")
        .filter(pk=exam_id)
        .first()
    )
    if exam is None:
        raise Http404(_("Examen introuvable."))
    return exam


# ------------------------------------------------------------------------------------ one exam's decisions


def exam_assignment_detail(*, exam_id: int, today: dt.date) -> dict:
    """The exam's assignments with the engine's explanation, its state history and who could read it now."""
    exam = exam_for_coordinator(exam_id=exam_id)
    assignments = list(
        exam.assignments.select_related("reader", "assigned_by", "batch", "session").order_by(
            "assigned_at", "pk"
        )
    )
    for assignment in assignments:
        assignment.explained = decision_explained(assignment.decision)
    return {
        "exam": exam,
        "assignments": assignments,
        "active": next((a for a in assignments if a.state == Assignment.State.ACTIVE), None),
        "events": exam.status_events.select_related("actor").order_by("at", "pk"),
        "eligibility": eligibility_now(exam=exam, today=today),
        "readers": reader_choices(),
        "today": today,
        "is_open": exam.state in OPEN_L2_STATES,
    }


def decision_explained(decision: dict) -> dict | None:
    """The engine's JSON decision as rows a coordinator reads: the chosen figures and every exclusion."""
    if not isinstance(decision, dict) or not decision:
        return None
    rule = decision.get("rule", "")
    excluded = [
        {"name": item.get("name", ""), "code": item.get("code", ""),
         "label": EXCLUSIONS.get(item.get("code", ""), item.get("code", ""))}
        for item in decision.get("excluded", [])
        if isinstance(item, dict)
    ]  # fmt: skip
    return {
        "rule": rule,
        "automatic": rule == "BALANCE",
        "chosen": decision.get("chosen") if isinstance(decision.get("chosen"), dict) else None,
        "eligible": decision.get("eligible"),
        "excluded": excluded,
    }


def eligibility_now(*, exam: Exam, today: dt.date) -> list[dict]:
    """Every reader with the rule that keeps them from this exam today; eligible ones in the engine's order
    (lowest weighted week load first), so the first one is whom the engine would pick now."""
    rules = rules_current()
    home_site = exam.practice.home_site_id
    (facts,) = exam_facts([(exam.pk, exam.l1_radiologist_id, exam.practice_id, home_site)])
    engine = engine_rules(rules)
    fraction = year_fraction(today)
    rows = []
    for state in reader_states(profile_ids=None, today=today, rules=rules):
        code = exclusion(state, facts, engine)
        weighted = (state.week_load + 1) / state.weight(fraction) if code is None else None
        rows.append({"reader": state, "code": code or "", "label": EXCLUSIONS[code] if code else "",
                     "weighted": weighted, "pace": state.pace_factor(fraction)})  # fmt: skip
    rows.sort(
        key=lambda r: (
            r["code"] != "",
            r["weighted"] or 0,
            r["reader"].open_load,
            r["reader"].day_load,
            r["reader"].user_id,
        )  # fmt: skip
    )
    if rows and not rows[0]["code"]:
        rows[0]["next_choice"] = True
    return rows


# ------------------------------------------------------------------------------------------------ readers


def readers_overview(*, today: dt.date) -> dict:
    """One row per reader from one batch of queries: availability, loads, yearly volume and pace, session."""
    rules = rules_current()
    fraction = year_fraction(today)
    states = {s.user_id: s for s in reader_states(profile_ids=None, today=today, rules=rules)}
    profiles = list(
        ReaderProfile.objects.select_related("user", "site").order_by("site__name", "user__last_name", "pk")
    )
    absences: dict[int, ReaderAbsence] = {}
    for absence in ReaderAbsence.objects.filter(ends_on__gte=today).order_by("starts_on", "pk"):
        absences.setdefault(absence.reader_id, absence)
    user_ids = [p.user_id for p in profiles]
    read_week = dict(
        L2Reading.objects.filter(
            status=L2Reading.Status.FINAL, reader_id__in=user_ids, submitted_at__date__gte=week_start(today)
        )
        .values("reader_id")
        .annotate(n=Count("pk"))
        .values_list("reader_id", "n")
    )
    sessions = {
        s.reader_id: s
        for s in ReadingSession.objects.filter(reader_id__in=user_ids, state=ReadingSession.State.ACTIVE)
    }
    rows = []
    for profile in profiles:
        state = states[profile.user_id]
        done = state.year_done - state.open_load
        expected = round(state.yearly_target * fraction)
        absence = absences.get(profile.pk)
        rows.append({
            "profile": profile,
            "state": state,
            "workdays": workdays_label(profile.workdays),
            "absence": absence,
            "absent_now": bool(absence and absence.starts_on <= today),
            "day_left": max(0, state.day_capacity - state.day_load),
            "read_week": read_week.get(profile.user_id, 0),
            "done": done,
            "expected": expected,
            "percent": min(100, round(100 * done / state.yearly_target)) if state.yearly_target else 0,
            "pace": state.pace_factor(fraction),
            "behind": state.available and state.year_done < 0.8 * state.yearly_target * fraction,
            "ahead": done >= expected,
            "session": sessions.get(profile.user_id),
        })  # fmt: skip
    usable = [r for r in rows if r["state"].available and not r["state"].absent and r["state"].works_today]
    return {
        "rows": rows,
        "today": today,
        "reading_today": len(usable),
        "capacity_left": sum(r["day_left"] for r in usable),
        "open_total": sum(r["state"].open_load for r in rows),
        "default_target": rules.yearly_target,
    }


def workdays_label(workdays: str) -> str:
    if set("1234567") <= set(workdays):
        return _("tous les jours")
    return " ".join(str(WEEKDAYS[int(d) - 1]) for d in sorted(set(workdays))) or _("aucun")


# ------------------------------------------------------------------------------------------------- alerts


def alerts_page(*, kind: str, page_number: str | None) -> dict:
    """Open alerts grouped by kind (counts per kind), newest first within a kind, paginated."""
    open_alerts = Alert.objects.filter(resolved_at__isnull=True)
    per_kind = {
        row["kind"]: row
        for row in open_alerts.values("kind").annotate(
            n=Count("pk"), unseen=Count("pk", filter=Q(acknowledged_at__isnull=True))
        )
    }
    kinds = [
        {"code": code, "label": label, "n": per_kind.get(code, {}).get("n", 0),
         "unseen": per_kind.get(code, {}).get("unseen", 0)}
        for code, label in Alert.Kind.choices
    ]  # fmt: skip
    if kind not in Alert.Kind.values:
        kind = ""
    alerts = open_alerts.select_related("exam__participant", "reader", "acknowledged_by")
    if kind:
        alerts = alerts.filter(kind=kind)
    kind_order = Case(
        *[When(kind=code, then=Value(i)) for i, code in enumerate(Alert.Kind.values)],
        output_field=IntegerField(),
    )
    page: Page = Paginator(alerts.order_by(kind_order, "-raised_at", "-pk"), PER_PAGE).get_page(page_number)
    return {
        "kinds": kinds,
        "kind": kind,
        "page": page,
        "total": sum(k["n"] for k in kinds),
        "unseen": sum(k["unseen"] for k in kinds),
    }


def alerts_unseen_count() -> int:
    """Open alerts no coordinator has marked as seen (the navigation's "Alertes (n)")."""
    return Alert.objects.filter(resolved_at__isnull=True, acknowledged_at__isnull=True).count()
