"""Reads of the letters (§7), scoped to the user: the centre's coordinators see every letter; a practice sees the
letters of its own exams; L2 readers see none (R-ANON-1, R-TENANT-1)."""

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from screening.models import Exam, Letter, LetterTemplate, PrintBatch, User
from screening.selectors import user_roles


@dataclass(frozen=True)
class LetterFilters:
    kind: str = ""
    practice_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


# The date each list filters on: generated (to print), not before (planned), sent (register).
DATE_FIELD = {
    Letter.Status.READY: "generated_at",
    Letter.Status.PLANNED: "not_before",
    Letter.Status.SENT: "sent_at",
}


def letters_visible(*, user: User) -> QuerySet[Letter]:
    roles = user_roles(user)
    letters = Letter.objects.select_related("exam__participant", "exam__practice", "template", "sent_by")
    if roles.is_coordinator:
        return letters
    if roles.practice_ids:
        return letters.filter(exam__practice_id__in=roles.practice_ids)
    return letters.none()


def letters_for_exam(*, user: User, exam_id: int) -> QuerySet[Letter]:
    """The letters of one exam (its follow-up page), oldest first. 404 when the user may not see the exam."""
    roles = user_roles(user)
    exam_visible = Exam.objects.filter(pk=exam_id)
    if not roles.is_coordinator:
        exam_visible = exam_visible.filter(practice_id__in=roles.practice_ids)
    if not exam_visible.exists():
        raise Http404("Examen introuvable.")
    return letters_visible(user=user).filter(exam_id=exam_id).order_by("created_at", "pk")


def letters_by_status(*, user: User, status: str, filters: LetterFilters) -> QuerySet[Letter]:
    """A coordinator's list of letters in one status, filtered by kind, practice and the status's date."""
    letters = letters_visible(user=user).filter(status=status)
    if filters.kind:
        letters = letters.filter(kind=filters.kind)
    if filters.practice_id:
        letters = letters.filter(exam__practice_id=filters.practice_id)
    field = DATE_FIELD[status]
    if filters.date_from:
        letters = letters.filter(**{f"{field}__date__gte": filters.date_from})
    if filters.date_to:
        letters = letters.filter(**{f"{field}__date__lte": filters.date_to})
    order = {"generated_at": ("exam__practice__name", "kind", "pk"), "not_before": ("not_before", "pk")}
    return letters.order_by(*order.get(field, ("-sent_at", "-pk")))


def letter_for_user(*, user: User, letter_id: int) -> Letter:
    letter = letters_visible(user=user).filter(pk=letter_id).first()
    if letter is None:
        raise Http404("Courrier introuvable.")
    return letter


def print_batch_for_user(*, user: User, batch_id: int) -> PrintBatch:
    if not user_roles(user).is_coordinator:
        raise Http404("Lot introuvable.")
    batch = PrintBatch.objects.select_related("created_by").filter(pk=batch_id).first()
    if batch is None:
        raise Http404("Lot introuvable.")
    return batch


def postal_code(address: str) -> str:
    codes = re.findall(r"\b(\d{5})\b", address)
    return codes[-1] if codes else ""


def postal_order(letter: Letter) -> tuple:
    """La Poste sorting: by the recipient's postal code (none last), then name."""
    return (postal_code(letter.recipient_address) or "99999", letter.recipient_name.casefold(), letter.pk)


def print_batch_letters(*, batch: PrintBatch) -> list[Letter]:
    letters = batch.letters.select_related("exam__participant", "exam__practice")
    return sorted(letters, key=postal_order)  # the order they were printed in


def print_batches_recent(*, limit: int = 20) -> QuerySet[PrintBatch]:
    return PrintBatch.objects.select_related("created_by").order_by("-created_at")[:limit]


def letter_template_versions(*, kind: str) -> QuerySet[LetterTemplate]:
    return LetterTemplate.objects.filter(kind=kind).select_related("created_by").order_by("-version")


def letter_template_version(*, kind: str, version: int) -> LetterTemplate:
    template = LetterTemplate.objects.filter(kind=kind, version=version).first()
    if template is None:
        raise Http404("Version introuvable.")
    return template


def letters_counts(*, user: User) -> dict[str, int]:
    """Counts for the tabs of the letters pages."""
    visible = letters_visible(user=user)
    return {
        "ready": visible.filter(status=Letter.Status.READY).count(),
        "planned": visible.filter(status=Letter.Status.PLANNED).count(),
        "no_address": visible.filter(Q(status=Letter.Status.READY) & Q(recipient_address="")).count(),
    }
