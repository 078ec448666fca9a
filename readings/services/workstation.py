"""Reader actions of the workstation besides the verdict: defer a broken case (F5), key map (§8)."""

from django.db import transaction
from django.utils import timezone

from readings.models import Alert, ReaderPreference
from readings.services.assignment import assignment_end, reader_assignment_open
from screening.models import Exam, ExamState, User
from screening.services.errors import ServiceError
from screening.services.exam_state import exam_transition

DEFER_REASONS = {
    "IMAGES_BROKEN": "images défectueuses ou inutilisables",
    "IDENTITY": "identité discordante (étiquettes, mauvaise femme)",
    "PRIOR_MISSING": "antériorité manquante",
    "ADVICE": "avis d'un second lecteur L2 souhaité (consensus)",
    "OTHER": "autre",
}
# Defaults of the spec's key map (§8): action → KeyboardEvent.key, or .code for digits (AZERTY without Shift).
DEFAULT_KEYMAP = {
    "next_stage": " ", "next_stage_alt": "ArrowRight", "previous_stage": "ArrowLeft",
    "stage_4up": "Digit1", "stage_cc": "Digit2", "stage_mlo": "Digit3", "stage_cc_prior": "Digit4",
    "home": "Home", "decision": "End", "normal": "n", "anomaly": "a", "cti": "t", "commit": "Enter",
    "skip": "s", "defer": "d", "cancel": "Escape", "fit": "f", "one_to_one": "u", "magnifier": "l",
    "measure": "m", "preset": "v", "reset_wl": "r", "invert": "i", "flicker": "p", "overlays": "o",
    "zoom_in": "=", "zoom_out": "-",
}  # fmt: skip
SHIFTED_ON_AZERTY = set(".+[]/!?:%") | {str(d) for d in range(10)}


def exam_defer(*, exam_id: int, reader: User, reason_code: str, text: str = "") -> Exam:
    """The reader puts a broken case aside (never a CTI): it goes to the coordinator with the reason."""
    if reason_code not in DEFER_REASONS:
        raise ServiceError("defer_reason", "Choisissez le motif de la mise de côté.", field="reason")
    if reason_code == "OTHER" and not text.strip():
        raise ServiceError("defer_text", "Précisez le motif « autre ».", field="text")
    if reason_code == "ADVICE":  # a difficult case: a consensus of L2 readers (R-ORG-1), not the coordination
        from screening.services.consensus import consensus_request

        return consensus_request(exam_id=exam_id, reader=reader, text=text)
    reason = f"Mis de côté par le lecteur : {DEFER_REASONS[reason_code]}" + (
        f" — {text.strip()[:200]}" if text else ""
    )
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        assignment = reader_assignment_open(exam=exam, reader=reader)
        assignment_end(assignment=assignment, code="DEFER", reason=reason)
        exam_transition(exam_id=exam.pk, to_state=ExamState.DEFERRED, actor=reader, reason=reason)
        Alert.objects.bulk_create(
            [
                Alert(
                    kind=Alert.Kind.DEFERRED,
                    key=f"DEFERRED:{exam.pk}:{timezone.now():%Y%m%d%H%M%S}",
                    exam=exam,
                    message=f"Examen {exam.participant.programme_id} : {reason}"[:300],
                )
            ],  # fmt: skip
            ignore_conflicts=True,
        )
    exam.refresh_from_db()
    return exam


