"""Retakes after a CTI verdict (R-CTI-3..5, §4), once the CTI letters are sent (RETAKE_PENDING):

- the periodic timers: a reminder at 1 month, RETAKE_OVERDUE at 6 months (the doctor is then told);
- the retaken views come back through intake beside the originals; the practice confirms the retake is complete,
  which opens a new L2 round, offered first to the reader who asked for it (R-CTI-4);
- a written refusal (L1 radiologist or the woman) closes the exam as CTI_REFUSED (R-CTI-5);
- an overdue retake that never comes is closed by the coordinator as CTI_OVERDUE.
"""

import datetime as dt

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from readings.models import Assignment, CtiItem, Retake
from screening.models import DicomInstance, Exam, ExamState, IngestFile, LetterKind, User
from screening.selectors import user_roles
from screening.services.errors import ServiceError
from screening.services.exam_state import exam_transition
from screening.services.outcome_record import exam_outcome_refresh

S = ExamState
OPEN_STATES = (S.RETAKE_PENDING, S.RETAKE_OVERDUE)
SIDE_SLOT = {"D": "R", "G": "L"}
SIDE_FR = {"D": "sein droit", "G": "sein gauche"}
# What a written statement may be (by its first bytes, not by the name the browser gives).
STATEMENT_SIGNATURES = {b"%PDF-": "pdf", b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg"}


def reminder_days() -> int:
    return int(getattr(settings, "L2_RETAKE_REMINDER_DAYS", 30))


def deadline_days() -> int:
    return int(getattr(settings, "L2_RETAKE_DEADLINE_DAYS", 182))


def statement_max_bytes() -> int:
    return int(getattr(settings, "L2_RETAKE_STATEMENT_MAX_BYTES", 10 * 1024 * 1024))


def retake_deadline(retake: Retake) -> dt.datetime | None:
    """R-CTI-3: 6 months counted from the CTI letter (None while the letters are not sent)."""
    if retake.requested_at is None:
        return None
    return retake.requested_at + dt.timedelta(days=deadline_days())


def retake_open_for(*, exam_id: int) -> Retake | None:
    """The exam's retake still waiting for images or a refusal (the latest CTI round)."""
    return (
        Retake.objects.filter(exam_id=exam_id, received_at__isnull=True, refused_at__isnull=True)
        .select_related("reading")
        .order_by("-created_at", "-pk")
        .first()
    )


def cti_item_label(item: CtiItem) -> str:
    return f"{item.get_view_display()} du {SIDE_FR.get(item.side, item.side)}"


def retake_new_slots(*, retake: Retake) -> set[str]:
    """Standard slots (RCC, LMLO…) with an image stored after the CTI verdict: the retaken views."""
    return set(
        DicomInstance.objects.filter(exam_id=retake.exam_id, stored_at__gt=retake.created_at)
        .exclude(slot="")
        .values_list("slot", flat=True)
    )


def retake_missing_items(*, retake: Retake) -> list[CtiItem]:
    """CTI items asking to redo a view (REF) with no new image of that side and view yet."""
    new = retake_new_slots(retake=retake)
    items = retake.reading.cti_items.filter(action=CtiItem.Action.REF).order_by("side", "view", "pk")
    return [item for item in items if SIDE_SLOT[item.side] + item.view not in new]


def _may_act(*, exam: Exam, actor: User, coordinator_ok: bool = True) -> None:
    roles = user_roles(actor)
    if exam.practice_id in roles.practice_ids or (coordinator_ok and roles.is_coordinator):
        return
    raise ServiceError("forbidden", "Cet examen n'appartient pas à votre cabinet.")


def _locked_open(*, exam_id: int, actor: User) -> tuple[Exam, Retake]:
    exam = Exam.objects.select_for_update().get(pk=exam_id)
    _may_act(exam=exam, actor=actor)
    retake = retake_open_for(exam_id=exam.pk)
    if exam.state not in OPEN_STATES or retake is None:
        raise ServiceError(
            "retake_not_pending",
            f"L'examen est « {exam.get_state_display()} » : aucune reprise de clichés n'est attendue.",
        )
    return exam, Retake.objects.select_for_update().select_related("reading").get(pk=retake.pk)


# ------------------------------------------------------------------------------------------- timers


def retake_timers_run(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic pass: 1-month reminder, then 6-month overdue. Idempotent; each step re-checks state."""
    now = now or timezone.now()
    done = {"reminded": 0, "overdue": 0}
    waiting = Retake.objects.filter(
        exam__state=S.RETAKE_PENDING, received_at__isnull=True, refused_at__isnull=True
    )
    remind_cut = now - dt.timedelta(days=reminder_days())
    for pk in waiting.filter(reminded_at__isnull=True, requested_at__lte=remind_cut).values_list(
        "pk", flat=True
    ):
        done["reminded"] += _remind(retake_id=pk, now=now)
    late_cut = now - dt.timedelta(days=deadline_days())
    for pk in waiting.filter(overdue_at__isnull=True, requested_at__lte=late_cut).values_list(
        "pk", flat=True
    ):
        done["overdue"] += _overdue(retake_id=pk, now=now)
    return done


def _remind(*, retake_id: int, now: dt.datetime) -> int:
    from screening.services.letters import letters_plan

    with transaction.atomic():
        exam_id = Retake.objects.values_list("exam_id", flat=True).get(pk=retake_id)
        exam = Exam.objects.select_for_update().get(pk=exam_id)  # exam first, as every exam writer
        retake = Retake.objects.select_for_update().get(pk=retake_id)
        cut = now - dt.timedelta(days=reminder_days())
        if exam.state != S.RETAKE_PENDING or retake.reminded_at or not retake.requested_at:
            return 0
        if retake.requested_at > cut or retake.received_at or retake.refused_at:
            return 0
        # REM-CTI to the practice and the woman (§7); one per CTI round.
        letters_plan(
            exam_id=exam.pk,
            kind=LetterKind.REM_CTI,
            event_key=f"{LetterKind.REM_CTI}:1M:r{exam.l2_round}",
            not_before=now,
        )
        retake.reminded_at = now
        retake.save(update_fields=["reminded_at"])
    return 1


def _overdue(*, retake_id: int, now: dt.datetime) -> int:
    from screening.services.letters import letters_plan

    with transaction.atomic():
        exam_id = Retake.objects.values_list("exam_id", flat=True).get(pk=retake_id)
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        retake = Retake.objects.select_for_update().get(pk=retake_id)
        cut = now - dt.timedelta(days=deadline_days())
        if exam.state != S.RETAKE_PENDING or retake.overdue_at or not retake.requested_at:
            return 0
        if retake.requested_at > cut or retake.received_at or retake.refused_at:
            return 0
        exam_transition(
            exam_id=exam.pk,
            to_state=S.RETAKE_OVERDUE,
            actor=None,
            reason=f"Reprise non reçue {deadline_days()} jours après les courriers CTI du "
            f"{timezone.localtime(retake.requested_at):%d/%m/%Y}.",
        )
        retake.overdue_at = now
        retake.save(update_fields=["overdue_at"])
        # R-CTI-3: the doctor is told only when the retake is late.
        letters_plan(
            exam_id=exam.pk,
            kind=LetterKind.REM_CTI,
            event_key=f"{LetterKind.REM_CTI}:LATE:r{exam.l2_round}",
            not_before=now,
            recipient_kinds=("GP", "GYN"),
        )
        exam_outcome_refresh(exam_id=exam.pk)
    return 1


# ------------------------------------------------------------------------------------------ receipt


def retake_receive(*, exam_id: int, actor: User) -> Exam:
    """« Reprise complète »: RETAKE_PENDING | RETAKE_OVERDUE → RETAKE_RECEIVED → QUEUED, a new L2 round.

    Every view to redo (REF) must have a new image of that side and view; the originals stay linked to the
    exam (extra views), so the reader sees both (R-CTI-4). Film exams: the new films arrive by post.
    """
    with transaction.atomic():
        exam, retake = _locked_open(exam_id=exam_id, actor=actor)
        if exam.medium == Exam.Medium.CONSOLE:
            if IngestFile.objects.filter(exam=exam, state=IngestFile.State.RECEIVED).exists():
                raise ServiceError(
                    "retake_files_checking",
                    "Des fichiers sont encore en cours de vérification : confirmez la reprise une fois "
                    "leur contrôle terminé.",
                )
            missing = retake_missing_items(retake=retake)
            if missing:
                names = ", ".join(cti_item_label(item) for item in missing)
                raise ServiceError(
                    "retake_views_missing",
                    f"Reprise incomplète : aucune nouvelle image pour {names}. "
                    "Envoyez ces incidences refaites avant de confirmer.",
                )
        now = timezone.now()
        exam_transition(
            exam_id=exam.pk, to_state=S.RETAKE_RECEIVED, actor=actor, reason="Reprise complète reçue."
        )
        retake.received_at = now
        retake.save(update_fields=["received_at"])
        Exam.objects.filter(pk=exam.pk).update(l2_round=F("l2_round") + 1)
        exam = exam_transition(
            exam_id=exam.pk,
            to_state=S.QUEUED,
            actor=None,
            reason="Nouveau tour de seconde lecture : clichés refaits et originaux.",
        )
        exam_outcome_refresh(exam_id=exam.pk)
        from readings import tasks_retakes

        transaction.on_commit(lambda: tasks_retakes.retake_assign.delay(exam_id))
    exam.refresh_from_db()
    return exam


def retake_reader_offer(*, exam_id: int) -> int | None:
    """R-CTI-4: offer the new round first to the reader who asked for the retake, within every rule and
    capacity of the engine (R-COI, absence, capacity…); otherwise the engine's usual choice. Returns the reader."""
    from readings.services.assignment import exams_assign_to_reader, queue_assign

    exam = Exam.objects.filter(pk=exam_id, state=S.QUEUED).first()
    if exam is None:
        return None  # idempotent: already assigned, or moved on
    retake = (
        Retake.objects.filter(exam_id=exam_id, received_at__isnull=False)
        .select_related("reading__reader")
        .order_by("-received_at")
        .first()
    )
    reader = retake.reading.reader if retake is not None else None
    if reader is not None:
        try:
            outcome = exams_assign_to_reader(
                exam_ids=[exam_id], reader=reader, actor=None, way=Assignment.Way.AUTO
            )
        except ServiceError:  # no longer a reader
            outcome = None
        if outcome is not None and outcome.assigned:
            # AUTO: if they do not open it in time, housekeeping hands it to someone else.
            Assignment.objects.filter(exam_id=exam_id, state=Assignment.State.ACTIVE).update(
                why=f"Reprise de clichés : proposée d'abord au lecteur qui l'a demandée ({reader}) (R-CTI-4).",
                decision={"rule": "RETAKE_SAME_READER", "reader_id": reader.pk},
            )
            return reader.pk
    queue_assign(exam_ids=[exam_id])
    return (
        Assignment.objects.filter(exam_id=exam_id, state=Assignment.State.ACTIVE)
        .values_list("reader_id", flat=True)
        .first()
    )


# ------------------------------------------------------------------------------------- refusal, close


def statement_check(statement_file) -> str:
    """A PDF or an image, within the size limit; returns the file extension to store it under."""
    limit = statement_max_bytes()
    if statement_file.size is not None and statement_file.size > limit:
        raise ServiceError(
            "statement_too_large",
            f"Refus écrit trop volumineux (au plus {limit // (1024 * 1024)} Mo).",
            field="statement",
        )
    if not statement_file.size:
        raise ServiceError("statement_empty", "Le refus écrit est vide.", field="statement")
    statement_file.seek(0)
    head = statement_file.read(8)
    statement_file.seek(0)
    for signature, ext in STATEMENT_SIGNATURES.items():
        if head.startswith(signature):
            return ext
    raise ServiceError(
        "statement_type", "Le refus écrit doit être un PDF ou une image (JPEG, PNG).", field="statement"
    )


def retake_refusal_record(*, exam_id: int, actor: User, refusal: str, statement_file=None) -> Exam:
    """R-CTI-5: the retake is refused in writing → RETAKE_REFUSED → CLOSED (closed reason CTI_REFUSED).

    The L1 radiologist's refusal needs the uploaded statement (they bear the responsibility); the woman's
    refusal may come with one. Only the exam's practice records it. The statement is kept with the retake.
    """
    if refusal not in (Retake.Refusal.L1, Retake.Refusal.WOMAN):
        raise ServiceError(
            "refusal_kind", "Indiquez qui refuse la reprise : le radiologue L1 ou la femme.", field="refusal"
        )
    if refusal == Retake.Refusal.L1 and statement_file is None:
        raise ServiceError(
            "statement_missing",
            "Le refus du radiologue L1 se fait par écrit : joignez sa déclaration signée (PDF ou image).",
            field="statement",
        )
    ext = statement_check(statement_file) if statement_file is not None else ""
    stored = None
    try:
        with transaction.atomic():
            exam, retake = _locked_open(exam_id=exam_id, actor=actor)
            _may_act(exam=exam, actor=actor, coordinator_ok=False)
            now = timezone.now()
            if statement_file is not None:
                name = f"refus-examen-{exam.pk}-{now:%Y%m%d%H%M%S}.{ext}"
                retake.refusal_statement.save(name, File(statement_file), save=False)
                stored = retake.refusal_statement
            retake.refusal, retake.refusal_recorded_by, retake.refused_at = refusal, actor, now
            retake.save(update_fields=["refusal", "refusal_statement", "refusal_recorded_by", "refused_at"])
            label = Retake.Refusal(refusal).label
            exam_transition(exam_id=exam.pk, to_state=S.RETAKE_REFUSED, actor=actor, reason=f"{label}.")
            exam = exam_transition(
                exam_id=exam.pk,
                to_state=S.CLOSED,
                actor=actor,
                reason=f"Clos : {label.lower()} (CTI_REFUSED).",
            )
            exam_outcome_refresh(exam_id=exam.pk)
    except Exception:
        if stored is not None and stored.name:  # nothing half-stored: the file goes with the rollback
            stored.storage.delete(stored.name)
        raise
    return exam


def retake_overdue_close(*, exam_id: int, actor: User, note: str = "") -> Exam:
    """The coordinator closes an overdue retake that never came: RETAKE_OVERDUE → CLOSED (CTI_OVERDUE)."""
    if not user_roles(actor).is_coordinator:
        raise ServiceError("forbidden", "Seule la coordination clôt une reprise hors délai.")
    with transaction.atomic():
        exam, _retake = _locked_open(exam_id=exam_id, actor=actor)
        if exam.state != S.RETAKE_OVERDUE:
            raise ServiceError(
                "retake_not_overdue",
                f"L'examen est « {exam.get_state_display()} » : seule une reprise hors délai peut être close.",
            )
        reason = "Reprise hors délai jamais reçue : clos par la coordination (CTI_OVERDUE)."
        if note.strip():
            reason += f" {note.strip()[:300]}"
        exam = exam_transition(exam_id=exam.pk, to_state=S.CLOSED, actor=actor, reason=reason)
        exam_outcome_refresh(exam_id=exam.pk)
    return exam
