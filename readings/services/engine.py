"""The assignment engine's decision, in plain Python: which reader gets which exam, and why.

The database layer (`assignment.py`) loads a snapshot of readers and exams under locks and hands it here;
keeping the decision free of I/O makes it cheap for 10,000 exams and lets property tests drive it.
"""

import datetime as dt
from dataclasses import dataclass, field

# Exclusion codes, in the order they are checked; the French label is what a coordinator reads.
EXCLUSIONS = {
    "COI_L1": "radiologue L1 de l'examen (R-COI-1)",
    "INACTIVE": "inactif ou non habilité",
    "ABSENT": "absent ce jour",
    "DAY_OFF": "ne lit pas ce jour de la semaine",
    "SAME_PRACTICE": "membre du cabinet de l'examen (R-COI-2)",
    "SAME_SITE": "site de rattachement du cabinet (lecture croisée)",
    "DECLARED": "conflit d'intérêts déclaré avec ce cabinet",
    "RELEASED_BEFORE": "ne l'a pas ouvert lors d'une précédente attribution",
    "DAY_FULL": "capacité du jour atteinte",
    "WEEK_FULL": "capacité de la semaine atteinte",
}
CAPACITY_CODES = frozenset({"DAY_FULL", "WEEK_FULL"})
WAIT_CODES = {
    "NO_READER": "aucun second lecteur enregistré",
    "NO_CAPACITY": "capacités des lecteurs éligibles atteintes",
    "ALL_EXCLUDED": "tous les lecteurs sont exclus par les règles",
}
PACE_BOUNDS = (0.5, 2.0)


@dataclass
class Rules:
    exclude_same_practice: bool = False
    cross_site: bool = False
    yearly_target: int = 1500


@dataclass
class ReaderState:
    """One reader as the engine sees them for one day; loads are updated as exams are handed out."""

    user_id: int
    name: str
    site_id: int
    site_name: str
    available: bool = True  # active, qualified and the account enabled
    absent: bool = False
    works_today: bool = True
    practice_ids: frozenset[int] = frozenset()
    declared_practice_ids: frozenset[int] = frozenset()
    day_capacity: int = 120
    week_capacity: int = 500
    day_load: int = 0
    week_load: int = 0
    open_load: int = 0
    year_done: int = 0  # L2 readings this year plus open assignments
    yearly_target: int = 1500
    share: float = 1.0
    site_factor: float = 1.0

    def pace_factor(self, year_fraction: float) -> float:
        """> 1 for a reader behind the yearly target at this point of the year, < 1 when far ahead."""
        expected = self.yearly_target * year_fraction
        pace = (self.year_done + 10) / (expected + 10)
        low, high = PACE_BOUNDS
        return min(high, max(low, 1 / pace))

    def weight(self, year_fraction: float) -> float:
        return self.share * self.site_factor * self.pace_factor(year_fraction)


@dataclass
class ExamFacts:
    exam_id: int
    l1_radiologist_id: int
    practice_id: int
    practice_home_site_id: int | None = None
    released_by: frozenset[int] = frozenset()  # readers who let an earlier assignment go stale


@dataclass
class Decision:
    exam_id: int
    reader_id: int | None
    why: str
    detail: dict = field(default_factory=dict)
    wait_code: str = ""


def exclusion(reader: ReaderState, exam: ExamFacts, rules: Rules) -> str | None:
    """The first rule that keeps this reader from this exam, or None when they may read it."""
    if reader.user_id == exam.l1_radiologist_id:
        return "COI_L1"
    if not reader.available:
        return "INACTIVE"
    if reader.absent:
        return "ABSENT"
    if not reader.works_today:
        return "DAY_OFF"
    if rules.exclude_same_practice and exam.practice_id in reader.practice_ids:
        return "SAME_PRACTICE"
    if rules.cross_site and exam.practice_home_site_id == reader.site_id:
        return "SAME_SITE"
    if exam.practice_id in reader.declared_practice_ids:
        return "DECLARED"
    if reader.user_id in exam.released_by:
        return "RELEASED_BEFORE"
    if reader.day_load >= reader.day_capacity:
        return "DAY_FULL"
    if reader.week_load >= reader.week_capacity:
        return "WEEK_FULL"
    return None


