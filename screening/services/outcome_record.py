"""The exam's reporting row (ExamOutcome), recomputed from the source tables after every outcome event.

Every field is derived from facts that are themselves append-only or immutable (state history, final readings,
letters sent, work-ups, histology), so a refresh is idempotent and can be replayed at any time; the quality
indicators then aggregate this one table (domain spec §6).
"""

from django.db.models import Min

from readings.models import Consensus, L2Reading, Retake
from screening.models import (
    ClosedReason,
    Exam,
    ExamOutcome,
    ExamState,
    ExamStatusEvent,
    GlobalResult,
    Histology,
    IntervalCancer,
    Letter,
    LetterKind,
    WorkUp,
)

S = ExamState
CTI_OPEN_STATES = {S.CTI_REQUESTED, S.RETAKE_PENDING, S.RETAKE_OVERDUE, S.RETAKE_RECEIVED}
# §4: the reason an exam closed follows from the state it closed from (and, after histology, its nature).
CLOSED_FROM = {
    S.RESULT_SENT: ClosedReason.NEGATIVE,
    S.BDD_RECEIVED: ClosedReason.FALSE_POSITIVE,
    S.SURVEILLANCE: ClosedReason.SURVEILLANCE_DONE,
    S.RETAKE_REFUSED: ClosedReason.CTI_REFUSED,
    S.RETAKE_OVERDUE: ClosedReason.CTI_OVERDUE,
}
NOT_YET_OUT_OF_INTAKE = {S.DRAFT, S.INCOMPLETE}


def _l1_flags(exam: Exam) -> tuple[bool, bool]:
    form = getattr(exam, "l1_form", None)
    if form is None:
        return False, False
    initial = {form.acr_initial_right, form.acr_initial_left}
    final = {form.acr_final_right, form.acr_final_left}
    return bool(initial & {0, 3, 4, 5}), bool(final & {3, 4, 5}) or form.bdi_refused_by_woman


def _first_event(events: list[ExamStatusEvent], to_state: str):
    return next((e for e in events if e.to_state == to_state), None)


def _letters_sent(exam: Exam) -> dict[str, object]:
    rows = (
        Letter.objects.filter(exam=exam, status=Letter.Status.SENT)
        .values("kind")
        .annotate(first=Min("sent_at"))
    )
    return {row["kind"]: row["first"] for row in rows}


def _diagnosis(exam: Exam, closed_reason: str) -> dict:
    histologies = list(Histology.objects.filter(exam=exam))
    malignant = [h for h in histologies if h.nature == Histology.Nature.MALIGNANT]
    if malignant:
        sizes = [h.size_mm for h in malignant if h.size_mm is not None]
        nodes = [h.pn for h in malignant if h.pn and not h.pn.upper().endswith("X")]  # pNX: not assessed
        return {
            "cancer": True,
            "cancer_in_situ": all(h.invasiveness == Histology.Invasiveness.IN_SITU for h in malignant),
            "cancer_size_mm": max(sizes) if sizes else None,
            "cancer_node_negative": all(n.upper().startswith(("N0", "PN0", "0")) for n in nodes)
            if nodes
            else None,
        }
    known_benign = histologies or closed_reason in (
        ClosedReason.FALSE_POSITIVE,
        ClosedReason.SURVEILLANCE_DONE,
    )
    return {
        "cancer": False if known_benign else None,
        "cancer_in_situ": None,
        "cancer_size_mm": None,
        "cancer_node_negative": None,
    }


