"""Film exams (domain spec §4 "Film exams", R-ORG-3): laser prints read at a lightbox (négatoscope).

They follow the console flow: registered by the secretariat when the films arrive and submitted through the
same service; the browser engine leaves them alone, and the secretariat books them into a lightbox session
instead (an assignment to the session's reader, no reading lock). The result, keyed in by the reader or by
the secretariat for that reader, goes through the browser's verdict service, so the same validation,
outcome, discordance and policy apply. Last, the films' return is tracked.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from readings.models import (
    Assignment,
    BatchExam,
    CtiItem,
    FilmRecord,
    L2Reading,
    LightboxSession,
    ReaderAbsence,
    ReaderProfile,
)
from readings.services.engine import EXCLUSIONS, exclusion
from readings.services.l2_reading import CtiInput, FindingInput, l2_reading_submit
from readings.services.reader_state import engine_rules, exam_facts, reader_states, rules_current
from screening.models import AuditEvent, Exam, ExamState, Practice, ReadingSite, User
from screening.services.audit import audit_record
from screening.services.errors import ServiceError
from screening.services.exam_state import exam_transition, exams_transition_bulk
from screening.services.exams import exam_create, exam_submit, participant_get_or_create
from screening.services.outcome_record import exam_outcome_refresh

S = ExamState
FILM = Exam.Medium.FILM
FILM_EQUIPMENT = (Exam.Equipment.ANA, Exam.Equipment.CR)
FILM_CTI_ACTIONS = (CtiItem.Action.REF, CtiItem.Action.REI)
# A lightbox session is the reader's slot for that day: the browser's weekdays and capacities do not apply.
NOT_FOR_LIGHTBOX = frozenset({"DAY_OFF", "DAY_FULL", "WEEK_FULL"})
# While the exam may still be read (consensus included), its films stay at the centre.
STILL_READING = (
    S.SUBMITTED, S.INCOMPLETE, S.AWAITING_PRIORS, S.QUEUED, S.ASSIGNED, S.IN_READING, S.DEFERRED,
    S.CONSENSUS_PENDING,
)  # fmt: skip
# The display rule of the browser (L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION) is about screens: films are read
# at a lightbox, the programme's reference way of reading.
LIGHTBOX_STATION = {"diagnostic": True, "station": "LIGHTBOX", "labels": ["négatoscope (lecture sur films)"]}
# §3 CTIReason IMP « Impression (film) »: a film-only reason (the browser checklist does not offer it).
IMPRESSION = CtiItem.Reason.IMP


def lightbox_session_max() -> int:
    return getattr(settings, "L2_LIGHTBOX_SESSION_MAX", 120)


def _require_secretariat(actor: User) -> None:
    if not actor.is_coordinator:
        raise ServiceError("not_allowed", "Réservé au secrétariat du centre de coordination.")


def film_exam_register(
    *,
    actor: User,
    practice: Practice,
    participant: dict[str, Any],
    l1_radiologist: User,
    mammogram_date: dt.date,
    l1: dict[str, Any],
    lesions: list[dict[str, Any]] | None = None,
    equipment: str = Exam.Equipment.ANA,
    film_count: int = 4,
    accession_number: str = "",
    received_at: dt.datetime | None = None,
) -> Exam:
    """The films arrived: the woman (existing or new), the exam on FILM with its L1 form keyed from paper,
    the film record, then submission through the practices' service (no images needed). All or nothing."""
    _require_secretariat(actor)
    if equipment not in FILM_EQUIPMENT:
        raise ServiceError(
            "film_equipment",
            "Sur films, l'équipement est analogique ou numérique à plaques (CR) imprimé.",
            field="equipment",
        )
    if not 1 <= film_count <= 40:
        raise ServiceError("film_count", "Indiquez le nombre de films reçus (1 à 40).", field="film_count")
    received_at = received_at or timezone.now()
    if received_at > timezone.now():
        raise ServiceError(
            "received_in_future", "La date de réception est dans le futur.", field="received_at"
        )
    if timezone.localdate(received_at) < mammogram_date:
        raise ServiceError(
            "received_before_mammogram",
            "Les films ne peuvent pas être reçus avant la date de la mammographie.",
            field="received_at",
        )
    with transaction.atomic():
        woman = participant_get_or_create(**participant)
        exam = exam_create(
            actor=actor,
            practice=practice,
            participant=woman,
            l1_radiologist=l1_radiologist,
            mammogram_date=mammogram_date,
            l1=l1,
            lesions=lesions,
            accession_number=accession_number,
            medium=FILM,
            equipment=equipment,
        )
        FilmRecord.objects.create(
            exam=exam, received_at=received_at, received_by=actor, film_count=film_count
        )
        exam = exam_submit(exam_id=exam.pk, actor=actor)  # intake (→ QUEUED) runs on commit
    return exam


