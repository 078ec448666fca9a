"""CSV and XLSX exports of the indicator tables: the page's numbers (already rounded by the selector), one
line per group and measure, with numerator, denominator, target and the out-of-target mark."""

import csv
import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from readings.selectors_indicators import Cell, Indicator, IndicatorTable, Row

UNITS = {"n": "", "/an": "/an"}


def _header() -> list[str]:
    return [
        _("Indicateur"), _("Intitulé"), _("Groupe"), _("Mesure"), _("Valeur"), _("Unité"),
        _("Numérateur"), _("Dénominateur"), _("Objectif"), _("Hors objectif"),
    ]  # fmt: skip


def _lines(indicator: Indicator) -> list[tuple[Row, str, Cell]]:
    rows = [*indicator.rows, indicator.total]
    return [(row, str(m.label), row.cells[m.key]) for row in rows for m in indicator.measures]


def _records(table: IndicatorTable) -> list[list]:
    """Typed values: numbers stay numbers (XLSX); the CSV writer formats them the French way."""
    out = []
    for indicator in table.indicators:
        for row, label, cell in _lines(indicator):
            out.append(
                [
                    indicator.spec.code,
                    str(indicator.spec.title),
                    row.label,
                    label,
                    cell.text or cell.value,
                    UNITS.get(cell.unit, cell.unit),
                    cell.num,
                    cell.den,
                    cell.target_text,
                    _("oui") if cell.out_of_target else "",
                ]
            )
    return out


def _csv_value(value, unit: str) -> str:
    """The page's figure without its unit: counts and projections whole, the rest with one decimal."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.0f}" if unit in ("", "/an") else f"{value:.1f}"
        return text.replace(".", ",")
    return str(value)


def indicators_csv(table: IndicatorTable) -> bytes:
    """French Excel-friendly CSV: UTF-8 with BOM, semicolons, decimal comma."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(_period_line(table))
    writer.writerow(_header())
    for record in _records(table):
        writer.writerow([_csv_value(v, record[5]) for v in record])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def indicators_xlsx(table: IndicatorTable) -> bytes:
    """One sheet per indicator (same lines as the CSV), numbers as numbers with one decimal."""
    book = Workbook()
    book.remove(book.active)
    records = _records(table)
    for indicator in table.indicators:
        sheet = book.create_sheet(indicator.spec.code)
        sheet.append(_period_line(table))
        sheet.append(_header())
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for record in (r for r in records if r[0] == indicator.spec.code):
            sheet.append(record)
            value = sheet.cell(row=sheet.max_row, column=5)
            if isinstance(value.value, float):
                value.number_format = "0" if record[5] in ("", "/an") else "0.0"
        for index, width in enumerate((9, 40, 32, 30, 10, 6, 12, 13, 18, 13), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _period_line(table: IndicatorTable) -> list[str]:
    line = [_("Période du %(a)s au %(b)s") % {"a": f"{table.start:%d/%m/%Y}", "b": f"{table.end:%d/%m/%Y}"}]
    if table.medium:
        line.append(_("Support : %(m)s") % {"m": table.medium})
    return line
