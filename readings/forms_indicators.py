"""The indicators page's filters (GET): period (dates or a preset), breakdown, medium, practice."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from readings.selectors_indicators_defs import BREAKDOWNS
from screening.models import Exam, Practice

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
PRESETS = (
    ("annee", _("Cette année")),
    ("annee-precedente", _("L'année dernière")),
    ("12-mois", _("Les 12 derniers mois")),
)


def preset_period(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if preset == "annee-precedente":
        return dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)
    if preset == "12-mois":
        return today - dt.timedelta(days=364), today  # 365 days, today included
    return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)


class IndicatorFilterForm(forms.Form):
    periode = forms.ChoiceField(label=_("Période"), required=False, choices=(("", "—"), *PRESETS))
    du = forms.DateField(
        label=_("Du"), required=False, input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )  # fmt: skip
    au = forms.DateField(
        label=_("Au"), required=False, input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )  # fmt: skip
    par = forms.ChoiceField(
        label=_("Ventilation"), required=False,
        choices=(("", _("Aucune (totaux)")), *((k, label) for k, (_dim, label) in BREAKDOWNS.items())),
    )  # fmt: skip
    support = forms.ChoiceField(
        label=_("Support"), required=False, choices=(("", _("Film et console")), *Exam.Medium.choices)
    )
    cabinet = forms.TypedChoiceField(label=_("Cabinet"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cabinet"].choices = [("", _("Tous les cabinets"))] + [
            (p.pk, f"{p.name} ({p.town})") for p in Practice.objects.order_by("name")
        ]

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        if data.get("periode") or not (data.get("du") or data.get("au")):
            data["du"], data["au"] = preset_period(data.get("periode") or "annee", today)
        elif not data.get("du") or not data.get("au"):
            raise forms.ValidationError(
                _("Indiquez les deux dates de la période, ou choisissez une période.")
            )
        elif data["du"] > data["au"]:
            raise forms.ValidationError(_("La date de début doit précéder la date de fin."))
        return data

    def normalised(self) -> "IndicatorFilterForm":
        """The same filters with the preset resolved into dates, to show what was computed."""
        data = self.cleaned_data
        return IndicatorFilterForm(
            {
                "du": data["du"].isoformat(),
                "au": data["au"].isoformat(),
                "par": data.get("par") or "",
                "support": data.get("support") or "",
                "cabinet": data.get("cabinet") or "",
            }
        )

    def params(self) -> dict:
        """Keyword arguments for indicators_compute."""
        data = self.cleaned_data
        return {
            "start": data["du"],
            "end": data["au"],
            "group_by": data.get("par") or None,
            "medium": data.get("support") or None,
            "practice_id": data.get("cabinet"),
        }
