"""Reads of the retakes, scoped to the user: a practice sees its own exams' retakes, the coordination all of
them. Nothing here names the L2 reader to a practice (R-ANON-1)."""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from readings.models import CtiItem, Retake
from readings.services.retakes import OPEN_STATES, retake_deadline, retake_new_slots
from screening.models import Exam, ExamState, IngestFile, User
from screening.selectors import exam_for_practice_user, user_roles

S = ExamState
SIDE_SLOT = {"D": "R", "G": "L"}
COORDINATION_FILTERS = {
    "": (S.CTI_REQUESTED, S.RETAKE_PENDING, S.RETAKE_OVERDUE),  # default: the open ones
    S.CTI_REQUESTED: (S.CTI_REQUESTED,),
    S.RETAKE_PENDING: (S.RETAKE_PENDING,),
    S.RETAKE_OVERDUE: (S.RETAKE_OVERDUE,),
}


def _with_items(retakes: QuerySet[Retake]) -> QuerySet[Retake]:
    items = CtiItem.objects.order_by("side", "view", "pk")
    return retakes.select_related("exam__participant", "exam__practice", "reading").prefetch_related(
        Prefetch("reading__cti_items", queryset=items)
    )


def retake_days_left(retake: Retake) -> int | None:
    """Calendar days until the 6-month deadline (negative once past); None before the CTI letters."""
    deadline = retake_deadline(retake)
    if deadline is None:
        return None
    return (timezone.localdate(deadline) - timezone.localdate()).days


def _decorate(retakes: list[Retake]) -> list[Retake]:
    for retake in retakes:
        retake.deadline = retake_deadline(retake)
        retake.days_left = retake_days_left(retake)
        retake.days_late = -retake.days_left if retake.days_left is not None and retake.days_left < 0 else 0
    return retakes


def retakes_for_practice_user(*, user: User) -> list[Retake]:
    """The practice's « Clichés à refaire »: its exams waiting for a retake, closest deadline first."""
    retakes = Retake.objects.filter(
        exam__practice_id__in=user_roles(user).practice_ids,
        exam__state__in=OPEN_STATES,
        received_at__isnull=True,
        refused_at__isnull=True,
    ).order_by("requested_at", "pk")
    return _decorate(list(_with_items(retakes)))


@dataclass
class ItemStatus:
    item: CtiItem
    label: str
    slot: str
    received: bool


@dataclass
class RetakePage:
    exam: Exam
    retake: Retake
    items: list[ItemStatus]
    files: list[IngestFile]
    is_open: bool


def retake_page_for_practice_user(*, user: User, exam_id: int) -> RetakePage:
    """One exam's latest retake for its practice (404 for another practice's exam or an exam without one)."""
    exam = exam_for_practice_user(user=user, exam_id=exam_id)
    retake = _with_items(Retake.objects.filter(exam=exam)).order_by("-created_at", "-pk").first()
    if retake is None:
        raise Http404("Aucune reprise pour cet examen.")
    _decorate([retake])
    new = retake_new_slots(retake=retake)
    items = []
    for item in retake.reading.cti_items.all():
        slot = SIDE_SLOT[item.side] + item.view
        label = f"{item.get_view_display()} — {item.get_side_display()}"
        items.append(ItemStatus(item=item, label=label, slot=slot, received=slot in new))
    files = list(
        exam.ingest_files.filter(received_at__gt=retake.created_at)
        .select_related("instance")
        .order_by("received_at", "pk")
    )
    is_open = exam.state in OPEN_STATES and retake.received_at is None and retake.refused_at is None
    return RetakePage(exam=exam, retake=retake, items=items, files=files, is_open=is_open)


def retake_statement_for_user(*, user: User, exam_id: int) -> Retake:
    """A refusal statement: for the exam's practice and the coordination only."""
    roles = user_roles(user)
    retakes = Retake.objects.exclude(refusal_statement="").select_related("exam")
    if not roles.is_coordinator:
        retakes = retakes.filter(exam__practice_id__in=roles.practice_ids)
    retake = retakes.filter(exam_id=exam_id).order_by("-refused_at").first()
    if retake is None:
        raise Http404("Refus écrit introuvable.")
    return retake


def retakes_for_coordinator(*, user: User, state: str = "") -> list[Retake] | QuerySet[Retake]:
    """Every retake of the centre with its reminder / overdue status; `state` filters (« tout » = all)."""
    if not user_roles(user).is_coordinator:
        raise Http404("Page réservée à la coordination.")
    retakes = Retake.objects.all()
    if state != "tout":
        retakes = retakes.filter(exam__state__in=COORDINATION_FILTERS.get(state, COORDINATION_FILTERS[""]))
    return _with_items(retakes.select_related("refusal_recorded_by")).order_by(
        "overdue_at", "requested_at", "pk"
    )


def retakes_decorate(retakes) -> list[Retake]:
    return _decorate(list(retakes))
