from .assignment import Assignment, DeclaredConflict, ReaderAbsence, ReaderLoad, ReaderProfile
from .planning import Alert, AssignmentRules, Batch, BatchExam, ReadingSession, SiteShare
from .preferences import ReaderPreference
from .reading import CtiItem, Discordance, FindingDepth, L2Finding, L2Reading
from .stations import ReadingStation

__all__ = [
    "Alert",
    "Assignment",
    "AssignmentRules",
    "Batch",
    "BatchExam",
    "CtiItem",
    "DeclaredConflict",
    "Discordance",
    "FindingDepth",
    "L2Finding",
    "L2Reading",
    "ReaderAbsence",
    "ReaderLoad",
    "ReaderPreference",
    "ReaderProfile",
    "ReadingSession",
    "ReadingStation",
    "SiteShare",
]
