"""From a final second reading to the exam's outcome, under the policy it was submitted under (domain spec §4, §5).

France (default): the L2 verdict decides (recall if L2 positive), CTI consensus optional. Other presets: blind
reading of every exam, discordances resolved by a third reader (arbitration) or a consensus meeting, CTI confirmed
by a second reader. Letters: outcome_letters.py; consensus decided outside a verdict: consensus.py.
"""

from django.utils import timezone

from readings.models import Assignment, Consensus, L2Reading
from screening.models import Exam, ExamState, ExamStatusEvent, ReadingPolicy, User

from .exam_state import exam_transition
from .outcome_letters import letters_for_outcome
from .outcome_record import exam_outcome_refresh
from .policies import policy_for_exam

S = ExamState
P = ReadingPolicy
C = Consensus
V = L2Reading.Verdict
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
        return outcome_apply(exam=exam, to_state=OUTCOME_STATE[outcome], reading=reading, actor=actor)
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
    return outcome_apply(exam=exam, to_state=to_state, reading=reading, actor=actor)


def consensus_close(
    *, consensus: Consensus, outcome: str, actor: User | None, tie_break: bool, note: str
) -> None:
    consensus.state, consensus.outcome, consensus.tie_break = C.State.DECIDED, outcome, tie_break
    consensus.decided_by, consensus.decided_at, consensus.note = actor, timezone.now(), note
    consensus.save(update_fields=["state", "outcome", "tie_break", "decided_by", "decided_at", "note"])


def outcome_apply(*, exam: Exam, to_state: str, reading: L2Reading | None, actor: User | None) -> str:
    from readings.services.l2_reading import reading_summary

    reason = reading_summary(reading) if reading is not None else ""
    exam_transition(exam_id=exam.pk, to_state=to_state, actor=actor, reason=reason)
    letters_for_outcome(exam=exam, to_state=to_state, reading=reading)
    exam_outcome_refresh(exam_id=exam.pk)
    return to_state


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
