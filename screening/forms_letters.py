"""Forms of the letters pages: list filters, template edit (with preview on a real exam), letter selection."""

from django import forms
from django.utils.translation import gettext_lazy as _

from screening.models import LetterKind, Practice
from screening.selectors_letters import LetterFilters

DATE_INPUTS = ["%Y-%m-%d", "%d/%m/%Y"]


class LetterFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Courrier"), required=False, choices=[("", _("Tous"))] + LetterKind.choices
    )
    practice = forms.ModelChoiceField(
        label=_("Cabinet"), required=False, queryset=Practice.objects.order_by("name"), empty_label=_("Tous")
    )
    date_from = forms.DateField(
        label=_("Du"),
        required=False,
        input_formats=DATE_INPUTS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("Au"),
        required=False,
        input_formats=DATE_INPUTS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def filters(self) -> LetterFilters:
        """The valid filters; an invalid field is ignored (shown with its error)."""
        data = self.cleaned_data if self.is_valid() else getattr(self, "cleaned_data", {})
        practice = data.get("practice")
        return LetterFilters(
            kind=data.get("kind") or "",
            practice_id=practice.pk if practice else None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class LetterTemplateForm(forms.Form):
    subject = forms.CharField(label=_("Objet"), max_length=200, widget=forms.TextInput(attrs={"size": 80}))
    body = forms.CharField(
        label=_("Texte du courrier"),
        widget=forms.Textarea(attrs={"rows": 26, "cols": 90, "spellcheck": "true", "class": "code"}),
    )
    exam_id = forms.IntegerField(
        label=_("Aperçu avec l'examen n°"),
        required=False,
        min_value=1,
        help_text=_("Laisser vide pour un exemple fictif."),
    )


def selected_ids(data) -> list[int]:
    """The letter ids ticked in a list (repeated `letter` fields); anything not a number is ignored."""
    return sorted({int(value) for value in data.getlist("letter") if str(value).isdigit()})
