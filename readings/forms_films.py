"""Forms of the film pages: registering films (the practices' L1 form), sessions, booking, keyed results."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from readings.forms import SLOTS, L2VerdictForm
from readings.models import CtiItem, L2Reading
from readings.selectors_films import l1_radiologists, lightbox_readers, reading_sites, registration_practices
from readings.services.films import FILM_CTI_ACTIONS, FILM_EQUIPMENT, IMPRESSION
from readings.services.l2_reading import CtiInput
from screening.forms import ExamCreateForm
from screening.models import Exam, Practice, ReadingSite, User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class FilmRegisterForm(ExamCreateForm):
    """The practices' exam form (same L1 fields and checks), plus what the films bring."""

    medium = None  # always FILM here
    practice = forms.ModelChoiceField(label=_("Cabinet"), queryset=Practice.objects.none())
    equipment = forms.ChoiceField(
        label=_("Équipement"),
        choices=[(code, label) for code, label in Exam.Equipment.choices if code in FILM_EQUIPMENT],
        initial=Exam.Equipment.ANA,
    )
    film_count = forms.IntegerField(label=_("Nombre de films"), min_value=1, max_value=40, initial=4)
    received_on = forms.DateField(label=_("Films reçus le"), widget=DATE)

    field_order = ["practice", "programme_id", "last_name", "first_name", "birth_date", "mammogram_date"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, radiologists=l1_radiologists(), **kwargs)
        self.fields["practice"].queryset = registration_practices()
        self.fields["received_on"].initial = timezone.localdate()

    def clean_received_on(self):
        day = self.cleaned_data["received_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("La date de réception est dans le futur."))
        return day


class LightboxSessionForm(forms.Form):
    site = forms.ModelChoiceField(label=_("Site de lecture"), queryset=ReadingSite.objects.none())
    reader = forms.ModelChoiceField(label=_("Second lecteur"), queryset=User.objects.none())
    scheduled_on = forms.DateField(label=_("Date de la séance"), widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = reading_sites()
        self.fields["reader"].queryset = lightbox_readers()


class IdListField(forms.Field):
    """Repeated `exam` ids (checkboxes of a table): the service says what is wrong with each."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        try:
            return sorted({int(v) for v in value or []})
        except (TypeError, ValueError) as error:
            raise forms.ValidationError(_("Sélection d'examens invalide.")) from error

    def validate(self, value):
        super().validate(value)


class BookingForm(forms.Form):
    session = forms.TypedChoiceField(label=_("Séance"), coerce=int)
    exam = IdListField(
        label=_("Examens"), error_messages={"required": _("Cochez au moins un examen à programmer.")}
    )

    def __init__(self, *args, sessions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session"].choices = [
            (s.pk, f"{s.scheduled_on:%d/%m/%Y} — {s.site} — {s.reader} ({s.booked})") for s in sessions
        ]


VERDICT_KEYS = {"NORMAL": "N", "ANOMALY": "A", "CTI": "C"}
SLOT_LABELS = {"RCC": _("Face D"), "LCC": _("Face G"), "RMLO": _("Oblique D"), "LMLO": _("Oblique G")}


class FilmResultForm(L2VerdictForm):
    """The browser's verdict form (same fields and checks) with the film CTI: per view, reason incl.
    « Impression (film) », action « refaire » or « réimprimer », and instructions."""

    cti_action = forms.ChoiceField(
        label=_("Action"),
        choices=[(c, label) for c, label in CtiItem.Action.choices if c in FILM_CTI_ACTIONS],
        initial=CtiItem.Action.REF,
        required=False,
    )
    cti_instructions = forms.CharField(label=_("Consignes"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["verdict"].choices = [
            (code, f"{VERDICT_KEYS[code]} — {label}") for code, label in L2Reading.Verdict.choices
        ]
        for slot, _side, _view in SLOTS:
            field = self.fields[f"cti_{slot}"]
            field.choices = [*field.choices, (IMPRESSION, _("Impression (film)"))]
            field.label = SLOT_LABELS[slot]
        self.fields["comment"].widget = forms.TextInput()

    def cti_items(self) -> list[CtiInput]:
        action = self.cleaned_data.get("cti_action") or CtiItem.Action.REF
        note = self.cleaned_data.get("cti_instructions", "")
        return [
            CtiInput(
                side=side,
                view=view,
                reason=self.cleaned_data[f"cti_{slot}"],
                action=action,
                instructions=note,
            )
            for slot, side, view in SLOTS
            if self.cleaned_data.get(f"cti_{slot}")
        ]


class FilmReturnForm(forms.Form):
    returned_to = forms.CharField(label=_("Rendus à"), max_length=200)
