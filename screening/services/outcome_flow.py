"""From a final second reading to the exam's outcome, under the policy it was submitted under (domain spec §4, §5).

France (default): the L2 verdict decides (recall if L2 positive), CTI consensus optional. Other presets: blind
reading of every exam, discordances resolved by a third reader (arbitration) or a consensus meeting, CTI confirmed
by a second reader. Letters are planned here; their sending moves the exam on (`exam_letters_sent`).
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from readings.models import Assignment, Consensus, L2Reading, ReaderProfile, Retake
from screening.models import Exam, ExamState, ExamStatusEvent, Letter, LetterKind, ReadingPolicy, User

from .errors import ServiceError
from .exam_state import exam_transition
from .outcome_record import exam_outcome_refresh
from .policies import policy_for_exam

S = ExamState
P = ReadingPolicy
C = Consensus
V = L2Reading.Verdict
VERDICT_STATE = {V.NORMAL: S.L2_NEGATIVE, V.ANOMALY: S.L2_POSITIVE, V.CTI: S.CTI_REQUESTED}
OUTCOME_STATE = {
    C.Outcome.NEGATIVE: S.L2_NEGATIVE,
    C.Outcome.POSITIVE: S.L2_POSITIVE,
    C.Outcome.CTI: S.CTI_REQUESTED,
}
VERDICT_OUTCOME = {V.NORMAL: C.Outcome.NEGATIVE, V.ANOMALY: C.Outcome.POSITIVE, V.CTI: C.Outcome.CTI}


def _l1_positive(exam: Exam) -> bool:
    form = getattr(exam, "l1_form", None)  # exams built without a form (tests, imports) count as L1 negative
    if form is None:
        return False
    return bool({form.acr_final_right, form.acr_final_left} & {3, 4, 5}) or form.bdi_refused_by_woman


def reading_purpose_for(*, exam: Exam) -> str:
    """What a reading submitted now is for: a third reading or a CTI confirmation while a consensus is open."""
    if exam.state != S.CONSENSUS_PENDING:
        return L2Reading.Purpose.L2
    open_one = Consensus.objects.filter(exam=exam, state=C.State.OPEN).first()
    if open_one is not None and open_one.trigger == C.Trigger.CTI:
        return L2Reading.Purpose.CTI_CONFIRMATION
    if open_one is not None and open_one.trigger == C.Trigger.READER:
        return L2Reading.Purpose.L2  # the asking reader gave no verdict: this one is the second reading
    return L2Reading.Purpose.ARBITRATION


def _needs_resolution(policy: ReadingPolicy, verdict: str, l1_positive: bool) -> bool:
    if policy.resolution == P.Resolution.NONE or verdict == V.CTI:
        return False
    l2_positive = verdict == V.ANOMALY
    if policy.consensus_trigger == P.ConsensusTrigger.ANY_POSITIVE:
        return l2_positive or l1_positive
    if policy.consensus_trigger == P.ConsensusTrigger.DISCORDANT:
        concordant_recall = l2_positive and l1_positive and policy.concordant_positive_review
        return l2_positive != l1_positive or concordant_recall
    return False


def _recall(policy: ReadingPolicy, verdict: str, l1_positive: bool) -> bool:
    """The recall rule when no resolution is needed (§5 recall_rule)."""
    l2_positive = verdict == V.ANOMALY
    if policy.recall_rule == P.RecallRule.BOTH_POSITIVE:
        return l2_positive and l1_positive
    if policy.recall_rule == P.RecallRule.RESOLUTION_DECIDES:
        return l2_positive  # concordant here: both say the same
    return l2_positive or (l1_positive and policy.scope == P.Scope.ALL)


def third_reader_assign(*, exam: Exam, reason: str) -> Assignment | None:
    """An eligible reader who has not read this exam yet (never its L1): least open work first."""
    from readings.services.engine import exclusion
    from readings.services.reader_state import engine_rules, exam_facts, reader_states, rules_current

    rules = rules_current()
    already = set(L2Reading.objects.filter(exam=exam).values_list("reader_id", flat=True))
    already |= set(
        Consensus.participants.through.objects.filter(consensus__exam=exam).values_list("user_id", flat=True)
    )
    (facts,) = exam_facts(
        [(exam.pk, exam.l1_radiologist_id, exam.practice_id, exam.practice.home_site_id)], with_released=False
    )
    states = reader_states(profile_ids=None, today=timezone.localdate(), rules=rules)
    engine = engine_rules(rules)
    eligible = [s for s in states if s.user_id not in already and exclusion(s, facts, engine) is None]
    if not eligible:
        return None
    chosen = min(eligible, key=lambda s: (s.open_load, s.day_load, s.user_id))
    return Assignment.objects.create(
        exam=exam,
        reader_id=chosen.user_id,
        l1_radiologist_id=exam.l1_radiologist_id,
        way=Assignment.Way.AUTO,
        why=reason,
        decision={"rule": "THIRD_READER", "excluded_readers": sorted(already)},
    )


def _consensus_open(
    *, exam: Exam, reading: L2Reading, trigger: str, kind: str, actor: User | None
) -> Consensus:
    consensus = Consensus.objects.create(exam=exam, reading=reading, trigger=trigger, kind=kind)
    consensus.participants.add(reading.reader)
    label = C.Kind(kind).label
    if Exam.objects.filter(pk=exam.pk, state=S.CONSENSUS_PENDING).exists():
        # A reader-requested consensus just closed and the policy opens the next one: the exam stays pending.
        ExamStatusEvent.objects.create(
            exam=exam, from_state=S.CONSENSUS_PENDING, to_state=S.CONSENSUS_PENDING, actor=actor,
            reason=f"{label} ({reading.get_verdict_display()})",
        )  # fmt: skip
    else:
        exam_transition(
            exam_id=exam.pk,
            to_state=S.CONSENSUS_PENDING,
            actor=actor,
            reason=f"{label} ({reading.get_verdict_display()})",
        )
    if kind in (C.Kind.ARBITRATION,) or trigger == C.Trigger.CTI:
        why = (
            "Confirmation du CTI par un second lecteur L2"
            if trigger == C.Trigger.CTI
            else "Arbitrage : troisième lecture"
        )
        # None eligible: the consensus page lists it without a reader, for the coordination to assign.
        third_reader_assign(exam=exam, reason=why)
    return consensus


def exam_l2_decide(*, exam: Exam, reading: L2Reading, actor: User | None) -> str:
    """A final reading arrived (exam locked by the caller): move the exam per its policy. Returns the new state."""
    policy = policy_for_exam(exam=exam)
    l1_positive = _l1_positive(exam)
    verdict = reading.verdict
    if reading.purpose in (L2Reading.Purpose.ARBITRATION, L2Reading.Purpose.CTI_CONFIRMATION):
        consensus = Consensus.objects.select_for_update().filter(exam=exam, state=C.State.OPEN).first()
        outcome = VERDICT_OUTCOME[verdict]
        if reading.purpose == L2Reading.Purpose.CTI_CONFIRMATION and verdict != V.CTI:
            outcome = VERDICT_OUTCOME[verdict]  # not confirmed: the second reader's own verdict stands
        if consensus is not None:
            consensus.participants.add(reading.reader)
            consensus_close(consensus=consensus, outcome=outcome, actor=actor, tie_break=False, note="")
        return _outcome_apply(exam=exam, to_state=OUTCOME_STATE[outcome], reading=reading, actor=actor)
    asked = Consensus.objects.select_for_update().filter(
        exam=exam, state=C.State.OPEN, trigger=C.Trigger.READER
    )
    for consensus in asked:  # R-ORG-1: the consensus reader's verdict, agreed with, is the L2 opinion
        consensus.participants.add(reading.reader)
        consensus_close(
            consensus=consensus,
            outcome=VERDICT_OUTCOME[verdict],
            actor=actor,
            tie_break=False,
            note=consensus.note,
        )
    if verdict == V.CTI and policy.cti_consensus == P.CtiConsensus.REQUIRED:
        _consensus_open(exam=exam, reading=reading, trigger=C.Trigger.CTI, kind=C.Kind.CONSENSUS, actor=actor)
        exam_outcome_refresh(exam_id=exam.pk)
        return S.CONSENSUS_PENDING
    if _needs_resolution(policy, verdict, l1_positive):
        kind = C.Kind.ARBITRATION if policy.resolution == P.Resolution.ARBITRATION else C.Kind.MEETING
        _consensus_open(exam=exam, reading=reading, trigger=C.Trigger.POLICY, kind=kind, actor=actor)
        exam_outcome_refresh(exam_id=exam.pk)
        return S.CONSENSUS_PENDING
    if verdict == V.CTI:
        to_state = S.CTI_REQUESTED
    else:
        to_state = S.L2_POSITIVE if _recall(policy, verdict, l1_positive) else S.L2_NEGATIVE
    form = getattr(exam, "l1_form", None)
    if to_state == S.L2_NEGATIVE and form is not None and form.bdi_refused_by_woman:
        # §4 (R-SCOPE-4): after a refused BDI the exam goes to the deferred work-up whatever L2 says; no
        # "pas d'anomalie" letter to a woman whose ACR 0 stands.
        exam_transition(exam_id=exam.pk, to_state=S.L2_NEGATIVE, actor=actor, reason="L2 normale, BDI refusé")
        exam_transition(
            exam_id=exam.pk,
            to_state=S.RESULT_SENT,
            actor=actor,
            reason="Pas de courrier négatif : BDI refusé",
        )
        exam_transition(exam_id=exam.pk, to_state=S.BDD_PENDING, actor=actor,
                        reason="BDI refusé par la femme : bilan différé attendu quel que soit le résultat L2")  # fmt: skip
        exam_outcome_refresh(exam_id=exam.pk)
        return S.BDD_PENDING
    return _outcome_apply(exam=exam, to_state=to_state, reading=reading, actor=actor)


def consensus_close(
    *, consensus: Consensus, outcome: str, actor: User | None, tie_break: bool, note: str
) -> None:
    consensus.state, consensus.outcome, consensus.tie_break = C.State.DECIDED, outcome, tie_break
    consensus.decided_by, consensus.decided_at, consensus.note = actor, timezone.now(), note
    consensus.save(update_fields=["state", "outcome", "tie_break", "decided_by", "decided_at", "note"])


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
        _outcome_apply(exam=exam, to_state=OUTCOME_STATE[outcome], reading=consensus.reading, actor=actor)
    return exam


def _outcome_apply(*, exam: Exam, to_state: str, reading: L2Reading | None, actor: User | None) -> str:
    from readings.services.l2_reading import reading_summary

    reason = reading_summary(reading) if reading is not None else ""
    exam_transition(exam_id=exam.pk, to_state=to_state, actor=actor, reason=reason)
    letters_for_outcome(exam=exam, to_state=to_state, reading=reading)
    exam_outcome_refresh(exam_id=exam.pk)
    return to_state


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


def exam_l1_positive_route(*, exam_id: int) -> Exam:
    """L1_POSITIVE → HISTOLOGY_PENDING (ACR 4–5) | SURVEILLANCE (3) | BDD_PENDING (0 after a refused BDI)."""
    exam = Exam.objects.select_related("l1_form").get(pk=exam_id)
    if exam.state != S.L1_POSITIVE:
        return exam
    worst = max(exam.l1_form.acr_final_right, exam.l1_form.acr_final_left)
    to_state = S.HISTOLOGY_PENDING if worst >= 4 else S.SURVEILLANCE if worst == 3 else S.BDD_PENDING
    exam = exam_transition(exam_id=exam.pk, to_state=to_state, actor=None, reason="Suivi positif L1")
    exam_outcome_refresh(exam_id=exam.pk)
    return exam


def reader_is_participant(*, reader: User, exam: Exam) -> bool:
    return ReaderProfile.objects.filter(user=reader).exists() and exam.l1_radiologist_id != reader.pk


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
