"""The L2 verdict form of the first viewer (the full keyboard-first panel comes with the workstation)."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from readings.models import CtiItem, L2Reading
from readings.services.l2_reading import CtiInput, FindingInput
from screening.models.l1 import LesionType, Quadrant

SIDES = (("D", _("sein droit")), ("G", _("sein gauche")))
SLOTS = (("RCC", "D", "CC"), ("LCC", "G", "CC"), ("RMLO", "D", "MLO"), ("LMLO", "G", "MLO"))
BLANK = [("", "—")]


class L2VerdictForm(forms.Form):
    verdict = forms.ChoiceField(
        label=_("Verdict"), choices=L2Reading.Verdict.choices, widget=forms.RadioSelect
    )
    acr_right = forms.TypedChoiceField(
        label=_("ACR sein droit"), choices=[(1, "1"), (2, "2")], coerce=int, initial=1, required=False
    )
    acr_left = forms.TypedChoiceField(
        label=_("ACR sein gauche"), choices=[(1, "1"), (2, "2")], coerce=int, initial=1, required=False
    )
    comment = forms.CharField(
        label=_("Commentaire pour le premier lecteur"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    proposed_exams = forms.CharField(label=_("Examens proposés"), required=False, max_length=300)
    reading_seconds = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for side, _label in SIDES:
            self.fields[f"finding_{side}_type"] = forms.ChoiceField(
                label=_("Type"), choices=BLANK + LesionType.choices, required=False
            )
            self.fields[f"finding_{side}_quadrant"] = forms.ChoiceField(
                label=_("Localisation"), choices=BLANK + Quadrant.choices, required=False
            )
            self.fields[f"finding_{side}_clock"] = forms.TypedChoiceField(
                label=_("Rayon horaire"),
                choices=BLANK + [(h, f"{h} h") for h in range(1, 13)],
                coerce=int,
                empty_value=None,
                required=False,
            )
            self.fields[f"finding_{side}_acr"] = forms.TypedChoiceField(
                label=_("ACR"),
                choices=BLANK + [(0, "0"), (3, "3"), (4, "4"), (5, "5")],
                coerce=int,
                empty_value=None,
                required=False,
            )
        for slot, _side, _view in SLOTS:
            self.fields[f"cti_{slot}"] = forms.ChoiceField(
                label=slot,
                choices=[("", _("Conforme"))]
                + [c for c in CtiItem.Reason.choices if c[0] not in ("IMP", "TRF")],
                required=False,
            )
        self.fields["client_uuid"].initial = uuid.uuid4()

    def finding_rows(self):
        return [
            (label, [self[f"finding_{side}_{part}"] for part in ("type", "quadrant", "clock", "acr")])
            for side, label in SIDES
        ]

    def cti_rows(self):
        return [self[f"cti_{slot}"] for slot, _side, _view in SLOTS]

    def findings(self) -> list[FindingInput]:
        data, result = self.cleaned_data, []
        for side, label in SIDES:
            parts = [data.get(f"finding_{side}_{p}") for p in ("type", "quadrant", "acr")]
            if any(p not in (None, "") for p in parts):
                if any(p in (None, "") for p in parts):
                    raise forms.ValidationError(
                        _("Anomalie du %(side)s : type, localisation et ACR sont requis.") % {"side": label}
                    )
                result.append(
                    FindingInput(
                        side=side,
                        lesion_type=parts[0],
                        quadrant=parts[1],
                        acr=parts[2],
                        clock=data.get(f"finding_{side}_clock"),
                    )
                )
        return result

    def cti_items(self) -> list[CtiInput]:
        return [
            CtiInput(side=side, view=view, reason=self.cleaned_data[f"cti_{slot}"])
            for slot, side, view in SLOTS
            if self.cleaned_data.get(f"cti_{slot}")
        ]
