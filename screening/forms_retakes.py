"""Forms of the retakes pages: uploading the retaken views without JavaScript, and the written refusal.
The rules themselves (file type and size, who may refuse) are checked by readings.services.retakes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from readings.models import Retake


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if not files:
            raise forms.ValidationError(_("Choisissez au moins un fichier DICOM."), code="required")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class RetakeUploadForm(forms.Form):
    files = MultipleFileField(label=_("Clichés refaits (fichiers DICOM)"))


class RetakeRefusalForm(forms.Form):
    refusal = forms.ChoiceField(
        label=_("Qui refuse la reprise ?"),
        choices=[
            (Retake.Refusal.L1, Retake.Refusal.L1.label),
            (Retake.Refusal.WOMAN, Retake.Refusal.WOMAN.label),
        ],
        widget=forms.RadioSelect,
    )
    statement = forms.FileField(
        label=_("Refus écrit (PDF ou image)"),
        required=False,
        help_text=_("Obligatoire pour un refus du radiologue L1, qui en porte la responsabilité."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )
    confirm = forms.BooleanField(
        label=_("Je confirme ce refus : l'examen sera clos sans nouvelle lecture."), required=True
    )


class OverdueCloseForm(forms.Form):
    note = forms.CharField(label=_("Remarque (facultative)"), max_length=300, required=False)
