from .assignment import Assignment, ReaderProfile
from .reading import CtiItem, Discordance, L2Finding, L2Reading

__all__ = ["Assignment", "CtiItem", "Discordance", "L2Finding", "L2Reading", "ReaderProfile"]
