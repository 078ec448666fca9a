"""Coordinator batches: hold exams, give them to a reader, split, merge, reassign, recall.

Every bulk action can run as a preview: the same code runs inside a transaction that is rolled back,
so what the coordinator sees before confirming is exactly what confirming does.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from readings.models import Assignment, Batch, BatchExam
from readings.services.assignment import (
    ReaderPlan,
    assignment_release,
    exams_assign_to_reader,
    lock_for_change,
)
from screening.models import AuditEvent, Exam, ExamState, User
from screening.services.audit import audit_record
from screening.services.errors import ServiceError

OPEN_BATCH = (Batch.State.HELD, Batch.State.ASSIGNED)


@dataclass
class BatchOutcome:
    batch: Batch | None
    added: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    plan: ReaderPlan | None = None
    dry_run: bool = False


def _log(batch: Batch, actor: User, action: str, detail: str) -> None:
    batch.history = [*batch.history, {"at": timezone.now().isoformat(), "actor": str(actor),
                                      "action": action, "detail": detail}]  # fmt: skip
    batch.save(update_fields=["history", "state", "reader"])
    audit_record(actor=actor, action=AuditEvent.Action.QUEUE_CHANGE, object_ref=f"lot {batch.pk} : {action}")


def _locked_batch(batch_id: int, *, readers: tuple[User | None, ...] = ()) -> Batch:
    """Lock the batch, then its open exams and the readers involved (exams before readers, see assignment)."""
    batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise ServiceError("batch_not_found", "Lot introuvable.")
    if batch.state not in OPEN_BATCH:
        raise ServiceError(
            "batch_closed", f"Le lot « {batch.name} » est {batch.get_state_display().lower()}."
        )
    assigned_to = list(
        Assignment.objects.filter(exam__batch_items__batch=batch, exam__batch_items__active=True,
                                  state=Assignment.State.ACTIVE).values_list("reader_id", flat=True)
    )  # fmt: skip
    lock_for_change(
        exam_ids=_unread_items(batch), reader_ids=[*assigned_to, *(r.pk for r in readers if r is not None)]
    )
    return batch


def _hold(batch: Batch, exam_ids: list[int]) -> tuple[list[int], list[tuple[int, str]]]:
    """Put queued exams that are in no other open batch into this one."""
    rows = list(
        Exam.objects.select_for_update().filter(pk__in=exam_ids).order_by("pk").values_list("pk", "state")
    )
    busy = set(BatchExam.objects.filter(exam_id__in=exam_ids, active=True).values_list("exam_id", flat=True))
    added, skipped = [], []
    for pk, state in rows:
        if pk in busy:
            skipped.append((pk, "déjà dans un lot"))
        elif state != ExamState.QUEUED:
            skipped.append((pk, f"n'est pas en file L2 ({ExamState(state).label})"))
        else:
            added.append(pk)
    skipped += [(pk, "examen introuvable") for pk in sorted(set(exam_ids) - {pk for pk, _ in rows})]
    BatchExam.objects.bulk_create([BatchExam(batch=batch, exam_id=pk) for pk in added])
    return added, skipped


def batch_create(
    *, name: str, exam_ids: list[int], actor: User, filters: dict | None = None, dry_run: bool = False
) -> BatchOutcome:
    """Hold these queued exams in a new batch (automatic assignment leaves them alone meanwhile)."""
    if not name.strip():
        raise ServiceError("batch_name", "Donnez un nom au lot.", field="name")
    with transaction.atomic():
        batch = Batch.objects.create(name=name.strip()[:120], created_by=actor, filters=filters or {})
        added, skipped = _hold(batch, exam_ids)
        if not added:
            transaction.set_rollback(True)
            return BatchOutcome(None, added, skipped, dry_run=dry_run)
        _log(batch, actor, "création", f"{len(added)} examen(s)")
        if dry_run:
            transaction.set_rollback(True)
    return BatchOutcome(batch, added, skipped, dry_run=dry_run)


def _unread_items(batch: Batch, *, not_in_reading: bool = False) -> list[int]:
    items = batch.items.filter(active=True)
    if not_in_reading:  # a case open on a reader's screen stays with them
        items = items.exclude(exam__state=ExamState.IN_READING)
    return list(items.order_by("exam_id").values_list("exam_id", flat=True))


def batch_assign(*, batch_id: int, reader: User, actor: User, dry_run: bool = False) -> BatchOutcome:
    """Give the batch's held exams to a reader; those the reader may not read go back to the queue."""
    with transaction.atomic():
        batch = _locked_batch(batch_id, readers=(reader,))
        if batch.state != Batch.State.HELD:
            raise ServiceError(
                "batch_already_assigned", "Ce lot est déjà attribué : utilisez « Réattribuer »."
            )
        held = list(
            batch.items.filter(active=True, exam__state=ExamState.QUEUED).values_list("exam_id", flat=True)
        )
        plan = exams_assign_to_reader(
            exam_ids=held, reader=reader, actor=actor, way=Assignment.Way.BATCH, batch_id=batch.pk
        )
        refused = [pk for pk, _ in plan.refused]
        BatchExam.objects.filter(batch=batch, exam_id__in=refused, active=True).update(active=False)
        batch.state, batch.reader = Batch.State.ASSIGNED, reader
        _log(
            batch, actor, "attribution", f"{len(plan.assigned)} à {reader}, {len(refused)} rendu(s) à la file"
        )
        if dry_run:
            transaction.set_rollback(True)
    return BatchOutcome(batch, plan=plan, released=refused, dry_run=dry_run)