# French labels of the key map's actions (§8), for the editor page and the refusal messages.
KEYMAP_ACTION_LABELS = {
    "normal": "Normal (et cas suivant)", "anomaly": "Anomalie (marquage)",
    "cti": "CTI (clichés techniquement insuffisants)", "commit": "Valider / fermer la fiche",
    "skip": "Passer le cas", "defer": "Mettre le cas de côté", "cancel": "Annuler le mode en cours",
    "next_stage": "Étape suivante", "next_stage_alt": "Étape suivante (seconde touche)",
    "previous_stage": "Étape précédente", "stage_4up": "Quatre incidences", "stage_cc": "CC droite et gauche",
    "stage_mlo": "MLO droite et gauche", "stage_cc_prior": "CC avec l'antériorité",
    "home": "Retour aux quatre incidences", "decision": "Étape de décision",
    "fit": "Ajuster (sein / fenêtre)", "one_to_one": "Taille réelle 1:1", "magnifier": "Loupe",
    "measure": "Mesure", "preset": "Préréglage de fenêtrage suivant", "reset_wl": "Rétablir le fenêtrage",
    "invert": "Inverser les niveaux de gris", "flicker": "Alterner actuelle / antériorité",
    "overlays": "Masquer / montrer les annotations", "zoom_in": "Zoom avant", "zoom_out": "Zoom arrière",
}  # fmt: skip
# Named keys a binding may use (KeyboardEvent.key, or .code for digits), with their French names.
KEYMAP_KEY_NAMES = {
    " ": "Espace", "Enter": "Entrée", "Escape": "Échap", "ArrowLeft": "←", "ArrowRight": "→", "ArrowUp": "↑",
    "ArrowDown": "↓", "Home": "Début", "End": "Fin", "PageUp": "Page préc.", "PageDown": "Page suiv.",
    "Insert": "Inser", "Delete": "Suppr", "F2": "F2", "F4": "F4", "F8": "F8", "F9": "F9",
    **{f"Digit{d}": str(d) for d in range(10)}, **{f"Numpad{d}": f"Pavé {d}" for d in range(10)},
}  # fmt: skip
# Keys the browser or the page keeps (history, reload, find, full screen, devtools, focus moves): never bound.
KEYMAP_BROWSER_KEYS = {"Backspace", "Tab", "F1", "F3", "F5", "F6", "F7", "F10", "F11", "F12", "ContextMenu"}
# Beyond SHIFTED_ON_AZERTY: more characters needing Shift, and those needing AltGr (Ctrl+Alt: never matched).
KEYMAP_NEEDS_MODIFIER = SHIFTED_ON_AZERTY | set("°¨£µ§>~#{|`\\^@}€¤")
# Unshifted AZERTY top row: these characters are the digit keys, bound by code as keys.js matches them.
AZERTY_TOP_ROW = {"&": "Digit1", "é": "Digit2", '"': "Digit3", "'": "Digit4", "(": "Digit5",
                  "è": "Digit7", "_": "Digit8", "ç": "Digit9", "à": "Digit0"}  # fmt: skip
# Keys that fire the same binding in keys.js: a Digit binding also matches its numpad key, and on AZERTY the
# unshifted "-" is the Digit6 key.
KEYMAP_SAME_KEY = {"-": "Digit6", **{f"Numpad{d}": f"Digit{d}" for d in range(10)}}


def keymap_key_label(key: str) -> str:
    """How a binding is shown to the reader: « Espace », « 1 », « N »…"""
    return KEYMAP_KEY_NAMES.get(key) or (key.upper() if len(key) == 1 else key)


def _keymap_binding(action: str, key: object) -> str:
    """The normalised binding for one action, or a ServiceError naming the action (field)."""
    label = KEYMAP_ACTION_LABELS[action]
    if not isinstance(key, str) or not key:
        raise ServiceError("keymap_key", f"Touche illisible pour « {label} ».", field=action)
    if len(key) == 1:
        key = AZERTY_TOP_ROW.get(key, key.lower())
    if key in KEYMAP_BROWSER_KEYS or "+" in key[1:]:
        raise ServiceError(
            "keymap_browser",
            f"« {key} » est réservée au navigateur (retour, rechargement, onglets, plein écran) : "
            f"choisissez une autre touche pour « {label} ».",
            field=action,
        )
    if len(key) == 1 and key in KEYMAP_NEEDS_MODIFIER:
        raise ServiceError(
            "keymap_shift",
            f"« {key} » demande Maj ou AltGr sur un clavier AZERTY : choisissez une autre touche pour « {label} ».",
            field=action,
        )
    if (len(key) == 1 and not key.isprintable()) or (len(key) > 1 and key not in KEYMAP_KEY_NAMES):
        raise ServiceError(
            "keymap_key", f"Touche non reconnue pour « {label} » : « {key[:20]} ».", field=action
        )
    return key


