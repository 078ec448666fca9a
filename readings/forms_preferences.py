"""The reader's key map and reading options (§8, F6, F8 a): parse the page's input only.

Each action has a plain text field (the no-JavaScript fallback, also written by the key capture of
static/js/workstation/keymap-editor.js); what a key may be is decided by readings.services.workstation.
"""

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from readings.services.workstation import (
    AZERTY_TOP_ROW,
    DEFAULT_KEYMAP,
    KEYMAP_ACTION_LABELS,
    KEYMAP_BROWSER_KEYS,
    KEYMAP_KEY_NAMES,
    KEYMAP_NEEDS_MODIFIER,
    KEYMAP_SAME_KEY,
    keymap_key_label,
)
from screening.services.errors import ServiceError

# The table's groups, in the spec's order (§8).
ACTION_GROUPS = (
    (_("Décision"), ("normal", "anomaly", "cti", "commit", "skip", "defer", "cancel")),
    (
        _("Navigation"),
        ("next_stage", "next_stage_alt", "previous_stage", "stage_4up", "stage_cc", "stage_mlo")
        + ("stage_cc_prior", "home", "decision"),
    ),
    (
        _("Outils"),
        ("fit", "one_to_one", "magnifier", "measure", "preset", "reset_wl", "invert", "flicker", "overlays")
        + ("zoom_in", "zoom_out"),
    ),
)
RESET_ALL = "toutes"

# What a reader may type in a text field: the French names shown on the page, KeyboardEvent names, a digit.
_ALIASES = {
    **{binding.casefold(): binding for binding in KEYMAP_KEY_NAMES},
    **{name.casefold(): binding for binding, name in KEYMAP_KEY_NAMES.items()},
    "space": " ", "entree": "Enter", "echap": "Escape", "esc": "Escape", "echappement": "Escape",
    "échappement": "Escape", "debut": "Home", "flèche gauche": "ArrowLeft", "fleche gauche": "ArrowLeft",
    "flèche droite": "ArrowRight", "fleche droite": "ArrowRight", "flèche haut": "ArrowUp",
    "fleche haut": "ArrowUp", "flèche bas": "ArrowDown", "fleche bas": "ArrowDown",
    **{f"pave {d}": f"Numpad{d}" for d in range(10)},
}  # fmt: skip


def key_from_text(text: str) -> str | None:
    """The binding a reader typed (« Espace », « 1 », « Pavé 3 », « w »…), None when left empty. Anything
    else is passed on as typed, for the service to refuse with its message."""
    if text == " ":
        return " "
    text = text.strip()
    if not text:
        return None
    if len(text) == 1:
        return _ALIASES.get(text) or AZERTY_TOP_ROW.get(text, text.lower())
    return _ALIASES.get(text.casefold(), text)


def editor_rules() -> dict:
    """What the key capture needs to refuse a key before saving: the service's own rules, as JSON."""
    return {
        "labels": KEYMAP_ACTION_LABELS,
        "names": KEYMAP_KEY_NAMES,
        "browser": sorted(KEYMAP_BROWSER_KEYS),
        "browser_names": {"Backspace": "Retour arrière", "ContextMenu": "Menu", "Tab": "Tab"},
        "needs_modifier": "".join(sorted(KEYMAP_NEEDS_MODIFIER)),
        "top_row": AZERTY_TOP_ROW,
        "same_key": KEYMAP_SAME_KEY,
    }