def _release_unread(batch: Batch, actor: User, reason: str, keep_batch: bool) -> list[int]:
    released = []
    for exam_id in _unread_items(batch, not_in_reading=True):
        if assignment_release(
            exam_id=exam_id, actor=actor, reason=reason, code="BATCH", keep_batch=keep_batch
        ):
            released.append(exam_id)
    return released


def batch_reassign(*, batch_id: int, reader: User, actor: User, dry_run: bool = False) -> BatchOutcome:
    """Move the batch's unread exams from its reader to another one (exams being read stay put)."""
    with transaction.atomic():
        batch = _locked_batch(batch_id, readers=(reader,))
        unread = list(
            batch.items.filter(
                active=True, exam__state__in=(ExamState.ASSIGNED, ExamState.QUEUED)
            ).values_list("exam_id", flat=True)
        )
        for exam_id in unread:
            assignment_release(
                exam_id=exam_id, actor=actor, reason=f"Lot « {batch.name} » réattribué à {reader}.",
                code="BATCH", keep_batch=True,
            )  # fmt: skip
        plan = exams_assign_to_reader(
            exam_ids=unread, reader=reader, actor=actor, way=Assignment.Way.BATCH, batch_id=batch.pk
        )
        refused = [pk for pk, _ in plan.refused]
        BatchExam.objects.filter(batch=batch, exam_id__in=refused, active=True).update(active=False)
        batch.state, batch.reader = Batch.State.ASSIGNED, reader
        _log(
            batch,
            actor,
            "réattribution",
            f"{len(plan.assigned)} à {reader}, {len(refused)} rendu(s) à la file",
        )
        if dry_run:
            transaction.set_rollback(True)
    return BatchOutcome(batch, plan=plan, released=refused, dry_run=dry_run)


def batch_recall(*, batch_id: int, actor: User, dry_run: bool = False) -> BatchOutcome:
    """Take the batch back: its unread exams return to the general queue and the batch ends."""
    with transaction.atomic():
        batch = _locked_batch(batch_id)
        released = _release_unread(batch, actor, f"Lot « {batch.name} » rappelé.", keep_batch=False)
        BatchExam.objects.filter(batch=batch, active=True, exam__state=ExamState.QUEUED).update(active=False)
        batch.state = Batch.State.RECALLED  # a case being read stays with its reader until the verdict
        _log(batch, actor, "rappel", f"{len(released)} examen(s) rendu(s) à la file")
        if dry_run:
            transaction.set_rollback(True)
    return BatchOutcome(batch, released=released, dry_run=dry_run)


