from .assignment import Assignment, DeclaredConflict, ReaderAbsence, ReaderLoad, ReaderProfile
from .outcomes import Consensus, FilmRecord, LightboxSession, Retake
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
    "Consensus",
    "CtiItem",
    "DeclaredConflict",
    "Discordance",
    "FilmRecord",
    "FindingDepth",
    "L2Finding",
    "L2Reading",
    "LightboxSession",
    "ReaderAbsence",
    "ReaderLoad",
    "ReaderPreference",
    "ReaderProfile",
    "ReadingSession",
    "ReadingStation",
    "Retake",
    "SiteShare",
]
