"""Forms of the coordinator's batch pages: build a batch, then assign, reassign, split, merge or recall it.

They only parse and check input; what an action does is decided by readings.services.batches.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from readings.models import Batch
from readings.services.batches import OPEN_BATCH
from readings.services.reader_state import reader_states, rules_current

MAX_BATCH_EXAMS = 500
FROM_FILTERS = "filtres"


class ExamIdsField(forms.Field):
    """A repeated `exam` parameter: exam ids, deduplicated in the order given, at most 500."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        ids: list[int] = []
        for raw in value:
            try:
                pk = int(str(raw).strip())
            except ValueError:
                raise ValidationError(
                    _("Numéro d'examen invalide : « %(value)s »."), params={"value": str(raw)[:20]}
                ) from None
            if pk <= 0 or pk > 2**31 - 1:
                raise ValidationError(_("Numéro d'examen invalide : « %(value)s »."), params={"value": pk})
            if pk not in ids:
                ids.append(pk)
        return ids

    def validate(self, value: list[int]) -> None:
        super().validate(value)
        if len(value) > MAX_BATCH_EXAMS:
            raise ValidationError(
                _("Un lot compte au plus %(max)s examens : %(n)s ont été choisis. Réduisez la sélection."),
                params={"max": MAX_BATCH_EXAMS, "n": len(value)},
            )


class BatchBuildForm(forms.Form):
    """The name of the new batch and, when they were chosen (queue page, or the preview), its exams."""

    name = forms.CharField(
        label=_("Nom du lot"),
        max_length=120,
        error_messages={"required": _("Donnez un nom au lot.")},
        widget=forms.TextInput(attrs={"size": 40, "placeholder": _("ex. Cabinet des Tilleuls, mars")}),
    )
    exam = ExamIdsField(required=False)
    origine = forms.CharField(required=False, widget=forms.HiddenInput)

    @property
    def from_filters(self) -> bool:
        return self.cleaned_data.get("origine") == FROM_FILTERS


def form_error_text(form: forms.Form) -> str:
    """All the form's errors as one French sentence, for a page message."""
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


class BatchActionForm(forms.Form):
    """An action on one batch; the batch narrows the choices offered."""

    def __init__(self, *args, batch: Batch, **kwargs):
        super().__init__(*args, **kwargs)
        self.batch = batch


def reader_options() -> list[tuple[int, str]]:
    """Every second reader with what is left of today's and this week's capacity, for a select."""
    states = reader_states(profile_ids=None, today=timezone.localdate(), rules=rules_current())
    options = []
    for s in sorted(states, key=lambda s: s.name.lower()):
        day_left = max(0, s.day_capacity - s.day_load)
        week_left = max(0, s.week_capacity - s.week_load)
        label = _(
            "%(name)s (%(site)s) — reste %(day)s/%(day_cap)s aujourd'hui, %(week)s/%(week_cap)s cette semaine"
        ) % {
            "name": s.name,
            "site": s.site_name,
            "day": day_left,
            "day_cap": s.day_capacity,
            "week": week_left,
            "week_cap": s.week_capacity,
        }
        if not s.available:
            label += " — " + str(_("inactif"))
        elif s.absent:
            label += " — " + str(_("absent aujourd'hui"))
        elif not s.works_today:
            label += " — " + str(_("ne lit pas aujourd'hui"))
        options.append((s.user_id, label))
    return options


class ReaderForm(BatchActionForm):
    """Assign (or reassign) the batch to one second reader."""

    reader = forms.TypedChoiceField(
        label=_("Second lecteur"),
        coerce=int,
        error_messages={
            "required": _("Choisissez un second lecteur."),
            "invalid_choice": _("Ce second lecteur n'existe pas ou n'est plus disponible."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        batch = self.batch
        options = [(pk, label) for pk, label in reader_options() if pk != batch.reader_id]
        self.fields["reader"].choices = [("", _("— choisir —")), *options]


class SplitForm(BatchActionForm):
    count = forms.IntegerField(
        label=_("Nombre d'examens à détacher"),
        min_value=1,
        max_value=MAX_BATCH_EXAMS * 10,
        error_messages={
            "required": _("Indiquez le nombre d'examens à détacher."),
            "invalid": _("Le nombre d'examens à détacher doit être un nombre entier."),
            "min_value": _("Détachez au moins 1 examen."),
            "max_value": _("Ce lot ne compte pas autant d'examens."),
        },
    )


class MergeForm(BatchActionForm):
    other = forms.TypedChoiceField(
        label=_("Lot à fusionner dans celui-ci"),
        coerce=int,
        error_messages={
            "required": _("Choisissez le lot à fusionner."),
            "invalid_choice": _("Ce lot n'existe pas ou n'est plus ouvert."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        others = (
            Batch.objects.filter(state__in=OPEN_BATCH)
            .exclude(pk=self.batch.pk)
            .select_related("reader")
            .annotate(n=Count("items", filter=Q(items__active=True)))
            .order_by("-pk")
        )
        choices = [("", _("— choisir —"))]
        for b in others:
            label = _("n° %(pk)s « %(name)s » — %(state)s, %(n)s examen(s)") % {
                "pk": b.pk,
                "name": b.name,
                "state": b.get_state_display().lower(),
                "n": b.n,
            }
            if b.reader_id:
                label += " — " + str(b.reader)
            choices.append((b.pk, label))
        self.fields["other"].choices = choices


class RecallForm(BatchActionForm):
    """Nothing to choose: the batch's unread exams go back to the queue."""


ACTION_FORMS: dict[str, type[BatchActionForm]] = {
    "assign": ReaderForm,
    "reassign": ReaderForm,
    "split": SplitForm,
    "merge": MergeForm,
    "recall": RecallForm,
}
