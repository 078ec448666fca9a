from .access import DicomNode, PracticeApiToken
from .audit import AuditEvent
from .dicom import DicomInstance, DicomSeries, DicomStudy, IngestFile, Rendition
from .exams import Exam, ExamState, ExamStatusEvent, Participant
from .followup import FollowUpReminder, Histology, IntervalCancer, Treatment, WorkUp, WorkUpExam
from .l1 import L1Form, L1Lesion
from .letters import Letter, LetterKind, LetterTemplate, ParticipantDoctor, PrintBatch, RecipientKind
from .organisation import (
    CentreRole,
    Practice,
    PracticeMembership,
    PracticeRole,
    ReadingCentre,
    ReadingSite,
    User,
)
from .outcomes import ClosedReason, ExamOutcome, GlobalResult
from .policy import ReadingPolicy

__all__ = [
    "FollowUpReminder",
    "Histology",
    "IntervalCancer",
    "Treatment",
    "WorkUp",
    "WorkUpExam",
    "LetterKind",
    "Letter",
    "LetterTemplate",
    "ParticipantDoctor",
    "PrintBatch",
    "RecipientKind",
    "ClosedReason",
    "ExamOutcome",
    "GlobalResult",
    "ReadingPolicy",
    "AuditEvent",
    "DicomNode",
    "PracticeApiToken",
    "CentreRole",
    "DicomInstance",
    "DicomSeries",
    "DicomStudy",
    "Exam",
    "ExamState",
    "ExamStatusEvent",
    "IngestFile",
    "L1Form",
    "L1Lesion",
    "Participant",
    "Practice",
    "PracticeMembership",
    "PracticeRole",
    "ReadingCentre",
    "ReadingSite",
    "Rendition",
    "User",
]
