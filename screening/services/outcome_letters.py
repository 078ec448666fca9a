"""Letters of an outcome (domain spec §7, R-LET-1): which letters a decision plans, and how their sending moves
the exam on (L2_NEGATIVE → RESULT_SENT → CLOSED, L2_POSITIVE → RESULT_SENT → BDD_PENDING, CTI → RETAKE_PENDING)."""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from readings.models import L2Reading, Retake
from screening.models import Exam, ExamState, Letter, LetterKind, User

from .exam_state import exam_transition
from .outcome_record import exam_outcome_refresh

S = ExamState


def letters_for_outcome(*, exam: Exam, to_state: str, reading: L2Reading | None) -> None:
    """§7: which letters an outcome plans, and from when (R-LET-1: the woman's 24–48 h after the doctor's)."""
    from screening.services.letters import letters_plan

    now = timezone.now()
    round_key = f"r{exam.l2_round}"
    if to_state == S.L2_NEGATIVE:
        for kind in (LetterKind.NEG_F, LetterKind.NEG_M):
            letters_plan(
                exam_id=exam.pk,
                kind=kind,
                event_key=f"{kind}:{round_key}",
                not_before=now,
                due_at=exam.due_at,
            )
    elif to_state == S.L2_POSITIVE:
        for kind in (LetterKind.POS_M, LetterKind.POS_R):
            letters_plan(
                exam_id=exam.pk,
                kind=kind,
                event_key=f"{kind}:{round_key}",
                not_before=now,
                due_at=exam.due_at,
            )
        # The woman's letter (POS-F) is planned when the doctor's is sent: R-LET-1, 24–48 h after it.
    elif to_state == S.CTI_REQUESTED and reading is not None:
        Retake.objects.get_or_create(exam=exam, reading=reading)
        # The woman comes back only to redo a view; a reprint or a resend concerns the practice alone.
        redo = reading.cti_items.filter(action="REF").exists()
        for kind in (LetterKind.CTI_F, LetterKind.CTI_R) if redo else (LetterKind.CTI_R,):
            letters_plan(exam_id=exam.pk, kind=kind, event_key=f"{kind}:{round_key}", not_before=now)


def _woman_letter_plan(exam: Exam) -> None:
    """R-LET-1: the woman's letter 24–48 h after the doctor's (or the L1 practice's) letter was sent."""
    from screening.services.letters import letters_plan

    first = Letter.objects.filter(
        exam=exam, kind__in=(LetterKind.POS_M, LetterKind.POS_R), status=Letter.Status.SENT
    )
    sent_at = first.order_by("sent_at").values_list("sent_at", flat=True).first()
    delay = dt.timedelta(hours=getattr(settings, "L2_WOMAN_LETTER_DELAY_HOURS", 24))
    letters_plan(
        exam_id=exam.pk,
        kind=LetterKind.POS_F,
        event_key=f"{LetterKind.POS_F}:r{exam.l2_round}",
        not_before=sent_at + delay,
        due_at=(sent_at + dt.timedelta(hours=48)).date(),
    )


def _all_sent(exam: Exam, kinds: tuple[str, ...]) -> bool:
    letters = Letter.objects.filter(exam=exam, kind__in=kinds).exclude(status=Letter.Status.CANCELLED)
    return letters.exists() and not letters.exclude(status=Letter.Status.SENT).exists()


def _any_sent(exam: Exam, kinds: tuple[str, ...]) -> bool:
    return Letter.objects.filter(exam=exam, kind__in=kinds, status=Letter.Status.SENT).exists()


def exam_letters_sent(*, exam_id: int, actor: User | None) -> Exam:
    """Letters were marked sent: move the exam on (§4). Idempotent; called inside the letters' transaction."""
    exam = Exam.objects.select_for_update().get(pk=exam_id)
    state = exam.state
    if state == S.L2_NEGATIVE and _all_sent(exam, (LetterKind.NEG_F, LetterKind.NEG_M)):
        exam_transition(
            exam_id=exam.pk, to_state=S.RESULT_SENT, actor=actor, reason="Courriers de résultat envoyés"
        )
        exam_transition(exam_id=exam.pk, to_state=S.CLOSED, actor=actor, reason="Négatif : courriers envoyés")
    elif state == S.L2_POSITIVE and _any_sent(exam, (LetterKind.POS_M, LetterKind.POS_R)):
        exam_transition(
            exam_id=exam.pk, to_state=S.RESULT_SENT, actor=actor, reason="Courrier au médecin envoyé"
        )
        state = S.RESULT_SENT
        _woman_letter_plan(exam)
    if state == S.RESULT_SENT and _any_sent(exam, (LetterKind.POS_F,)):
        exam_transition(
            exam_id=exam.pk,
            to_state=S.BDD_PENDING,
            actor=actor,
            reason="Courrier à la femme envoyé : bilan différé attendu",
        )
    if state == S.CTI_REQUESTED and _all_sent(exam, (LetterKind.CTI_F, LetterKind.CTI_R)):
        sent = (
            Letter.objects.filter(exam=exam, kind__in=(LetterKind.CTI_F, LetterKind.CTI_R))
            .order_by("-sent_at")
            .first()
        )
        Retake.objects.filter(exam=exam, requested_at__isnull=True).update(requested_at=sent.sent_at)
        exam_transition(
            exam_id=exam.pk,
            to_state=S.RETAKE_PENDING,
            actor=actor,
            reason="Courriers CTI envoyés : reprise attendue",
        )
    exam_outcome_refresh(exam_id=exam.pk)
    return Exam.objects.get(pk=exam.pk)