def keymap_update(*, user: User, keymap: dict, two_step_normal: bool, lockout_ms: int) -> ReaderPreference:
    """Save the reader's overrides of the default key map (§8) and the F6/F8 a options.

    Refused with the action named in `field`: unknown action, unreadable key, browser keys, keys needing Shift
    or AltGr on AZERTY, a key already used by another action; lock-out outside 500–3000 ms (spec 0.5–3 s).
    Letters are stored lower case and AZERTY top-row characters as their digit code; only real overrides."""
    if not isinstance(keymap, dict):
        raise ServiceError("keymap_action", "Raccourcis illisibles (objet action → touche attendu).")
    unknown = set(keymap) - set(DEFAULT_KEYMAP)
    if unknown:
        raise ServiceError("keymap_action", f"Action inconnue : {', '.join(sorted(map(str, unknown)))}.")
    overrides = {action: _keymap_binding(action, key) for action, key in keymap.items()}
    merged = {**DEFAULT_KEYMAP, **overrides}
    seen: dict[str, str] = {}
    for action, key in merged.items():
        same = KEYMAP_SAME_KEY.get(key, key)
        other = seen.get(same)
        if other is not None:
            blamed, kept = (
                (other, action) if other in overrides and action not in overrides else (action, other)
            )
            raise ServiceError(
                "keymap_duplicate",
                f"La touche « {keymap_key_label(key)} » sert déjà à « {KEYMAP_ACTION_LABELS[kept]} » : "
                f"choisissez-en une autre pour « {KEYMAP_ACTION_LABELS[blamed]} ».",
                field=blamed,
            )
        seen[same] = action
    if isinstance(lockout_ms, bool) or not isinstance(lockout_ms, int) or not 500 <= lockout_ms <= 3000:
        raise ServiceError(
            "lockout_range",
            "Le délai d'inactivité des touches de décision va de 0,5 à 3 secondes (500 à 3 000 ms).",
            field="lockout_ms",
        )
    prefs, _ = ReaderPreference.objects.update_or_create(
        user=user,
        defaults={
            "keymap": {a: k for a, k in overrides.items() if k != DEFAULT_KEYMAP[a]},
            "two_step_normal": bool(two_step_normal),
            "lockout_ms": lockout_ms,
        },
    )
    return prefs


def keymap_for(*, user: User) -> dict:
    prefs = ReaderPreference.objects.filter(user=user).first()
    overrides = prefs.keymap if prefs else {}
    return {
        "keymap": {**DEFAULT_KEYMAP, **overrides},
        "two_step_normal": prefs.two_step_normal if prefs else False,
        "lockout_ms": prefs.lockout_ms if prefs else 1000,
    }


def exam_deferral_resolve(*, exam_id: int, actor: User, to_state: str, note: str = "") -> Exam:
    """The secretariat deals with a deferred case: back to the L2 queue, to the practice (incomplete), or
    waiting for priors. Its deferral alert is resolved."""
    targets = {ExamState.QUEUED, ExamState.INCOMPLETE, ExamState.AWAITING_PRIORS}
    if to_state not in targets:
        raise ServiceError(
            "deferral_target", "Choisissez : remettre en file, incomplet ou attente d'antériorités."
        )
    with transaction.atomic():
        exam = exam_transition(
            exam_id=exam_id, to_state=to_state, actor=actor, reason=note or "Mise de côté traitée."
        )
        Alert.objects.filter(kind=Alert.Kind.DEFERRED, exam_id=exam_id, resolved_at__isnull=True).update(
            resolved_at=timezone.now(), acknowledged_at=timezone.now(), acknowledged_by=actor
        )
        if to_state == ExamState.QUEUED:
            from readings.tasks import assign_exam

            transaction.on_commit(lambda: assign_exam.delay(exam_id))
    return exam
