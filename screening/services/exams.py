"""Creating exams with their L1 form, submitting them, and routing them after intake."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from screening.models import (
    DicomInstance,
    Exam,
    ExamState,
    IngestFile,
    L1Form,
    L1Lesion,
    Participant,
    Practice,
    PracticeMembership,
    PracticeRole,
    ReadingPolicy,
    User,
)

from .errors import ServiceError
from .exam_state import exam_transition
from .outcome_flow import exam_l1_positive_route
from .outcome_record import exam_outcome_refresh
from .policies import policy_current

SIDE_LABEL = {"right": "sein droit", "left": "sein gauche"}
VIEW_LABEL = {"RCC": "Face D", "LCC": "Face G", "RMLO": "Oblique D", "LMLO": "Oblique G"}


def participant_get_or_create(
    *, programme_id: str, last_name: str, first_name: str, birth_date: dt.date, **extra: Any
) -> Participant:
    """One woman, one programme number: a number already used by another identity is refused."""
    participant = Participant.objects.filter(programme_id=programme_id).first()
    if participant is None:
        return Participant.objects.create(
            programme_id=programme_id,
            last_name=last_name,
            first_name=first_name,
            birth_date=birth_date,
            **extra,
        )
    if participant.birth_date != birth_date or participant.last_name.casefold() != last_name.casefold():
        raise ServiceError(
            "participant_identity_mismatch",
            f"Le numéro de dépistage {programme_id} appartient déjà à une autre identité "
            f"(née le {participant.birth_date:%d/%m/%Y}). Vérifiez le numéro, le nom et la date de naissance.",
            field="programme_id",
        )
    return participant


def l1_form_check(*, l1: dict[str, Any]) -> list[str]:
    """Coherence rules of the L1 fiche (R-SCOPE-3/5, R-DATA-1/2). Returns warnings; raises on errors."""
    warnings: list[str] = []
    for side in ("right", "left"):
        final = l1.get(f"acr_final_{side}")
        if final is None:
            raise ServiceError("l1_acr_missing", f"L'ACR final du {SIDE_LABEL[side]} est obligatoire.")
        if final == 0 and not l1.get("bdi_refused_by_woman"):
            raise ServiceError(
                "l1_acr0_final",
                f"ACR final 0 au {SIDE_LABEL[side]} : l'ACR 0 est provisoire. Complétez le bilan de diagnostic "
                "immédiat, ou indiquez que la femme l'a refusé.",
                field=f"acr_final_{side}",
            )
    finals = (l1["acr_final_right"], l1["acr_final_left"])
    conduct = l1.get("conduct") or ""
    if max(finals) <= 2 and 0 not in finals and conduct:  # R-SCOPE-4: a refused BDI keeps its exams
        raise ServiceError(
            "l1_conduct_incoherent",
            "Conduite à tenir incohérente : un ACR 1 ou 2 ne prévoit ni surveillance ni prélèvement.",
            field="conduct",
        )
    if 3 in finals and max(finals) == 3 and not conduct.startswith("S"):
        raise ServiceError(
            "l1_conduct_incoherent", "Un ACR 3 demande une surveillance (S06 ou S12).", field="conduct"
        )
    if max(finals) >= 4 and conduct not in ("PCY", "PMI", "PMA", "AUT"):
        raise ServiceError(
            "l1_conduct_incoherent",
            "Un ACR 4 ou 5 demande un prélèvement ou une prise en charge.",
            field="conduct",
        )
    if l1.get("density") == "D" and max(finals) == 2:
        warnings.append("Densité D classée ACR 2 sans lésion : vérifiez (un sein dense normal est ACR 1).")
    return warnings


@transaction.atomic
def exam_create(
    *,
    actor: User,
    practice: Practice,
    participant: Participant,
    l1_radiologist: User,
    mammogram_date: dt.date,
    l1: dict[str, Any],
    lesions: list[dict[str, Any]] | None = None,
    accession_number: str = "",
    medium: str = Exam.Medium.CONSOLE,
    equipment: str = Exam.Equipment.DR,
) -> Exam:
    """Create a DRAFT exam and its L1 form. The L1 radiologist must belong to the practice."""
    if not PracticeMembership.objects.filter(
        user=l1_radiologist, practice=practice, role=PracticeRole.L1_RADIOLOGIST
    ).exists():
        raise ServiceError("l1_not_in_practice", "Ce radiologue n'est pas premier lecteur de ce cabinet.")
    if mammogram_date > timezone.localdate():
        raise ServiceError("mammogram_in_future", "La date de la mammographie est dans le futur.")
    if (
        Exam.objects.filter(participant=participant, practice=practice, mammogram_date=mammogram_date)
        .exclude(state=ExamState.CANCELLED)
        .exists()
    ):
        raise ServiceError(
            "exam_duplicate",
            f"Un examen existe déjà pour cette femme au {mammogram_date:%d/%m/%Y} dans ce cabinet.",
        )
    l1_form_check(l1=l1)
    has_prior = (
        participant.exams.exclude(state=ExamState.CANCELLED)
        .filter(mammogram_date__lt=mammogram_date)
        .exists()
    )
    exam = Exam.objects.create(
        participant=participant,
        practice=practice,
        l1_radiologist=l1_radiologist,
        mammogram_date=mammogram_date,
        accession_number=accession_number,
        medium=medium,
        equipment=equipment,
        screening_round=Exam.Round.SUBSEQUENT if has_prior else Exam.Round.FIRST,
        due_at=mammogram_date + dt.timedelta(days=settings.L2_RESULT_DEADLINE_DAYS),
        created_by=actor,
    )
    exam.status_events.create(from_state="", to_state=ExamState.DRAFT, actor=actor, reason="Création")
    form = L1Form.objects.create(exam=exam, signed_by=l1_radiologist, signed_at=timezone.now(), **l1)
    for lesion in lesions or []:
        L1Lesion.objects.create(l1_form=form, **lesion)
    return exam


def l1_routing(form: L1Form) -> tuple[bool, str]:
    """R-SCOPE-1..4: (goes to L2, reason). Only final ACR 1 or 2 on both breasts goes to L2."""
    worst = max(form.final_acrs)
    if worst >= 3:
        side = "droit" if form.acr_final_right == worst else "gauche"
        return False, f"ACR final {worst} au sein {side} : pas de seconde lecture, suivi positif L1."
    if 0 in form.final_acrs:
        if settings.L2_ON_REFUSED_BDI:
            return True, "BDI refusé (ACR 0) : seconde lecture puis bilan différé."
        return False, "BDI refusé par la femme (ACR 0 maintenu) : pas de seconde lecture, suivi positif L1."
    return True, ""


def exam_submit(*, exam_id: int, actor: User) -> Exam:
    """DRAFT/INCOMPLETE → SUBMITTED; L1-positive exams leave for L1 follow-up, never for L2."""
    with transaction.atomic():
        exam = Exam.objects.select_for_update(of=("self",)).select_related("l1_form").get(pk=exam_id)
        if exam.state not in (ExamState.DRAFT, ExamState.INCOMPLETE):
            raise ServiceError("exam_not_submittable", "Cet examen a déjà été transmis.")
        # §5: the policy in force at submission applies to this exam for good (Exam.policy_version).
        policy = policy_current(at=exam.submitted_at)  # resubmitted after INCOMPLETE: the first submission's
        goes_to_l2, why = l1_routing(exam.l1_form)
        if (
            not goes_to_l2
            and policy.scope == ReadingPolicy.Scope.ALL
            and not exam.l1_form.bdi_refused_by_woman
        ):
            goes_to_l2, why = (
                True,
                "",
            )  # every exam is double read; L1 positive vs L2 negative is a discordance
        if goes_to_l2 and exam.medium == Exam.Medium.CONSOLE and not exam.instances.exists():
            raise ServiceError(
                "no_images", "Aucune image acceptée : envoyez les 4 incidences avant de transmettre."
            )
        exam = exam_transition(exam_id=exam.pk, to_state=ExamState.SUBMITTED, actor=actor)
        exam.submitted_at = exam.submitted_at or timezone.now()
        exam.policy_version = policy.version
        exam.save(update_fields=["submitted_at", "policy_version"])
        if not goes_to_l2:
            exam_transition(exam_id=exam.pk, to_state=ExamState.L1_POSITIVE, actor=None, reason=why)
            return exam_l1_positive_route(exam_id=exam.pk)
        exam_outcome_refresh(exam_id=exam.pk)
        from screening import tasks  # local: tasks import services

        transaction.on_commit(lambda: tasks.exam_intake_check.delay(exam.pk))
    return exam


def missing_views(exam: Exam) -> list[str]:
    present = set(
        DicomInstance.objects.filter(exam=exam, is_default_for_slot=True).values_list("slot", flat=True)
    )
    return [slot for slot in settings.L2_REQUIRED_VIEWS if slot not in present]


def priors_link(*, exam: Exam) -> int:
    """Earlier exams of the same woman (application identity, not PatientID) become priors."""
    earlier = (
        Exam.objects.filter(participant=exam.participant, mammogram_date__lt=exam.mammogram_date)
        .exclude(state=ExamState.CANCELLED)
        .exclude(pk=exam.pk)
    )
    exam.priors.set(earlier)
    return earlier.count()


def exam_intake_check(*, exam_id: int) -> Exam:
    """SUBMITTED → QUEUED when the 4 standard views are in, else → INCOMPLETE naming what is missing."""
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        if exam.state != ExamState.SUBMITTED:
            return exam  # idempotent: already routed
        if exam.medium == Exam.Medium.CONSOLE:
            if IngestFile.objects.filter(exam=exam, state=IngestFile.State.RECEIVED).exists():
                return exam  # files still being checked: the last one re-triggers this check
            missing = missing_views(exam)
            if missing:
                names = ", ".join(VIEW_LABEL[m] for m in missing)
                return exam_transition(
                    exam_id=exam.pk,
                    to_state=ExamState.INCOMPLETE,
                    actor=None,
                    reason=f"Incidences manquantes : {names}.",
                )
        priors_link(exam=exam)
        exam = exam_transition(exam_id=exam.pk, to_state=ExamState.QUEUED, actor=None)
        from readings import tasks as reading_tasks

        transaction.on_commit(lambda: reading_tasks.assign_exam.delay(exam.pk))
    return exam