def lightbox_session_create(
    *, site: ReadingSite, reader: User, scheduled_on: dt.date, actor: User
) -> LightboxSession:
    """A lightbox session for one reader on one day at one site (weekly, 2–3 h)."""
    _require_secretariat(actor)
    profile = ReaderProfile.objects.filter(user=reader).first()
    if profile is None:
        raise ServiceError("not_a_reader", f"{reader} n'est pas second lecteur.", field="reader")
    if not (profile.active and profile.qualified and reader.is_active):
        raise ServiceError("reader_inactive", f"{reader} est inactif ou non habilité.", field="reader")
    if scheduled_on < timezone.localdate():
        raise ServiceError("session_in_past", "La date de la séance est passée.", field="scheduled_on")
    if ReaderAbsence.objects.filter(
        reader=profile, starts_on__lte=scheduled_on, ends_on__gte=scheduled_on
    ).exists():
        raise ServiceError(
            "reader_absent", f"{reader} est absent le {scheduled_on:%d/%m/%Y}.", field="scheduled_on"
        )
    if LightboxSession.objects.filter(site=site, reader=reader, scheduled_on=scheduled_on).exists():
        raise ServiceError(
            "session_exists",
            f"Une séance existe déjà pour {reader} le {scheduled_on:%d/%m/%Y} à {site}.",
            field="scheduled_on",
        )
    session = LightboxSession.objects.create(
        site=site, reader=reader, scheduled_on=scheduled_on, created_by=actor
    )
    audit_record(
        actor=actor, action=AuditEvent.Action.QUEUE_CHANGE, object_ref=f"séance négatoscope {session.pk}"
    )
    return session