def exam_outcome_refresh(*, exam_id: int) -> ExamOutcome | None:
    """Recompute the reporting row of one exam (call inside the transaction of the event). None while in intake."""
    exam = Exam.objects.select_related("l1_form").get(pk=exam_id)
    if exam.state == S.CANCELLED:  # a duplicate or a wrong woman: not a screened exam for the indicators
        ExamOutcome.objects.filter(exam=exam).delete()
        return None
    if exam.state in NOT_YET_OUT_OF_INTAKE and not exam.submitted_at:
        return None
    events = list(ExamStatusEvent.objects.filter(exam=exam).order_by("at", "pk"))
    readings = list(
        L2Reading.objects.filter(exam=exam, status=L2Reading.Status.FINAL)
        .exclude(superseded_by__isnull=False)
        .order_by("final_at", "pk")
    )
    second = [r for r in readings if r.purpose == L2Reading.Purpose.L2]
    last = second[-1] if second else None
    l1_initial, l1_final = _l1_flags(exam)
    recalled = any(e.to_state == S.L2_POSITIVE for e in events)
    l2_positive = any(r.verdict == L2Reading.Verdict.ANOMALY for r in second)
    letters = _letters_sent(exam)

    bdi_refused = bool(getattr(exam, "l1_form", None) and exam.l1_form.bdi_refused_by_woman)
    if l1_final and (bdi_refused or not any(e.to_state == S.QUEUED for e in events)):
        result = GlobalResult.POS_L1
    elif recalled:
        result = GlobalResult.POS_L2
    elif exam.state in CTI_OPEN_STATES or any(
        e.to_state in (S.RETAKE_REFUSED, S.RETAKE_OVERDUE) for e in events
    ):
        result = GlobalResult.CTI
    elif any(e.to_state == S.L2_NEGATIVE for e in events):
        result = GlobalResult.NEG
    elif l1_final and exam.state in (S.L1_POSITIVE, S.BDD_PENDING, S.HISTOLOGY_PENDING, S.SURVEILLANCE):
        result = GlobalResult.POS_L1
    else:
        result = GlobalResult.PENDING

    closed = next((e for e in reversed(events) if e.to_state == S.CLOSED), None)
    closed_reason = ""
    if closed is not None:
        if closed.from_state == S.HISTOLOGY_RECORDED:
            malignant = Histology.objects.filter(exam=exam, nature=Histology.Nature.MALIGNANT).exists()
            closed_reason = ClosedReason.CANCER if malignant else ClosedReason.BENIGN
        else:
            closed_reason = CLOSED_FROM.get(closed.from_state, "")
    decided = (
        Consensus.objects.filter(exam=exam, state=Consensus.State.DECIDED).order_by("-decided_at").first()
    )
    submitted = _first_event(events, S.SUBMITTED)
    result_sent = _first_event(events, S.RESULT_SENT)
    lost = _first_event(events, S.LOST_TO_FOLLOW_UP)
    work_up = (
        WorkUp.objects.filter(exam=exam).exclude(origin=WorkUp.Origin.SURV).order_by("entered_at").first()
    )
    retake = Retake.objects.filter(exam=exam, received_at__isnull=False).order_by("-received_at").first()
    cti_letters = [letters[k] for k in (LetterKind.CTI_F, LetterKind.CTI_R) if k in letters]

    values = {
        "mammogram_date": exam.mammogram_date,
        "practice_id": exam.practice_id,
        "l1_radiologist_id": exam.l1_radiologist_id,
        "medium": exam.medium,
        "first_round": exam.screening_round == Exam.Round.FIRST,
        "policy_version": exam.policy_version,
        "global_result": result,
        "l1_positive_initial": l1_initial,
        "l1_positive_final": l1_final,
        "l2_read_at": (last.final_at or last.submitted_at) if last else None,
        "l2_reader_id": last.reader_id if last else None,
        "l2_site_id": last.site_id if last else None,
        "l2_positive": l2_positive,
        "l2_cti": any(r.verdict == L2Reading.Verdict.CTI for r in second),
        "l2_rounds": len({r.reading_round for r in second}),
        "discordant": bool(second) and (l2_positive != l1_final),
        "resolved_by": decided.kind if decided else "",
        "recalled": recalled,
        "submitted_at": exam.submitted_at or (submitted.at if submitted else None),
        "result_sent_at": result_sent.at if result_sent else None,
        "doctor_letter_at": letters.get(LetterKind.POS_M),
        "woman_letter_at": letters.get(LetterKind.POS_F),
        "cti_letter_at": min(cti_letters) if cti_letters else None,
        "retake_received_at": retake.received_at if retake else None,
        "bdd_received_at": work_up.entered_at if work_up else None,
        "lost_at": lost.at if lost else None,
        "interval_cancer": IntervalCancer.objects.filter(exam=exam).exists(),
        "closed_at": closed.at if closed else None,
        "closed_reason": closed_reason,
        **_diagnosis(exam, closed_reason),
    }
    outcome, _ = ExamOutcome.objects.update_or_create(exam=exam, defaults=values)
    return outcome
