"""The reader's key map and reading options page (§8, F6, F8 a): `/lecture/preferences/`.

A plain form posting to readings.services.workstation.keymap_update (works without JavaScript); the key
capture of static/js/workstation/keymap-editor.js only fills its text fields.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from readings.forms_preferences import RESET_ALL, ReadingPreferencesForm, editor_rules, initial_seconds
from readings.services.workstation import DEFAULT_KEYMAP, KEYMAP_ACTION_LABELS, keymap_for, keymap_update
from screening.services.errors import ServiceError
from screening.views.common import reader_required


def _saved_message(reset: str) -> str:
    if reset == RESET_ALL:
        return _("Toutes les touches sont revenues aux valeurs par défaut ; options de lecture enregistrées.")
    if reset in DEFAULT_KEYMAP:
        return _("Touche de « %(action)s » rétablie par défaut ; préférences enregistrées.") % {
            "action": KEYMAP_ACTION_LABELS[reset]
        }
    return _("Vos touches et préférences de lecture sont enregistrées.")


@reader_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    saved = keymap_for(user=request.user)
    if request.method == "POST":
        form = ReadingPreferencesForm(request.POST, keymap=saved["keymap"])
        reset = request.POST.get("reset", "")
        if form.is_valid():
            try:
                keymap_update(
                    user=request.user,
                    keymap=form.overrides(reset=reset),
                    two_step_normal=form.cleaned_data["two_step_normal"],
                    lockout_ms=form.lockout_ms(),
                )
            except ServiceError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _saved_message(reset))
                return redirect("readings:preferences")
    else:
        form = ReadingPreferencesForm(
            keymap=saved["keymap"],
            initial={
                "two_step_normal": saved["two_step_normal"],
                "lockout_s": initial_seconds(saved["lockout_ms"]),
            },
        )
    return render(
        request,
        "readings/preferences.html",
        {"form": form, "groups": form.rows(), "rules": editor_rules(), "reset_all": RESET_ALL},
    )
