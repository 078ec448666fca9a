from .access import DicomNode, PracticeApiToken
from .audit import AuditEvent
from .dicom import DicomInstance, DicomSeries, DicomStudy, IngestFile, Rendition
from .exams import Exam, ExamState, ExamStatusEvent, Participant
from .l1 import L1Form, L1Lesion
from .organisation import (
    CentreRole,
    Practice,
    PracticeMembership,
    PracticeRole,
    ReadingCentre,
    ReadingSite,
    User,
)

__all__ = [
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
