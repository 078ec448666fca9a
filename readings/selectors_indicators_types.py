"""The result types of the quality indicators: a table per indicator, rows of cells (value, numerator,
denominator, target, out-of-target mark), shared by the page, the exports and the yearly sheet."""

import datetime as dt
from dataclasses import dataclass, field

from readings.selectors_indicators_defs import IndicatorSpec, Measure, Target


@dataclass
class Cell:
    value: float | None
    unit: str
    num: int | None = None
    den: int | None = None
    target: Target | None = None
    out_of_target: bool = False
    text: str = ""  # a non-numeric value (a go-live date)
    kind: str = ""  # the measure's kind: "ratio", "count", "percentile", "projected", "date"

    @property
    def display(self) -> str:
        if self.text or self.value is None:
            return self.text or "—"
        return number_fr(self.value, self.unit)

    @property
    def target_text(self) -> str:
        return self.target.text(self.unit) if self.target else ""


@dataclass
class Row:
    key: object
    label: str
    cells: dict[str, Cell]
    own: bool = False  # the radiologist's own row on their sheet


@dataclass
class Indicator:
    spec: IndicatorSpec
    rows: list[Row]  # the breakdown's rows; empty when §6 does not break this indicator down that way
    total: Row
    broken_down: bool

    @property
    def measures(self) -> tuple[Measure, ...]:
        return self.spec.measures

    # For the templates (no dict lookups by variable there): cells in the order of the measures.
    @property
    def header(self) -> list[tuple[Measure, str]]:
        return [(m, self.total.cells[m.key].target_text) for m in self.measures]

    @property
    def body(self) -> list[tuple[Row, list[tuple[str, Cell]]]]:
        return [(row, [(m.key, row.cells[m.key]) for m in self.measures]) for row in self.rows]

    @property
    def total_cells(self) -> list[tuple[str, Cell]]:
        return [(m.key, self.total.cells[m.key]) for m in self.measures]


@dataclass
class IndicatorTable:
    start: dt.date
    end: dt.date
    group_by: str | None
    medium: str | None
    practice_id: int | None
    indicators: list[Indicator] = field(default_factory=list)
    own_id: int | None = None
    volumes: object | None = None  # the ReaderVolumes behind QI-11, for the readers' chart

    def get(self, code: str) -> Indicator:
        return next(i for i in self.indicators if i.spec.code == code)


def number_fr(value: float, unit: str) -> str:
    """French display: decimal comma, narrow no-break space for thousands; counts without decimals."""
    if unit in ("n", "/an"):
        text = f"{round(value):,}".replace(",", "\u202f")
    else:
        text = f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")
    return text if unit == "n" else f"{text}\u00a0{unit}"
