"""Forms of the coordinator's outcome pages: a consensus meeting's decision, a new policy version."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from readings.models import Consensus
from screening.models import ReadingPolicy
from screening.services.policies import DEFAULT_VERSION, PRESETS

OPINIONS = [
    ("", _("— absent")),
    (Consensus.Outcome.NEGATIVE, _("Négatif")),
    (Consensus.Outcome.POSITIVE, _("Positif (rappel)")),
    (Consensus.Outcome.CTI, _("Clichés à refaire")),
]


class ConsensusMeetingForm(forms.Form):
    """One opinion per reader present (at least two), a note, and the coordinating physician's choice on a tie."""

    note = forms.CharField(
        label=_("Compte rendu de la réunion"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    coordinator_outcome = forms.ChoiceField(
        label=_("Décision du médecin coordinateur (sans accord)"), choices=OPINIONS, required=False
    )

    def __init__(self, *args, readers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.readers = list(readers)
        for reader in self.readers:
            self.fields[f"opinion_{reader.pk}"] = forms.ChoiceField(
                label=str(reader), choices=OPINIONS, required=False
            )

    def opinion_fields(self):
        return [self[f"opinion_{r.pk}"] for r in self.readers]

    def opinions(self) -> dict[int, str]:
        return {
            r.pk: self.cleaned_data[f"opinion_{r.pk}"]
            for r in self.readers
            if self.cleaned_data.get(f"opinion_{r.pk}")
        }


class PolicyForm(forms.ModelForm):
    class Meta:
        model = ReadingPolicy
        fields = [
            "version",
            "name",
            "scope",
            "blinding",
            "recall_rule",
            "resolution",
            "consensus_trigger",
            "cti_consensus",
            "concordant_positive_review",
            "consensus_tie_break",
            "active_from",
        ]
        widgets = {"active_from": forms.DateTimeInput(attrs={"type": "datetime-local"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["active_from"].initial = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        for name, value in PRESETS[DEFAULT_VERSION].items():  # start from France; change what differs
            if name in self.fields and name != "name":
                self.fields[name].initial = value
        self.fields["active_from"].input_formats = ["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"]
