"""The confidential yearly sheet of one radiologist against the département (R-RET-3, §6 one-page sheet).

L1 radiologists: QI-01, 04, 05 and 09; L2 readers: QI-02, 04, 06, 07 and 11. One A4 page (WeasyPrint), the
radiologist's own row beside the centre's totals, from the same computation as the indicators page.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.db.models import Q
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from readings.models import ReaderProfile
from readings.selectors_indicators import Cell, IndicatorTable, indicators_table
from screening.models import PracticeRole, User
from screening.models.outcomes import ExamOutcome

L1_CODES = ("QI-01", "QI-04", "QI-05", "QI-09")
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # "Step 1 …" lines on every PDF
L2_CODES = ("QI-02", "QI-04", "QI-06", "QI-07", "QI-11")


@dataclass
class SheetLine:
    code: str
    title: str
    measure: str
    own: Cell | None
    centre: Cell


@dataclass
class FeedbackSheet:
    radiologist: User
    year: int
    l1: list[SheetLine]
    l2: list[SheetLine]
    generated_on: dt.date

    @property
    def parts(self) -> list[tuple[str, list[SheetLine]]]:
        return [(_("Première lecture (L1)"), self.l1), (_("Seconde lecture (L2)"), self.l2)]


def _lines(table: IndicatorTable, own_id: int) -> list[SheetLine]:
    lines = []
    for indicator in table.indicators:
        own = next((row for row in indicator.rows if row.key == own_id), None)
        for m in indicator.measures:
            lines.append(
                SheetLine(
                    indicator.spec.code,
                    str(indicator.spec.title),
                    str(m.label),
                    own.cells[m.key] if own else None,
                    indicator.total.cells[m.key],
                )  # fmt: skip
            )
    return lines


def indicators_feedback(*, radiologist_id: int, year: int, today: dt.date | None = None) -> FeedbackSheet:
    """The sheet's figures: the L1 part if they read as L1 (membership or exams that year), the L2 part if
    they are a second reader (profile or readings that year)."""
    radiologist = User.objects.filter(pk=radiologist_id).first()
    if radiologist is None:
        raise Http404("Radiologue introuvable.")
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    is_l1 = (
        radiologist.practice_memberships.filter(role=PracticeRole.L1_RADIOLOGIST).exists()
        or ExamOutcome.objects.filter(l1_radiologist_id=radiologist_id, mammogram_date__year=year).exists()
    )
    is_l2 = (
        ReaderProfile.objects.filter(user_id=radiologist_id).exists()
        or ExamOutcome.objects.filter(l2_reader_id=radiologist_id, mammogram_date__year=year).exists()
    )
    common = {"start": start, "end": end, "medium": None, "own_id": radiologist_id, "today": today}
    l1 = indicators_table(group_by="l1", codes=L1_CODES, **common) if is_l1 else None
    l2 = indicators_table(group_by="reader", codes=L2_CODES, **common) if is_l2 else None
    return FeedbackSheet(
        radiologist=radiologist,
        year=year,
        l1=_lines(l1, radiologist_id) if l1 else [],
        l2=_lines(l2, radiologist_id) if l2 else [],
        generated_on=today or timezone.localdate(),
    )


def indicators_feedback_pdf(*, radiologist_id: int, year: int) -> bytes:
    """The one-page PDF of indicators_feedback (French)."""
    from weasyprint import HTML  # heavy import, only when a sheet is asked for

    sheet = indicators_feedback(radiologist_id=radiologist_id, year=year)
    with translation.override("fr"):
        html = render_to_string("readings/indicators/feedback_pdf.html", {"sheet": sheet})
    return HTML(string=html).write_pdf()


def feedback_radiologists() -> list[User]:
    """Everyone who may have a sheet: L1 radiologists of a practice and second readers."""
    return list(
        User.objects.filter(
            Q(practice_memberships__role=PracticeRole.L1_RADIOLOGIST) | Q(reader_profile__isnull=False)
        )
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )
