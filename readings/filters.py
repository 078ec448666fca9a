"""The coordinator's queue filters (django-filter), shared by the queue page and the batch builder."""

import datetime as dt

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from readings.models import BatchExam
from screening.models import Exam, ExamState, Practice, ReadingSite

# Calendar pickers; the browser sends ISO dates, which Django forms always accept.
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
YES_NO = [("true", _("Oui")), ("false", _("Non"))]

QUEUE_STATES = [
    (s, label)
    for s, label in ExamState.choices
    if s
    in (
        ExamState.QUEUED,
        ExamState.ASSIGNED,
        ExamState.IN_READING,
        ExamState.DEFERRED,
        ExamState.CONSENSUS_PENDING,
    )
]


class QueueFilter(django_filters.FilterSet):
    practice = django_filters.ModelChoiceFilter(
        label=_("Cabinet"), queryset=Practice.objects.order_by("name"), field_name="practice"
    )
    site = django_filters.ModelChoiceFilter(
        label=_("Site de rattachement du cabinet"),
        queryset=ReadingSite.objects.order_by("name"),
        field_name="practice__home_site",
    )
    state = django_filters.ChoiceFilter(label=_("État"), choices=QUEUE_STATES, empty_label=_("En file L2"))
    mammogram_from = django_filters.DateFilter(
        label=_("Mammographie du"), field_name="mammogram_date", lookup_expr="gte", widget=DATE
    )
    mammogram_to = django_filters.DateFilter(
        label=_("au"), field_name="mammogram_date", lookup_expr="lte", widget=DATE
    )
    deadline = django_filters.ChoiceFilter(
        label=_("Échéance"),
        choices=[
            ("overdue", _("Hors délai")),
            ("soon", _("À rendre sous 5 jours")),
            ("later", _("Plus tard")),
        ],
        method="filter_deadline",
    )
    due_before = django_filters.DateFilter(
        label=_("Échéance avant le"), field_name="due_at", lookup_expr="lte", widget=DATE
    )
    urgent = django_filters.ChoiceFilter(
        label=_("Urgent"), choices=YES_NO, empty_label=_("Tous"), method="filter_urgent"
    )
    in_batch = django_filters.ChoiceFilter(
        label=_("Dans un lot"), choices=YES_NO, empty_label=_("Tous"), method="filter_in_batch"
    )
    wait = django_filters.ChoiceFilter(
        label=_("En attente parce que"),
        field_name="queue_wait_code",
        choices=[
            ("NO_CAPACITY", _("Capacités atteintes")),
            ("ALL_EXCLUDED", _("Tous les lecteurs exclus")),
            ("NO_READER", _("Aucun lecteur")),
        ],
    )

    class Meta:
        model = Exam
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if not self.form.cleaned_data.get("state"):
            queryset = queryset.filter(state=ExamState.QUEUED)
        return super().filter_queryset(queryset)

    def filter_deadline(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        today = timezone.localdate()
        soon = today + dt.timedelta(days=settings.L2_RESULT_DEADLINE_DAYS - settings.L2_DUE_SOON_DAYS)
        if value == "overdue":
            return queryset.filter(due_at__lt=today)
        if value == "soon":
            return queryset.filter(due_at__gte=today, due_at__lte=soon)
        if value == "later":
            return queryset.filter(due_at__gt=soon)
        return queryset

    def filter_urgent(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(urgent=value == "true") if value else queryset

    def filter_in_batch(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        held = Exists(BatchExam.objects.filter(exam=OuterRef("pk"), active=True))
        if not value:
            return queryset
        return queryset.filter(held) if value == "true" else queryset.exclude(held)


def filters_summary(data: dict) -> dict:
    """The filters a batch was built from, JSON-safe, for its record."""
    return {k: str(v.pk if hasattr(v, "pk") else v) for k, v in data.items() if v not in (None, "")}


__all__ = ["QueueFilter", "filters_summary"]
