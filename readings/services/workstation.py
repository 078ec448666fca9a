"""Reader actions of the workstation besides the verdict: defer a broken case (F5), key map (§8)."""

from django.db import transaction
from django.utils import timezone

from readings.models import Alert, Assignment, ReaderPreference
from readings.services.assignment import assignment_end
from screening.models import Exam, ExamState, User
from screening.services.errors import ServiceError
from screening.services.exam_state import exam_transition

DEFER_REASONS = {
    "IMAGES_BROKEN": "images défectueuses ou inutilisables",
    "IDENTITY": "identité discordante (étiquettes, mauvaise femme)",
    "PRIOR_MISSING": "antériorité manquante",
    "ADVICE": "avis souhaité",
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
    reason = f"Mis de côté par le lecteur : {DEFER_REASONS[reason_code]}" + (
        f" — {text.strip()[:200]}" if text else ""
    )
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        assignment = Assignment.objects.filter(
            exam=exam, reader=reader, state=Assignment.State.ACTIVE
        ).first()
        if assignment is None or exam.state not in (ExamState.ASSIGNED, ExamState.IN_READING):
            raise ServiceError("not_assigned", "Cet examen ne vous est pas (ou plus) attribué.")
        if exam.state == ExamState.ASSIGNED:
            exam_transition(exam_id=exam.pk, to_state=ExamState.IN_READING, actor=reader)
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


def keymap_update(*, user: User, keymap: dict, two_step_normal: bool, lockout_ms: int) -> ReaderPreference:
    """Save the reader's overrides of the default key map; refuse duplicates and keys needing Shift on AZERTY."""
    unknown = set(keymap) - set(DEFAULT_KEYMAP)
    if unknown:
        raise ServiceError("keymap_action", f"Action inconnue : {', '.join(sorted(unknown))}.")
    merged = {**DEFAULT_KEYMAP, **{k: str(v) for k, v in keymap.items()}}
    for action, key in keymap.items():
        if not key or (len(key) == 1 and key in SHIFTED_ON_AZERTY):
            raise ServiceError(
                "keymap_shift",
                f"« {key} » demande Maj sur un clavier AZERTY : choisissez une autre touche pour {action}.",
            )
    seen: dict[str, str] = {}
    for action, key in merged.items():
        norm = key.lower() if len(key) == 1 else key
        if norm in seen:
            raise ServiceError("keymap_duplicate", f"La touche « {key} » sert déjà à {seen[norm]}.")
        seen[norm] = action
    if not 500 <= lockout_ms <= 3000:
        raise ServiceError("lockout_range", "Le délai d'inactivité des touches va de 500 à 3 000 ms.")
    prefs, _ = ReaderPreference.objects.update_or_create(
        user=user, defaults={"keymap": keymap, "two_step_normal": two_step_normal, "lockout_ms": lockout_ms}
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