def lightbox_session_book(*, session_id: int, exam_ids: list[int], actor: User) -> list[int]:
    """Book queued film exams into the session: QUEUED → ASSIGNED to its reader, under the engine's rules
    (R-COI-1 first) for the session day. All or nothing: a refused exam books none, and says why."""
    _require_secretariat(actor)
    ids = sorted(set(exam_ids))
    if not ids:
        raise ServiceError("nothing_to_book", "Choisissez au moins un examen sur films à programmer.")
    session = LightboxSession.objects.select_related("reader", "site").filter(pk=session_id).first()
    if session is None:
        raise ServiceError("session_not_found", "Séance introuvable.")
    reader = session.reader
    with transaction.atomic():
        # Exams, then the reader, then the session: the assignment engine's lock order (no deadlock).
        rows = list(
            Exam.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "l1_radiologist_id", "practice_id", "practice__home_site_id", "state", "medium",
                         "participant__programme_id")
        )  # fmt: skip
        profile = ReaderProfile.objects.select_for_update().filter(user=reader).first()
        session = LightboxSession.objects.select_for_update().get(pk=session_id)
        if session.scheduled_on < timezone.localdate():
            raise ServiceError("session_in_past", "Cette séance est passée : programmez une nouvelle séance.")
        if profile is None:
            raise ServiceError("not_a_reader", f"{reader} n'est pas second lecteur.")
        rules = rules_current()
        (state,) = reader_states(profile_ids=[profile.pk], today=session.scheduled_on, rules=rules)
        engine = engine_rules(rules)
        facts = {f.exam_id: f for f in exam_facts([r[:4] for r in rows], with_released=False)}
        held = set(BatchExam.objects.filter(exam_id__in=ids, active=True).values_list("exam_id", flat=True))
        refused = [f"examen n° {pk} introuvable" for pk in sorted(set(ids) - {r[0] for r in rows})]
        for pk, _l1, _practice, _site, exam_state, medium, programme_id in rows:
            if medium != FILM:
                refused.append(f"{programme_id} : n'est pas un examen sur films")
            elif exam_state != S.QUEUED:
                refused.append(f"{programme_id} : n'est pas à programmer ({ExamState(exam_state).label})")
            elif pk in held:
                refused.append(f"{programme_id} : est réservé dans un lot de lecture")
            else:
                code = exclusion(state, facts[pk], engine)
                if code is not None and code not in NOT_FOR_LIGHTBOX:
                    refused.append(f"{programme_id} : {EXCLUSIONS[code]}")
        if refused:
            raise ServiceError(
                "booking_refused",
                f"Aucun examen programmé — {reader} ne peut pas lire : " + " ; ".join(refused) + ".",
            )
        booked, most = session.exams.count(), lightbox_session_max()
        if booked + len(ids) > most:
            raise ServiceError(
                "session_full",
                f"La séance compte déjà {booked} examen(s) sur {most} au plus : "
                f"programmez les {len(ids)} examen(s) sur deux séances.",
            )
        why = f"Séance de négatoscope du {session.scheduled_on:%d/%m/%Y} ({session.site}) : {reader}."
        Assignment.objects.bulk_create(
            [
                Assignment(exam_id=pk, reader=reader, l1_radiologist_id=facts[pk].l1_radiologist_id,
                           assigned_by=actor, way=Assignment.Way.LIGHTBOX, why=why,
                           decision={"rule": "LIGHTBOX", "lightbox_session_id": session.pk, "actor_id": actor.pk})
                for pk in ids
            ]
        )  # fmt: skip
        exams_transition_bulk(
            exam_ids=ids,
            from_state=S.QUEUED,
            to_state=S.ASSIGNED,
            actor=actor,
            reasons=dict.fromkeys(ids, why),
        )
        Exam.objects.filter(pk__in=ids).update(
            queue_checked_at=timezone.now(), queue_wait_code="", queue_wait_reason=""
        )
        session.exams.add(*ids)
        audit_record(
            actor=actor,
            action=AuditEvent.Action.QUEUE_CHANGE,
            object_ref=f"séance négatoscope {session.pk} : {len(ids)} examen(s) programmé(s)",
        )
    return ids


def lightbox_session_unbook(*, session_id: int, exam_id: int, actor: User) -> None:
    """Take an unread exam out of its session: the booking ends and the exam is back to be programmed."""
    _require_secretariat(actor)
    with transaction.atomic():
        exam = Exam.objects.select_for_update().filter(pk=exam_id).first()
        session = LightboxSession.objects.select_for_update().filter(pk=session_id).first()
        if exam is None or session is None or not session.exams.filter(pk=exam_id).exists():
            raise ServiceError("not_booked", "Cet examen n'est pas programmé dans cette séance.")
        assignment = Assignment.objects.filter(
            exam=exam, reader_id=session.reader_id, state=Assignment.State.ACTIVE
        ).first()
        if assignment is None and exam.state != S.QUEUED:
            raise ServiceError("already_read", "Cet examen a déjà été lu : il reste dans la séance.")
        if assignment is not None:
            if exam.state != S.ASSIGNED:
                raise ServiceError("already_read", "Un résultat est en cours de saisie pour cet examen.")
            reason = f"Retiré de la séance de négatoscope du {session.scheduled_on:%d/%m/%Y} par {actor}."
            assignment.state, assignment.ended_at = Assignment.State.RELEASED, timezone.now()
            assignment.release_code, assignment.release_reason = "LIGHTBOX", reason[:300]
            assignment.save(update_fields=["state", "ended_at", "release_code", "release_reason"])
            exam_transition(exam_id=exam.pk, to_state=S.QUEUED, actor=actor, reason=reason)
        session.exams.remove(exam)


def _film_cti(items: list[CtiInput]) -> list[CtiInput]:
    result = []
    for item in items:
        if item.action not in FILM_CTI_ACTIONS:
            raise ServiceError(
                "cti_action_film",
                "Sur films, un CTI demande de refaire l'incidence ou de réimprimer le film.",
            )
        result.append(item)
    return result


def film_result_key_in(
    *,
    exam_id: int,
    reader: User,
    keyed_by: User,
    verdict: str,
    acr_right: int = 1,
    acr_left: int = 1,
    findings: list[FindingInput] | None = None,
    cti_items: list[CtiInput] | None = None,
    comment: str = "",
    proposed_exams: str = "",
    client_uuid=None,
) -> L2Reading:
    """The verdict read on the films, keyed in by the reader or by the secretariat for them (keyed_by).

    Through `l2_reading_submit` (same validation, outcome, discordance, policy), final at once: a keyed
    result has no undo window. Replaying the same client_uuid returns the recorded reading.
    """
    if keyed_by.pk != reader.pk and not keyed_by.is_coordinator:
        raise ServiceError("not_allowed", "Seul le lecteur ou le secrétariat peut saisir ce résultat.")
    cti_items = _film_cti(cti_items or [])
    if client_uuid is not None:  # the same form posted twice
        previous = L2Reading.objects.filter(client_uuid=client_uuid, reader=reader).first()
        if previous is not None:
            return previous
    with transaction.atomic():
        exam = Exam.objects.select_for_update(of=("self",)).filter(pk=exam_id).first()
        if exam is None:
            raise ServiceError("not_found", "Examen introuvable.")
        if exam.medium != FILM:
            raise ServiceError(
                "not_film", "Cet examen n'est pas sur films : il se lit sur le poste de lecture."
            )
        booked = Assignment.objects.filter(exam=exam, reader=reader, state=Assignment.State.ACTIVE).exists()
        if not booked:  # said here for the secretariat too, not as "not yours"
            raise ServiceError("not_booked", f"Cet examen n'est pas (ou plus) programmé pour {reader}.")
        reading = l2_reading_submit(
            exam_id=exam.pk,
            reader=reader,
            verdict=verdict,
            acr_right=acr_right,
            acr_left=acr_left,
            findings=findings,
            cti_items=cti_items,
            comment=comment,
            proposed_exams=proposed_exams,
            client_uuid=client_uuid,
            undo_seconds=0,
            station_status=LIGHTBOX_STATION,
        )
        session = LightboxSession.objects.filter(exams=exam, reader=reader).order_by("-scheduled_on").first()
        reading.medium = FILM
        reading.keyed_by = None if keyed_by.pk == reader.pk else keyed_by
        reading.site_id = session.site_id if session else reading.site_id  # read where the lightbox is
        reading.save(update_fields=["medium", "keyed_by", "site"])
        exam_outcome_refresh(exam_id=exam.pk)  # the reporting row reads the reading's site
    return reading


def film_return_record(
    *, exam_id: int, actor: User, returned_to: str, returned_at: dt.datetime | None = None
) -> FilmRecord:
    """The films go back (to the practice or the woman) once the second reading is over."""
    _require_secretariat(actor)
    returned_to = (returned_to or "").strip()
    if not returned_to:
        raise ServiceError(
            "returned_to_missing",
            "Indiquez à qui les films sont rendus (cabinet, patiente).",
            field="returned_to",
        )
    with transaction.atomic():
        record = (
            FilmRecord.objects.select_for_update(of=("self",))
            .select_related("exam")
            .filter(exam_id=exam_id)
            .first()
        )
        if record is None:
            raise ServiceError("no_films", "Aucun film n'est enregistré pour cet examen.")
        if record.returned_at is not None:
            raise ServiceError(
                "films_already_returned",
                f"Films déjà rendus le {timezone.localtime(record.returned_at):%d/%m/%Y} ({record.returned_to}).",
            )
        if record.exam.state in STILL_READING:
            raise ServiceError(
                "films_still_needed",
                "La seconde lecture n'est pas terminée : gardez les films jusqu'au résultat.",
            )
        record.returned_at = returned_at or timezone.now()
        record.returned_to = returned_to[:200]
        record.save(update_fields=["returned_at", "returned_to"])
    return record
