"""Recording the second reading: validation of the verdict, immutability, outcome and discordance."""

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from readings.models import (
    Assignment,
    BatchExam,
    CtiItem,
    Discordance,
    FindingDepth,
    L2Finding,
    L2Reading,
    ReaderProfile,
    ReadingSession,
)
from readings.services.stations import station_refusal_detail, station_verdicts_allowed
from screening.models import Exam, ExamState, ReadingPolicy, User
from screening.services.errors import ServiceError
from screening.services.exam_state import exam_transition
from screening.services.outcome_flow import exam_l2_decide, reading_purpose_for
from screening.services.policies import policy_for_exam

SIDE_FR = {"D": "sein droit", "G": "sein gauche"}


@dataclass
class FindingInput:
    side: str
    lesion_type: str
    quadrant: str
    acr: int
    clock: int | None = None
    size_mm: int | None = None
    comment: str = ""
    marks: list[dict] = field(default_factory=list)
    depth: str = ""  # FindingDepth code; last so positional callers keep their meaning


@dataclass
class CtiInput:
    side: str
    view: str
    reason: str
    action: str = CtiItem.Action.REF
    instructions: str = ""


def l2_reading_open(*, exam_id: int, reader: User) -> Exam:
    """ASSIGNED → IN_READING when the assigned reader opens the case (idempotent)."""
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        assignment = Assignment.objects.filter(
            exam=exam, reader=reader, state=Assignment.State.ACTIVE
        ).first()
        if assignment is None:
            raise ServiceError("not_assigned", "Cet examen ne vous est pas attribué.")
        if assignment.started_at is None:  # opened: no longer a candidate for stale reassignment
            assignment.started_at = timezone.now()
            assignment.save(update_fields=["started_at"])
        if exam.state == ExamState.ASSIGNED:
            exam = exam_transition(exam_id=exam.pk, to_state=ExamState.IN_READING, actor=reader)
    _session_touch(reader)  # after the exam lock is released: ending a session locks exams, then the session
    return exam


def _session_touch(reader: User) -> None:
    ReadingSession.objects.filter(reader=reader, state=ReadingSession.State.ACTIVE).update(
        last_activity_at=timezone.now()
    )


def _validate(
    verdict: str, acr_right: int, acr_left: int, findings: list[FindingInput], cti: list[CtiInput]
) -> None:
    if verdict == L2Reading.Verdict.NORMAL:
        if findings or cti:
            raise ServiceError(
                "normal_with_findings", "Un verdict normal ne comporte ni anomalie ni cliché insuffisant."
            )
        if acr_right not in (1, 2) or acr_left not in (1, 2):
            raise ServiceError("normal_acr", "Un verdict normal se classe ACR 1 ou 2 sur chaque sein.")
    elif verdict == L2Reading.Verdict.ANOMALY:
        if not findings:
            raise ServiceError(
                "anomaly_without_finding", "Décrivez au moins une anomalie (sein, type, localisation, ACR)."
            )
        for finding in findings:
            if finding.acr not in (0, 3, 4, 5):
                raise ServiceError(
                    "finding_acr", "Une anomalie en seconde lecture est classée ACR 0, 3, 4 ou 5."
                )
            if not (finding.side and finding.lesion_type and finding.quadrant):
                raise ServiceError(
                    "finding_incomplete",
                    f"Anomalie du {SIDE_FR.get(finding.side, 'sein ?')} : type et localisation requis.",
                )
            if finding.clock is not None and not 1 <= finding.clock <= 12:
                raise ServiceError("finding_clock", "Le rayon horaire va de 1 à 12 h.")
            if finding.depth not in ("", *FindingDepth.values):
                raise ServiceError("finding_depth", "Profondeur : antérieur, moyen ou postérieur.")
    elif verdict == L2Reading.Verdict.CTI:
        if not cti:
            raise ServiceError(
                "cti_without_item", "Indiquez au moins une incidence insuffisante avec son motif."
            )
        if findings:
            raise ServiceError(
                "cti_with_findings", "Une anomalie l'emporte : saisissez un verdict « Anomalie »."
            )
    else:
        raise ServiceError("verdict_unknown", "Choisissez un verdict : normal, anomalie ou CTI.")