def batch_split(*, batch_id: int, count: int, actor: User, dry_run: bool = False) -> BatchOutcome:
    """Move `count` unread exams (latest deadlines first) into a new held batch."""
    with transaction.atomic():
        batch = _locked_batch(batch_id)
        unread = list(
            batch.items.filter(active=True, exam__state__in=(ExamState.ASSIGNED, ExamState.QUEUED))
            .order_by("-exam__due_at", "-exam_id")
            .values_list("exam_id", flat=True)
        )
        if not 0 < count < len(unread):
            raise ServiceError(
                "batch_split_count", f"Choisissez entre 1 et {max(len(unread) - 1, 0)} examens à détacher."
            )
        moving = unread[:count]
        for exam_id in moving:
            assignment_release(exam_id=exam_id, actor=actor, reason=f"Détaché du lot « {batch.name} ».",
                               code="BATCH", keep_batch=True)  # fmt: skip
        new = Batch.objects.create(name=f"{batch.name} (partie 2)", created_by=actor, filters=batch.filters)
        BatchExam.objects.filter(batch=batch, exam_id__in=moving, active=True).update(active=False)
        BatchExam.objects.bulk_create([BatchExam(batch=new, exam_id=pk) for pk in moving])
        _log(batch, actor, "scission", f"{count} examen(s) vers le lot {new.pk}")
        _log(new, actor, "création", f"{count} examen(s) détaché(s) du lot {batch.pk}")
        if dry_run:
            transaction.set_rollback(True)
    return BatchOutcome(new, added=moving, dry_run=dry_run)


def batch_merge(*, batch_id: int, other_id: int, actor: User, dry_run: bool = False) -> BatchOutcome:
    """Fold another open batch's unread exams into this one; the other batch ends."""
    if batch_id == other_id:
        raise ServiceError("batch_merge_self", "Choisissez un autre lot à fusionner.")
    with transaction.atomic():
        batch, other = (Batch.objects.filter(pk=pk).first() for pk in (batch_id, other_id))
        if batch is None or other is None:
            raise ServiceError("batch_not_found", "Lot introuvable.")
        # Both batches' exams and readers in one ordered lock, so two opposite merges cannot deadlock.
        both = sorted([batch_id, other_id])
        list(Batch.objects.select_for_update().filter(pk__in=both).order_by("pk"))
        for pk in both:
            _locked_batch(pk, readers=(batch.reader,))
        batch, other = Batch.objects.get(pk=batch_id), Batch.objects.get(pk=other_id)
        moving = _unread_items(other, not_in_reading=True)
        for exam_id in moving:
            assignment_release(exam_id=exam_id, actor=actor, reason=f"Lot fusionné dans « {batch.name} ».",
                               code="BATCH", keep_batch=True)  # fmt: skip
        BatchExam.objects.filter(batch=other, exam_id__in=moving, active=True).update(active=False)
        queued = list(Exam.objects.filter(pk__in=moving, state=ExamState.QUEUED).values_list("pk", flat=True))
        BatchExam.objects.bulk_create([BatchExam(batch=batch, exam_id=pk) for pk in queued])
        plan = None
        if batch.state == Batch.State.ASSIGNED and batch.reader is not None:
            plan = exams_assign_to_reader(exam_ids=queued, reader=batch.reader, actor=actor,
                                          way=Assignment.Way.BATCH, batch_id=batch.pk)  # fmt: skip
            refused = [pk for pk, _ in plan.refused]
            BatchExam.objects.filter(batch=batch, exam_id__in=refused, active=True).update(active=False)
        other.state = Batch.State.CLOSED
        _log(other, actor, "fusion", f"fusionné dans le lot {batch.pk}")
        _log(batch, actor, "fusion", f"{len(queued)} examen(s) du lot {other.pk}")
        if dry_run:
            transaction.set_rollback(True)
    return BatchOutcome(batch, added=queued, plan=plan, dry_run=dry_run)


def batches_close_finished() -> int:
    """Assigned batches with nothing left to read are finished."""
    done = Batch.objects.filter(state=Batch.State.ASSIGNED).exclude(items__active=True)
    return done.update(state=Batch.State.CLOSED)
