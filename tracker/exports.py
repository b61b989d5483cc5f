"""Tables as shown on the dashboards, and the same tables as CSV files and Excel workbooks.

A page and its downloads are drawn from one ``Table``, so a download holds the figures the
page shows, with the same filters and the same suppression, and the columns a page leaves
out to fit its width (``on_page``).

Spreadsheet programs run a cell that begins with = + - @ (or a tab or carriage return)
as a formula: such text is written with a leading apostrophe, as OWASP advises, so a
setting's name cannot become a formula on a DfE laptop. Numbers stay numbers.
"""

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import xlsxwriter

from tracker.formats import short_date

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

Value = str | int | float | date | None


@dataclass
class Table:
    """A table of figures: its name in URLs and files, caption, headings and rows.

    ``numeric`` marks the columns of counts and rates, right-aligned on the page.
    """

    key: str
    caption: str
    headers: list[str]
    rows: list[list[Value]] = field(default_factory=list)
    numeric: set[int] = field(default_factory=set)
    # How a rate column is written: the column index and the number of decimal places.
    percent: set[int] = field(default_factory=set)
    # The columns a page shows, in order (None: all of them); downloads hold every column.
    on_page: list[int] | None = None

    def page_columns(self) -> list[int]:
        return list(range(len(self.headers))) if self.on_page is None else self.on_page

    def cell(self, row: Sequence[Value], index: int) -> str:
        """A value as the page writes it."""
        value = row[index]
        if value is None:
            return ""
        if index in self.percent and isinstance(value, float):
            return f"{value:.0%}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        if isinstance(value, date):
            return short_date(value)
        return str(value)


def safe_text(value: str) -> str:
    """Defuse text a spreadsheet would run as a formula."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _export_value(table: Table, index: int, value: Value) -> Value:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value)
    if index in table.percent and isinstance(value, float):
        return round(value, 4)
    return value


def to_csv(table: Table) -> bytes:
    """The table as CSV in UTF-8 with a byte order mark, which Excel needs to read it right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_text(h) for h in table.headers])
    for row in table.rows:
        writer.writerow(
            [
                v.isoformat() if isinstance(v, date) else v
                for v in (_export_value(table, i, value) for i, value in enumerate(row))
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table, *, title: str, notes: Sequence[str] = ()) -> bytes:
    """The table as an Excel workbook of one sheet: a title, notes, then the table."""
    buffer = io.BytesIO()
    # strings_to_formulas off: no text is ever written as a formula, apostrophe or not.
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet(_sheet_name(table.caption))
    bold = workbook.add_format({"bold": True})
    heading = workbook.add_format({"bold": True, "font_size": 14})
    percent = workbook.add_format({"num_format": "0%"})
    day = workbook.add_format({"num_format": "d mmm yyyy"})
    sheet.write_string(0, 0, safe_text(title), heading)
    line = 1
    for note in notes:
        sheet.write_string(line, 0, safe_text(note))
        line += 1
    line += 1
    for col, header in enumerate(table.headers):
        sheet.write_string(line, col, safe_text(header), bold)
        sheet.set_column(col, col, max(12, min(len(header) + 2, 40)))
    for row in table.rows:
        line += 1
        for col, value in enumerate(row):
            value = _export_value(table, col, value)
            if isinstance(value, str):
                sheet.write_string(line, col, value)
            elif isinstance(value, date):
                sheet.write_datetime(line, col, value, day)
            elif col in table.percent:
                sheet.write_number(line, col, value, percent)
            else:
                sheet.write_number(line, col, value)
    workbook.close()
    return buffer.getvalue()


def _sheet_name(caption: str) -> str:
    # Excel allows 31 characters and none of []:*?/\ in a sheet's name.
    return re.sub(r"[\[\]:*?/\\]", " ", caption)[:31] or "Sheet1"


def file_name(table: Table, filters: Sequence[str], extracted_on: date, extension: str) -> str:
    """Name a download after its table, its filters and the day it was extracted."""
    parts = [table.key, *filters, f"extracted-{extracted_on.isoformat()}"]
    name = "_".join(re.sub(r"[^a-z0-9-]+", "-", p.lower()).strip("-") for p in parts if p)
    return f"{name}.{extension}"