class SecondsField(forms.DecimalField):
    """Seconds as a French reader types them: « 1,5 » as well as « 1.5 »."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace(",", ".")
        return super().to_python(value)


class ReadingPreferencesForm(forms.Form):
    two_step_normal = forms.BooleanField(
        label=_("Normal en deux temps"),
        required=False,
    )
    # Bounds (0.5–3 s) are the service's; the widget only helps the browser.
    lockout_s = SecondsField(
        label=_("Délai d'inactivité des touches de décision (secondes)"),
        max_digits=6,
        decimal_places=3,
        help_text=_(
            "De 0,5 à 3 s (1 s par défaut) : après l'affichage d'un cas, les touches de décision et leurs "
            "boutons restent sans effet pendant ce délai."
        ),
        error_messages={
            "required": _("Indiquez le délai en secondes, de 0,5 à 3."),
            "invalid": _("Indiquez le délai en secondes, par exemple 1 ou 1,5."),
            "max_digits": _("Indiquez le délai en secondes, de 0,5 à 3."),
            "max_decimal_places": _("Le délai se règle à la milliseconde près au plus."),
            "max_whole_digits": _("Indiquez le délai en secondes, de 0,5 à 3."),
        },
        widget=forms.NumberInput(attrs={"min": "0.5", "max": "3", "step": "0.1", "inputmode": "decimal"}),
    )

    def __init__(self, *args, keymap: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keymap = keymap  # the saved key map (defaults merged)
        self.fields["two_step_normal"].help_text = _(
            "« %(normal)s » affiche le verdict Normal, « %(commit)s » le valide et ouvre le cas suivant. "
            "Sans cette option, « %(normal)s » enregistre Normal d'un coup."
        ) % {"normal": keymap_key_label(keymap["normal"]), "commit": keymap_key_label(keymap["commit"])}
        self.fields["two_step_normal"].widget.attrs["aria-describedby"] = "id_two_step_normal-help"
        self.fields["lockout_s"].widget.attrs["aria-describedby"] = "id_lockout_s-help"
        for action in DEFAULT_KEYMAP:
            self.fields[f"key_{action}"] = forms.CharField(
                label=_("Touche pour « %(action)s »") % {"action": KEYMAP_ACTION_LABELS[action]},
                required=False,
                strip=False,  # a lone space is the Space key
                max_length=40,
                initial=keymap_key_label(keymap[action]),
                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "size": 9}),
            )

    def binding(self, action: str) -> str:
        """The key shown for this action: what was posted (if readable), else the saved one."""
        if self.is_bound:
            return key_from_text(self[f"key_{action}"].value() or "") or DEFAULT_KEYMAP[action]
        return self.keymap[action]

    def overrides(self, *, reset: str = "") -> dict[str, str]:
        """The posted key map as overrides of the defaults; `reset` (an action, or RESET_ALL) drops some."""
        if reset == RESET_ALL:
            return {}
        keymap = {a: self.binding(a) for a in DEFAULT_KEYMAP if a != reset}
        return {action: key for action, key in keymap.items() if key != DEFAULT_KEYMAP[action]}

    def lockout_ms(self) -> int:
        return int((self.cleaned_data["lockout_s"] * 1000).to_integral_value(rounding=ROUND_HALF_UP))

    def add_service_error(self, error: ServiceError) -> None:
        """Show the service's refusal beside the field it concerns."""
        field = {"lockout_ms": "lockout_s", **{a: f"key_{a}" for a in DEFAULT_KEYMAP}}.get(error.field or "")
        self.add_error(field, error.message)

    def rows(self) -> list[dict]:
        """The table: per group, each action with its field, current key and the spec's default."""
        groups = []
        for title, actions in ACTION_GROUPS:
            rows = []
            for action in actions:
                binding, default = self.binding(action), DEFAULT_KEYMAP[action]
                rows.append(
                    {
                        "action": action,
                        "label": KEYMAP_ACTION_LABELS[action],
                        "field": self[f"key_{action}"],
                        "binding": binding,
                        "binding_label": keymap_key_label(binding),
                        "default": default,
                        "default_label": keymap_key_label(default),
                        "changed": binding != default,
                    }
                )
            groups.append({"title": title, "rows": rows})
        return groups


def initial_seconds(lockout_ms: int) -> Decimal:
    return (Decimal(lockout_ms) / 1000).normalize()
