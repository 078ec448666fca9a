"""Shared set-up of the letters tests: a practice, its L1 radiologist, a woman with an address and a doctor, an L2
reader with a name that must never appear in a letter, and exams brought to an L2 outcome."""

import datetime as dt
from dataclasses import dataclass

import pypdfium2 as pdfium
from django.utils import timezone

from readings.models import CtiItem, L2Finding, L2Reading
from screening.models import ExamState, Participant, ParticipantDoctor, Practice, User
from screening.services.exam_state import exam_transition
from tests.factories import (
    ParticipantFactory,
    PracticeFactory,
    SiteFactory,
    UserFactory,
    coordinator,
    l1_of,
    queued_exam,
    staff_of,
)

READER_FIRST, READER_LAST = "Hortense", "Vauquelin"


@dataclass
class World:
    practice: Practice
    l1: User
    staff: User
    coordinator: User
    reader: User
    site: object

    def woman(self, *, doctor: bool = True, gp_name: str = "", **kwargs) -> Participant:
        woman = ParticipantFactory(
            first_name=kwargs.pop("first_name", "Élodie"),
            last_name=kwargs.pop("last_name", "Bérard"),
            address=kwargs.pop("address", "14 rue de l'Hôtel-de-Ville"),
            postal_code=kwargs.pop("postal_code", "03200"),
            town=kwargs.pop("town", "Vichy"),
            gp_name=gp_name,
            **kwargs,
        )
        if doctor:
            ParticipantDoctor.objects.create(
                participant=woman, kind="GP", name="Dr Jean Mercier", address="3 place de la République",
                postal_code="03300", town="Cusset",
            )  # fmt: skip
        return woman

    def exam(self, *, verdict: str = "", woman: Participant | None = None):
        """An exam in the L2 queue, brought to NORMAL / ANOMALY / CTI with a final reading by `reader`."""
        exam = queued_exam(
            practice=self.practice,
            staff=self.staff,
            l1=self.l1,
            participant=woman or self.woman(),
            days_ago=4,
        )
        if not verdict:
            return exam
        exam_transition(exam_id=exam.pk, to_state=ExamState.ASSIGNED, actor=None)
        exam_transition(exam_id=exam.pk, to_state=ExamState.IN_READING, actor=self.reader)
        reading = L2Reading.objects.create(
            exam=exam, reader=self.reader, l1_radiologist=self.l1, site=self.site, verdict=verdict,
            acr_right=1, acr_left=4 if verdict == "ANOMALY" else 1,
            proposed_exams="agrandissements, échographie" if verdict == "ANOMALY" else "",
            comment=f"Vu par {READER_FIRST} {READER_LAST}", status=L2Reading.Status.FINAL, final_at=timezone.now(),
        )  # fmt: skip
        if verdict == "ANOMALY":
            L2Finding.objects.create(
                reading=reading,
                side="G",
                lesion_type="C",
                quadrant="QSE",
                clock=2,
                depth="MOY",
                acr=4,
                size_mm=8,
            )
        if verdict == "CTI":
            CtiItem.objects.create(
                reading=reading, side="D", view="MLO", reason="POS", action="REF",
                instructions="dégager le sillon sous-mammaire",
            )  # fmt: skip
        to_state = {
            "NORMAL": ExamState.L2_NEGATIVE,
            "ANOMALY": ExamState.L2_POSITIVE,
            "CTI": ExamState.CTI_REQUESTED,
        }
        exam_transition(exam_id=exam.pk, to_state=to_state[verdict], actor=self.reader)
        exam.refresh_from_db()
        return exam


def make_world() -> World:
    """The test files wrap it in their own `world` fixture."""
    practice = PracticeFactory(name="Cabinet de radiologie des Thermes", town="Vichy")
    return World(
        practice=practice,
        l1=l1_of(practice, first_name="Claire", last_name="Lefèvre"),
        staff=staff_of(practice),
        coordinator=coordinator(first_name="Agnès", last_name="Secrétariat"),
        reader=UserFactory(first_name=READER_FIRST, last_name=READER_LAST),
        site=SiteFactory(),
    )


def pdf_text(data: bytes) -> list[str]:
    """The text of each page."""
    document = pdfium.PdfDocument(data)
    return [document[i].get_textpage().get_text_range() for i in range(len(document))]


def pdf_page_sizes_mm(data: bytes) -> list[tuple[float, float]]:
    document = pdfium.PdfDocument(data)
    return [tuple(round(v * 25.4 / 72, 1) for v in document[i].get_size()) for i in range(len(document))]


def past(hours: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=hours)
