"""Assigning queued exams to eligible second readers (R-COI-1, load balance across the sites)."""

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from readings.models import Assignment, ReaderProfile
from screening.models import Exam, ExamState, User
from screening.services.errors import ServiceError
from screening.services.exam_state import exam_transition


def eligible_readers(*, exam: Exam) -> tuple[list[ReaderProfile], list[str]]:
    """Readers who may read this exam, least loaded first, and why the others were excluded."""
    today = timezone.localdate()
    profiles = (
        ReaderProfile.objects.select_related("user", "site")
        .annotate(
            open_load=Count("user__assignments", filter=Q(user__assignments__state=Assignment.State.ACTIVE)),
            today_count=Count("user__assignments", filter=Q(user__assignments__assigned_at__date=today)),
        )
        .order_by("open_load", "today_count", "user_id")
    )
    eligible, excluded = [], []
    for profile in profiles:
        name = str(profile.user)
        if profile.user_id == exam.l1_radiologist_id:
            excluded.append(f"{name} : radiologue L1 de l'examen (règle R-COI-1)")
        elif not (profile.active and profile.qualified and profile.user.is_active):
            excluded.append(f"{name} : inactif ou non habilité")
        elif profile.today_count >= profile.daily_capacity:
            excluded.append(f"{name} : capacité du jour atteinte ({profile.daily_capacity})")
        else:
            eligible.append(profile)
    return eligible, excluded


def exam_assign(*, exam_id: int, actor: User | None, reader: User | None = None) -> Assignment | None:
    """QUEUED → ASSIGNED to the least-loaded eligible reader (or the one a coordinator chose).

    Locks the exam row; a second caller for the same exam finds it already assigned and does nothing.
    Returns None when the exam is not queued or no reader is eligible (the periodic task retries).
    """
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        if exam.state != ExamState.QUEUED:
            return None
        eligible, excluded = eligible_readers(exam=exam)
        if reader is not None:
            chosen = next((p for p in eligible if p.user_id == reader.pk), None)
            if chosen is None:
                raise ServiceError("reader_not_eligible", f"{reader} ne peut pas lire cet examen.")
            why = f"Attribué par {actor} à {reader}."
        elif not eligible:
            return None
        else:
            chosen = eligible[0]
            why = (
                f"Lecteur le moins chargé ({chosen.open_load} en cours, {chosen.today_count} aujourd'hui) "
                f"parmi {len(eligible)} éligibles, site {chosen.site}."
            )
        if excluded:
            why += " Exclus : " + " ; ".join(excluded) + "."
        # Serialise per-reader capacity: lock the reader, then recount under the lock.
        ReaderProfile.objects.select_for_update().filter(pk=chosen.pk).first()
        today = timezone.localdate()
        if (
            Assignment.objects.filter(reader=chosen.user, assigned_at__date=today).count()
            >= chosen.daily_capacity
        ):
            return None  # filled meanwhile by another worker: the periodic task retries
        assignment = Assignment.objects.create(
            exam=exam, reader=chosen.user, l1_radiologist=exam.l1_radiologist, assigned_by=actor, why=why
        )
        exam_transition(exam_id=exam.pk, to_state=ExamState.ASSIGNED, actor=actor, reason=why[:500])
    return assignment


def assignment_release(*, exam_id: int, actor: User | None, reason: str) -> None:
    """ASSIGNED → QUEUED: the reader's assignment ends and the exam goes back to the pool."""
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam_id)
        Assignment.objects.filter(exam=exam, state=Assignment.State.ACTIVE).update(
            state=Assignment.State.RELEASED, ended_at=timezone.now()
        )
        exam_transition(exam_id=exam.pk, to_state=ExamState.QUEUED, actor=actor, reason=reason)
