"""Reads of the intake domain, always scoped to what the user may see (R-TENANT-1)."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from screening.models import DicomInstance, Exam, IngestFile, Practice, PracticeRole, User


@dataclass(frozen=True)
class Roles:
    staff_practice_ids: frozenset[int]
    l1_practice_ids: frozenset[int]
    is_reader: bool
    is_coordinator: bool
    is_admin: bool

    @property
    def practice_ids(self) -> frozenset[int]:
        return self.staff_practice_ids | self.l1_practice_ids

    @property
    def is_practice_user(self) -> bool:
        return bool(self.practice_ids)


def user_roles(user: User) -> Roles:
    cached = getattr(user, "_l2_roles", None)
    if cached is not None:
        return cached
    memberships = list(user.practice_memberships.values_list("practice_id", "role"))
    roles = Roles(
        staff_practice_ids=frozenset(p for p, r in memberships if r == PracticeRole.STAFF),
        l1_practice_ids=frozenset(p for p, r in memberships if r == PracticeRole.L1_RADIOLOGIST),
        is_reader=hasattr(user, "reader_profile"),
        is_coordinator=user.is_coordinator,
        is_admin=user.is_centre_admin,
    )
    user._l2_roles = roles
    return roles


def practices_for_user(*, user: User) -> QuerySet[Practice]:
    return Practice.objects.filter(pk__in=user_roles(user).practice_ids).order_by("name")


def exams_for_practice_user(*, user: User) -> QuerySet[Exam]:
    """A practice sees only its own exams."""
    return (
        Exam.objects.filter(practice_id__in=user_roles(user).practice_ids)
        .select_related("participant", "practice", "l1_radiologist")
        .order_by("-mammogram_date", "-pk")
    )


def exam_for_practice_user(*, user: User, exam_id: int) -> Exam:
    exam = exams_for_practice_user(user=user).select_related("l1_form").filter(pk=exam_id).first()
    if exam is None:
        raise Http404("Examen introuvable.")
    return exam


def ingest_files_for_exam(*, exam: Exam) -> QuerySet[IngestFile]:
    return exam.ingest_files.select_related("instance").order_by("received_at", "pk")


def instance_for_user(*, user: User, instance_id: int) -> DicomInstance:
    """An image is visible to its practice, the centre's coordinators, and the readers it was assigned to."""
    instance = DicomInstance.objects.select_related("exam", "series__study").filter(pk=instance_id).first()
    if instance is None:
        raise Http404("Image introuvable.")
    roles = user_roles(user)
    if roles.is_coordinator or instance.series.study.practice_id in roles.practice_ids:
        return instance
    exam = instance.exam
    if exam is None:  # waiting in a practice's inbox: that practice and the centre only
        raise Http404("Image introuvable.")
    if exam.l1_radiologist_id != user.pk and exam.assignments.filter(reader=user).exists():
        return instance
    # Priors are visible to a reader who reads a later exam of the same woman.
    if exam.later_exams.filter(assignments__reader=user).exclude(l1_radiologist=user).exists():
        return instance
    raise Http404("Image introuvable.")


def standard_views(*, exam: Exam) -> dict[str, DicomInstance]:
    """The default image of each standard slot, for the back-to-back hanging."""
    instances = exam.instances.filter(is_default_for_slot=True).prefetch_related("renditions")
    return {instance.slot: instance for instance in instances}


# These reasons name readers (R-ANON-1): assignments, releases back to the queue, consensus.
HIDDEN_REASON_STATES = {"ASSIGNED", "IN_READING", "QUEUED", "CONSENSUS_PENDING"}


def exam_history_for_practice(*, exam: Exam) -> list[dict]:
    """The state history as a practice may see it: second readers stay anonymous."""
    members = set(exam.practice.memberships.values_list("user_id", flat=True))
    rows = []
    for event in exam.status_events.select_related("actor").order_by("at", "pk"):
        if event.actor_id is None:
            who = "Plateforme"
        elif event.actor_id in members:
            who = str(event.actor)
        elif event.actor.is_coordinator:
            who = "CRCDC"
        else:
            who = "Second lecteur"
        reason = "" if event.to_state in HIDDEN_REASON_STATES else event.reason
        rows.append({"at": event.at, "state": event.get_to_state_display(), "who": who, "reason": reason})
    return rows


def inbox_studies_for_user(*, user: User) -> QuerySet:
    """Studies of the user's practices still waiting for their exam."""
    from django.db.models import Count

    from screening.models import DicomStudy

    return (
        DicomStudy.objects.filter(practice_id__in=user_roles(user).practice_ids, exam__isnull=True)
        .annotate(image_count=Count("series__instances"))
        .select_related("practice")
        .order_by("-received_at")
    )


def inbox_study_for_user(*, user: User, study_id: int):
    study = inbox_studies_for_user(user=user).filter(pk=study_id).first()
    if study is None:
        raise Http404("Étude introuvable.")
    return study


def ingest_files_for_user(*, user: User, state: str = "", source: str = "") -> QuerySet[IngestFile]:
    """Every received file the user may follow: their practices' files, or all of them for the centre."""
    roles = user_roles(user)
    files = IngestFile.objects.select_related("practice", "exam__participant", "instance").order_by(
        "-received_at", "-pk"
    )
    if not roles.is_coordinator:
        files = files.filter(practice_id__in=roles.practice_ids)
    if state:
        files = files.filter(state=state)
    if source:
        files = files.filter(source=source)
    return files