def year_fraction(today: dt.date) -> float:
    start = dt.date(today.year, 1, 1)
    days = (dt.date(today.year + 1, 1, 1) - start).days
    return ((today - start).days + 1) / days


def _fmt(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def _excluded_summary(excluded: list[tuple[ReaderState, str]]) -> str:
    parts: dict[str, list[str]] = {}
    for reader, code in excluded:
        parts.setdefault(code, []).append(reader.name)
    return " ; ".join(f"{', '.join(names)} : {EXCLUSIONS[code]}" for code, names in parts.items())


def choose(
    exam: ExamFacts, readers: list[ReaderState], rules: Rules, today: dt.date, *, explain: bool = True
) -> Decision:
    """Pick the eligible reader with the lowest weighted week load, then record the choice."""
    fraction = year_fraction(today)
    eligible: list[ReaderState] = []
    excluded: list[tuple[ReaderState, str]] = []
    for reader in readers:
        code = exclusion(reader, exam, rules)
        if code is None:
            eligible.append(reader)
        else:
            excluded.append((reader, code))
    if not eligible:
        codes = {code for _, code in excluded}
        if not readers:
            wait = "NO_READER"
        elif codes & CAPACITY_CODES:
            wait = "NO_CAPACITY"  # someone could read it once their capacity frees up
        else:
            wait = "ALL_EXCLUDED"
        why = "En attente : aucun lecteur éligible. " + _excluded_summary(excluded) + "."
        return Decision(exam.exam_id, None, why[:300], {"excluded": _codes(excluded)}, wait)
    chosen = min(
        eligible,
        key=lambda r: ((r.week_load + 1) / r.weight(fraction), r.open_load, r.day_load, r.user_id),
    )
    decision = Decision(exam.exam_id, chosen.user_id, "")
    if explain:
        pace = chosen.pace_factor(fraction)
        expected = round(chosen.yearly_target * fraction)
        decision.why = (
            f"{chosen.name} ({chosen.site_name}) : charge pondérée la plus faible parmi {len(eligible)} "
            f"lecteur(s) éligible(s) — {chosen.week_load} cette semaine, {chosen.day_load}/{chosen.day_capacity} "
            f"aujourd'hui, {chosen.year_done} lectures dans l'année pour {expected} attendues à date "
            f"(objectif {chosen.yearly_target}, coefficient ×{_fmt(pace)}), part {_fmt(chosen.share)}, "
            f"site ×{_fmt(chosen.site_factor)}."
        )
        if excluded:
            decision.why += " Exclus : " + _excluded_summary(excluded) + "."
        decision.detail = {
            "rule": "BALANCE",
            "chosen": {
                "reader_id": chosen.user_id,
                "week_load": chosen.week_load,
                "day_load": chosen.day_load,
                "year_done": chosen.year_done,
                "pace_factor": round(pace, 3),
                "share": chosen.share,
                "site_factor": round(chosen.site_factor, 3),
            },
            "eligible": len(eligible),
            "excluded": _codes(excluded),
        }
    chosen.day_load += 1
    chosen.week_load += 1
    chosen.open_load += 1
    chosen.year_done += 1
    return decision


def _codes(excluded: list[tuple[ReaderState, str]]) -> list[dict]:
    return [{"reader_id": r.user_id, "name": r.name, "code": code} for r, code in excluded]


def plan(exams: list[ExamFacts], readers: list[ReaderState], rules: Rules, today: dt.date) -> list[Decision]:
    """Decisions for exams given in priority order; each choice updates the loads the next one sees."""
    return [choose(exam, readers, rules, today) for exam in exams]


def site_factors(week_by_site: dict[int, int], targets_pct: dict[int, int]) -> dict[int, float]:
    """Sites under their weekly share get more (up to ×2), sites over it less (down to ×0.5)."""
    total = sum(week_by_site.values())
    factors: dict[int, float] = {}
    for site_id, target in targets_pct.items():
        if total < 20 or not target:
            factors[site_id] = 1.0
            continue
        actual = max(week_by_site.get(site_id, 0) / total, 0.01)
        factors[site_id] = min(2.0, max(0.5, (target / 100) / actual))
    return factors
