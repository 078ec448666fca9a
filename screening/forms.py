"""Forms of the practice side: the exam with its participant and L1 fiche."""

from django import forms
from django.utils.translation import gettext_lazy as _

from screening.models import Exam, L1Form, User
from screening.models.l1 import BdiComponent, LesionType, Quadrant

L1_FIELDS = [
    "first_participation",
    "hormone_therapy",
    "breast_cancer_history",
    "implants",
    "benign_surgery",
    "family_history",
    "high_risk",
    "clinical_exam",
    "clinical_findings",
    "density",
    "acr_initial_right",
    "acr_initial_left",
    "bdi_done",
    "bdi_components",
    "bdi_refused_by_woman",
    "acr_final_right",
    "acr_final_left",
    "conduct",
    "comment",
]


class ExamCreateForm(forms.ModelForm):
    """Participant, exam and L1 fiche on one page, as the paper fiche."""

    programme_id = forms.CharField(label=_("Numéro de dépistage"), max_length=30)
    last_name = forms.CharField(label=_("Nom"), max_length=100)
    first_name = forms.CharField(label=_("Prénom"), max_length=100)
    birth_date = forms.DateField(label=_("Date de naissance"), widget=forms.DateInput(attrs={"type": "date"}))
    mammogram_date = forms.DateField(
        label=_("Date de la mammographie"), widget=forms.DateInput(attrs={"type": "date"})
    )
    accession_number = forms.CharField(label=_("Numéro d'accession (RIS)"), max_length=64, required=False)
    l1_radiologist = forms.ModelChoiceField(
        label=_("Radiologue premier lecteur"), queryset=User.objects.none()
    )
    bdi_components = forms.MultipleChoiceField(
        label=_("Composantes du BDI"),
        choices=BdiComponent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    medium = forms.ChoiceField(label=_("Support"), choices=Exam.Medium.choices, initial=Exam.Medium.CONSOLE)
    lesion_right_type = forms.ChoiceField(
        label=_("Lésion sein droit"), choices=[("", "—"), *LesionType.choices], required=False
    )
    lesion_right_quadrant = forms.ChoiceField(
        label=_("Localisation sein droit"), choices=[("", "—"), *Quadrant.choices], required=False
    )
    lesion_left_type = forms.ChoiceField(
        label=_("Lésion sein gauche"), choices=[("", "—"), *LesionType.choices], required=False
    )
    lesion_left_quadrant = forms.ChoiceField(
        label=_("Localisation sein gauche"), choices=[("", "—"), *Quadrant.choices], required=False
    )

    class Meta:
        model = L1Form
        fields = L1_FIELDS
        widgets = {
            "clinical_findings": forms.Textarea(attrs={"rows": 2}),
            "comment": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, radiologists=None, **kwargs):
        super().__init__(*args, **kwargs)
        if radiologists is not None:
            self.fields["l1_radiologist"].queryset = radiologists
        for name in ("acr_initial_right", "acr_initial_left", "acr_final_right", "acr_final_left"):
            self.fields[name].widget = forms.Select(choices=[("", "—"), *self.fields[name].choices[1:]])

    def clean(self):
        data = super().clean()
        if data.get("bdi_components") and not data.get("bdi_done"):
            self.add_error("bdi_done", _("Des composantes du BDI sont cochées : cochez « BDI réalisé »."))
        for side, label in (("right", _("droit")), ("left", _("gauche"))):
            if bool(data.get(f"lesion_{side}_type")) != bool(data.get(f"lesion_{side}_quadrant")):
                raise forms.ValidationError(
                    _("Lésion du sein %(side)s : indiquez le type et la localisation.") % {"side": label}
                )
        return data

    def l1_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in L1_FIELDS}

    def lesions(self) -> list[dict]:
        result = []
        for side, code in (("right", "D"), ("left", "G")):
            if self.cleaned_data.get(f"lesion_{side}_type"):
                result.append(
                    {
                        "side": code,
                        "lesion_type": self.cleaned_data[f"lesion_{side}_type"],
                        "quadrant": self.cleaned_data[f"lesion_{side}_quadrant"],
                    }
                )
        return result
