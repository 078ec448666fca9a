"""Forms of the follow-up pages: they parse input; the rules (dates, ACR vs conduct, pTNM…) are the services'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from screening.models import Histology, WorkUp, WorkUpExam
from screening.models.l1 import Side

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ACR_FINAL = [("", "—"), (1, _("ACR 1 — normal")), (2, _("ACR 2 — bénin")), (3, _("ACR 3 — probablement bénin")),
             (4, _("ACR 4 — suspect")), (5, _("ACR 5 — évocateur de cancer"))]  # fmt: skip
RECEPTOR = [("", _("Non renseigné")), ("true", _("Positif")), ("false", _("Négatif"))]


def _receptor(label):
    return forms.TypedChoiceField(
        label=label,
        choices=RECEPTOR,
        required=False,
        coerce=lambda value: value == "true",
        empty_value=None,
    )


class WorkUpForm(forms.Form):
    """The deferred work-up form (fiche BDD), or an ACR 3 surveillance check."""

    origin = forms.ChoiceField(label=_("Origine"), choices=WorkUp.Origin.choices)
    radiologist_name = forms.CharField(label=_("Radiologue ayant réalisé le bilan"), max_length=200)
    performed_on = forms.DateField(label=_("Date du bilan"), widget=DATE)
    exams_done = forms.MultipleChoiceField(
        label=_("Examens réalisés"),
        choices=WorkUpExam.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Cochez au moins un examen réalisé lors du bilan.")},
    )
    acr_right = forms.TypedChoiceField(label=_("ACR final sein droit"), choices=ACR_FINAL, coerce=int)
    acr_left = forms.TypedChoiceField(label=_("ACR final sein gauche"), choices=ACR_FINAL, coerce=int)
    conduct = forms.ChoiceField(
        label=_("Conduite à tenir"), choices=WorkUp.Conduct.choices, widget=forms.RadioSelect
    )
    report = forms.CharField(
        label=_("Compte rendu (facultatif)"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, origins=None, **kwargs):
        super().__init__(*args, **kwargs)
        if origins is not None:  # a check in surveillance, else the BDD of an L1 or L2 positive
            self.fields["origin"].choices = [c for c in WorkUp.Origin.choices if c[0] in origins]


class HistologyForm(forms.Form):
    side = forms.ChoiceField(label=_("Sein"), choices=Side.choices, widget=forms.RadioSelect)
    sampled_on = forms.DateField(label=_("Date du prélèvement"), widget=DATE)
    nature = forms.ChoiceField(label=_("Nature"), choices=Histology.Nature.choices, widget=forms.RadioSelect)
    invasiveness = forms.ChoiceField(
        label=_("Invasion (cancer)"),
        choices=[("", _("— (lésion bénigne)")), *Histology.Invasiveness.choices[1:]],
        required=False,
    )
    size_mm = forms.IntegerField(label=_("Taille (mm)"), required=False, min_value=1, max_value=300)
    grade = forms.TypedChoiceField(
        label=_("Grade SBR"),
        choices=[("", "—"), (1, "1"), (2, "2"), (3, "3")],
        coerce=int,
        required=False,
        empty_value=None,
    )
    pt = forms.CharField(
        label=_("pT"), max_length=8, required=False, widget=forms.TextInput(attrs={"size": 6})
    )
    pn = forms.CharField(
        label=_("pN"), max_length=8, required=False, widget=forms.TextInput(attrs={"size": 6})
    )
    m = forms.CharField(label=_("M"), max_length=6, required=False, widget=forms.TextInput(attrs={"size": 4}))
    er = _receptor(_("Récepteurs aux œstrogènes (RE)"))
    pr = _receptor(_("Récepteurs à la progestérone (RP)"))
    her2 = _receptor(_("HER2"))
    adicap = forms.CharField(label=_("Code ADICAP"), max_length=12, required=False)
    adicap_2 = forms.CharField(label=_("Code ADICAP (2)"), max_length=12, required=False)


class TreatmentForm(forms.Form):
    surgery_on = forms.DateField(label=_("Chirurgie"), required=False, widget=DATE)
    radiotherapy_on = forms.DateField(label=_("Radiothérapie"), required=False, widget=DATE)
    chemotherapy_on = forms.DateField(label=_("Chimiothérapie"), required=False, widget=DATE)
    hormonotherapy_on = forms.DateField(label=_("Hormonothérapie"), required=False, widget=DATE)


class IntervalCancerForm(forms.Form):
    diagnosed_on = forms.DateField(label=_("Date du diagnostic"), widget=DATE)
    side = forms.ChoiceField(label=_("Sein"), choices=Side.choices, widget=forms.RadioSelect)
    invasiveness = forms.ChoiceField(
        label=_("Invasion"),
        choices=[("", _("Inconnue")), *Histology.Invasiveness.choices[1:]],
        required=False,
    )
    size_mm = forms.IntegerField(label=_("Taille (mm)"), required=False, min_value=1, max_value=300)
    source = forms.CharField(
        label=_("Source de l'information"),
        max_length=200,
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("ex. registre des cancers, compte rendu du gynécologue")}
        ),
    )
    note = forms.CharField(label=_("Remarque"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ExamLookupForm(forms.Form):
    """The secretariat reaches an exam by its number (interval cancers)."""

    examen = forms.IntegerField(
        label=_("Numéro de l'examen"),
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"invalid": _("Saisissez le numéro de l'examen (chiffres uniquement).")},
    )