def l2_reading_submit(
    *,
    exam_id: int,
    reader: User,
    verdict: str,
    acr_right: int = 1,
    acr_left: int = 1,
    findings: list[FindingInput] | None = None,
    cti_items: list[CtiInput] | None = None,
    comment: str = "",
    proposed_exams: str = "",
    reading_seconds: int | None = None,
    client_uuid: uuid.UUID | None = None,
    timings: dict | None = None,
    undo_seconds: int | None = None,
    station_status: dict | None = None,
) -> L2Reading:
    """Record an L2 verdict. Replaying the same client_uuid is harmless.

    During the undo window (F8 d, `settings.L2_UNDO_WINDOW_SECONDS`) the verdict is provisional: the exam stays
    in reading and the reader may withdraw it; it becomes final — exam outcome, discordance — when the window
    ends (Celery countdown, the reader's next request, or the periodic pass). A zero window finalises at once.

    `station_status` is the server's evaluation of the display (services/stations.py), stored on the reading;
    with `settings.L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION` a non-diagnostic (or unknown) one is refused.
    """
    findings, cti_items = findings or [], cti_items or []
    if client_uuid is not None:
        previous = L2Reading.objects.filter(client_uuid=client_uuid, reader=reader).first()
        if previous is not None:
            return previous
    if not station_verdicts_allowed(status=station_status):
        raise ServiceError("station_not_diagnostic", station_refusal_detail(status=station_status))
    if verdict == L2Reading.Verdict.ANOMALY:
        for side, attr in (("D", "acr_right"), ("G", "acr_left")):
            side_acrs = [f.acr for f in findings if f.side == side]
            if side_acrs:
                worst = max(side_acrs, key=lambda a: (a != 0, a))  # 5 > 4 > 3 > 0
                if attr == "acr_right":
                    acr_right = worst
                else:
                    acr_left = worst
    _validate(verdict, acr_right, acr_left, findings, cti_items)
    with transaction.atomic():
        exam = Exam.objects.select_for_update(of=("self",)).select_related("l1_form").get(pk=exam_id)
        if exam.l1_radiologist_id == reader.pk:
            raise ServiceError(
                "reader_is_l1", "Vous êtes le premier lecteur de cet examen : seconde lecture impossible."
            )
        assignment = Assignment.objects.filter(
            exam=exam, reader=reader, state=Assignment.State.ACTIVE
        ).first()
        # CONSENSUS_PENDING: a third reading or a CTI confirmation (§5), given to this reader by the policy.
        if assignment is None or exam.state not in (
            ExamState.ASSIGNED,
            ExamState.IN_READING,
            ExamState.CONSENSUS_PENDING,
        ):
            raise ServiceError("not_assigned", "Cet examen ne vous est pas (ou plus) attribué.")
        if assignment.readings.exclude(status=L2Reading.Status.WITHDRAWN).exists():
            raise ServiceError("already_submitted", "Un verdict est déjà enregistré pour cet examen.")
        if exam.state == ExamState.ASSIGNED:
            exam_transition(exam_id=exam.pk, to_state=ExamState.IN_READING, actor=reader)
        profile = ReaderProfile.objects.select_related("site").get(user=reader)
        window = settings.L2_UNDO_WINDOW_SECONDS if undo_seconds is None else undo_seconds
        now = timezone.now()
        reading = L2Reading.objects.create(
            exam=exam,
            purpose=reading_purpose_for(exam=exam),
            **_blind_opinion(exam=exam, reader=reader),
            assignment=assignment,
            reader=reader,
            l1_radiologist=exam.l1_radiologist,
            site=profile.site,
            reading_round=exam.l2_readings.count() + 1,
            verdict=verdict,
            acr_right=acr_right,
            acr_left=acr_left,
            proposed_exams=proposed_exams,
            comment=comment,
            reading_seconds=reading_seconds,
            client_uuid=client_uuid,
            timings=timings or {},
            station_diagnostic=station_status.get("diagnostic") if station_status else None,
            station_status=station_status or {},
            status=L2Reading.Status.PROVISIONAL if window > 0 else L2Reading.Status.FINAL,
            final_at=now + dt.timedelta(seconds=window),
        )
        for finding in findings:
            L2Finding.objects.create(reading=reading, **finding.__dict__)
        for item in cti_items:
            CtiItem.objects.create(reading=reading, **item.__dict__)
        if window > 0:
            from readings.tasks import l2_reading_finalize_task

            transaction.on_commit(
                lambda: l2_reading_finalize_task.apply_async(args=[reading.pk], countdown=window + 0.5)
            )
        else:
            reading_outcome_apply(exam=exam, reading=reading, assignment=assignment, actor=reader)
    _session_touch(reader)
    return reading


