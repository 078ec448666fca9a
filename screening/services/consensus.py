"""Consensus and arbitration decided outside a verdict (§5, R-ORG-1): a meeting's decision, the third reader named
by the coordination, and a reader's request for the advice of another L2 reader."""

from django.db import transaction
from django.utils import timezone

from readings.models import Assignment, Consensus, L2Reading, ReaderProfile
from screening.models import Exam, ExamState, ReadingPolicy, User

from .errors import ServiceError
from .exam_state import exam_transition
from .outcome_flow import OUTCOME_STATE, consensus_close, outcome_apply, third_reader_assign
from .outcome_record import exam_outcome_refresh
from .policies import policy_for_exam

S = ExamState
P = ReadingPolicy
C = Consensus


def consensus_meeting_decide(
    *,
    consensus_id: int,
    actor: User,
    opinions: dict[int, str],
    note: str = "",
    coordinator_outcome: str | None = None,
) -> Exam:
    """A consensus meeting's decision (§5): participants' opinions; without agreement the policy's tie-break."""
    with transaction.atomic():
        exam = _exam_of_consensus_locked(consensus_id)  # the exam first, as when a verdict decides
        exam = Exam.objects.select_related("l1_form").get(pk=exam.pk)
        consensus = (
            Consensus.objects.select_for_update(of=("self",)).select_related("exam").get(pk=consensus_id)
        )
        if consensus.state != C.State.OPEN or consensus.kind != C.Kind.MEETING:
            raise ServiceError("consensus_not_open", "Cette réunion de consensus est déjà décidée.")
        if len(opinions) < 2:
            raise ServiceError("consensus_participants", "Un consensus réunit au moins deux lecteurs.")
        if exam.l1_radiologist_id in opinions:
            raise ServiceError(
                "consensus_l1", "Le premier lecteur de l'examen ne participe pas au consensus."
            )
        values = set(opinions.values())
        if not values <= {C.Outcome.NEGATIVE, C.Outcome.POSITIVE, C.Outcome.CTI}:
            raise ServiceError("consensus_outcome", "Avis possibles : négatif, positif ou clichés à refaire.")
        policy = policy_for_exam(exam=exam)
        tie_break = len(values) > 1
        if not tie_break:
            outcome = values.pop()
        elif policy.consensus_tie_break == P.TieBreak.POSITIVE_WINS:
            outcome = C.Outcome.POSITIVE if C.Outcome.POSITIVE in values else C.Outcome.CTI
        else:
            if coordinator_outcome not in values or actor.centre_role != "PHYSICIAN":
                raise ServiceError(
                    "consensus_tie",
                    "Pas d'accord : le médecin coordinateur tranche entre les avis exprimés.",
                )
            outcome = coordinator_outcome
        consensus.participants.add(*User.objects.filter(pk__in=opinions))
        consensus_close(consensus=consensus, outcome=outcome, actor=actor, tie_break=tie_break, note=note)
        outcome_apply(exam=exam, to_state=OUTCOME_STATE[outcome], reading=consensus.reading, actor=actor)
    return exam


def _exam_of_consensus_locked(consensus_id: int) -> Exam:
    exam_id = Consensus.objects.filter(pk=consensus_id).values_list("exam_id", flat=True).first()
    if exam_id is None:
        raise ServiceError("not_found", "Consensus introuvable.")
    return Exam.objects.select_for_update().get(pk=exam_id)


def consensus_reader_set(*, consensus_id: int, reader: User, actor: User) -> Assignment:
    """The coordination names the third reader (or the CTI's second reader) when the policy found none."""
    with transaction.atomic():
        exam = _exam_of_consensus_locked(consensus_id)
        consensus = (
            Consensus.objects.select_for_update(of=("self",)).select_related("exam").get(pk=consensus_id)
        )
        if L2Reading.objects.filter(exam=exam, status=L2Reading.Status.PROVISIONAL).exists():
            raise ServiceError(
                "verdict_pending", "Un verdict est en cours d'enregistrement : réessayez dans un instant."
            )
        if consensus.state != C.State.OPEN or consensus.kind == C.Kind.MEETING:
            raise ServiceError(
                "consensus_no_reader", "Cette décision ne se prend pas par une lecture supplémentaire."
            )
        if reader.pk == exam.l1_radiologist_id:
            raise ServiceError("reader_is_l1", f"{reader} est le premier lecteur de cet examen (R-COI-1).")
        if L2Reading.objects.filter(exam=exam, reader=reader).exists():
            raise ServiceError(
                "reader_already_read", f"{reader} a déjà lu cet examen : choisissez un autre lecteur."
            )
        if not ReaderProfile.objects.filter(user=reader).exists():
            raise ServiceError("not_a_reader", f"{reader} n'est pas second lecteur.")
        current = Assignment.objects.filter(exam=exam, state=Assignment.State.ACTIVE).first()
        if current is not None:
            current.state, current.ended_at = Assignment.State.RELEASED, timezone.now()
            current.release_code, current.release_reason = (
                "COORDINATOR",
                f"Remplacé par {reader} (coordination)",
            )
            current.save(update_fields=["state", "ended_at", "release_code", "release_reason"])
        return Assignment.objects.create(
            exam=exam,
            reader=reader,
            l1_radiologist_id=exam.l1_radiologist_id,
            assigned_by=actor,
            way=Assignment.Way.COORDINATOR,
            why=f"{consensus.get_kind_display()} : lecteur désigné par {actor}",
            decision={"rule": "THIRD_READER", "actor_id": actor.pk},
        )


def consensus_request(*, exam_id: int, reader: User, text: str = "") -> Exam:
    """R-ORG-1: a difficult case goes to a consensus of L2 readers, never a third reading by the L1. The asking
    reader's assignment ends; another eligible L2 reader reads it and their verdict, agreed with, decides."""
    from readings.services.assignment import assignment_end, reader_assignment_open

    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        assignment = reader_assignment_open(exam=exam, reader=reader)
        if assignment.readings.filter(status=L2Reading.Status.PROVISIONAL).exists():
            raise ServiceError(
                "already_submitted",
                "Votre verdict est enregistré : annulez-le (Ctrl+Z) avant de demander un avis.",
            )
        reason = "Avis d'un second lecteur L2 demandé" + (f" : {text.strip()[:200]}" if text.strip() else "")
        assignment_end(assignment=assignment, code="CONSENSUS", reason=reason)
        consensus = Consensus.objects.create(
            exam=exam, trigger=C.Trigger.READER, kind=C.Kind.CONSENSUS, note=text[:500]
        )
        consensus.participants.add(reader)
        exam_transition(exam_id=exam.pk, to_state=S.CONSENSUS_PENDING, actor=reader, reason=reason)
        third_reader_assign(exam=exam, reason=f"Consensus demandé par {reader}")
        exam_outcome_refresh(exam_id=exam.pk)
    return Exam.objects.get(pk=exam.pk)
