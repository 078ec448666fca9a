from .assignment import Assignment, DeclaredConflict, ReaderAbsence, ReaderLoad, ReaderProfile
from .planning import Alert, AssignmentRules, Batch, BatchExam, ReadingSession, SiteShare
from .preferences import ReaderPreference
from .reading import CtiItem, Discordance, L2Finding, L2Reading

__all__ = [
    "Alert",
    "Assignment",
    "AssignmentRules",
    "Batch",
    "BatchExam",
    "CtiItem",
    "DeclaredConflict",
    "Discordance",
    "L2Finding",
    "L2Reading",
    "ReaderAbsence",
    "ReaderLoad",
    "ReaderPreference",
    "ReaderProfile",
    "ReadingSession",
    "SiteShare",
]