def _blind_opinion(*, exam: Exam, reader: User) -> dict:
    """§5 BLIND_THEN_REVEAL: the reader's first opinion (given blind, withdrawn once the L1 form was revealed)
    is kept on the reading that replaces it, with the moment of the reveal."""
    if policy_for_exam(exam=exam).blinding != ReadingPolicy.Blinding.BLIND_THEN_REVEAL:
        return {}
    first = (
        L2Reading.objects.filter(exam=exam, reader=reader, status=L2Reading.Status.WITHDRAWN)
        .order_by("submitted_at", "pk")
        .first()
    )
    if first is None:
        return {}
    opinion = {"verdict": first.verdict, "acr_right": first.acr_right, "acr_left": first.acr_left}
    return {"opinion_blind": opinion, "revealed_at": first.submitted_at}


def reading_outcome_apply(
    *, exam: Exam, reading: L2Reading, assignment: Assignment | None, actor: User | None
) -> None:
    """The verdict is final: the assignment ends and the exam moves to its outcome (caller holds the exam lock)."""
    verdict = reading.verdict
    if assignment is not None:
        assignment.state, assignment.ended_at = Assignment.State.COMPLETED, timezone.now()
        assignment.started_at = assignment.started_at or assignment.ended_at
        assignment.save(update_fields=["state", "ended_at", "started_at"])
    BatchExam.objects.filter(exam=exam, active=True).update(active=False)
    if verdict != L2Reading.Verdict.NORMAL and reading.purpose == L2Reading.Purpose.L2:
        form = exam.l1_form
        Discordance.objects.create(
            exam=exam,
            reading=reading,
            kind=Discordance.Kind.L2_POSITIVE
            if verdict == L2Reading.Verdict.ANOMALY
            else Discordance.Kind.CTI,
            l1_summary=f"L1 : ACR D{form.acr_final_right} / G{form.acr_final_left}",
            l2_summary=reading_summary(reading)[:300],
        )
    exam_l2_decide(exam=exam, reading=reading, actor=actor)  # the policy decides the state, letters follow


def reading_summary(reading: L2Reading) -> str:
    """A short French summary of a reading, for the history, the dashboard and the discordance list."""
    if reading.verdict == L2Reading.Verdict.NORMAL:
        return f"L2 normale (D{reading.acr_right}/G{reading.acr_left})"
    if reading.verdict == L2Reading.Verdict.ANOMALY:
        parts = [
            f"{SIDE_FR[f.side]} {f.get_quadrant_display().lower()} type {f.lesion_type} ACR {f.acr}"
            for f in reading.findings.all()
        ]
        return "L2 positive : " + " ; ".join(parts)
    items = [
        f"{i.get_view_display()} {i.side} : {i.get_reason_display().lower()}" for i in reading.cti_items.all()
    ]
    return "CTI : " + " ; ".join(items)
