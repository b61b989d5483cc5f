"""Downloads hold the table as shown, and no cell of them runs as a formula."""

import csv
import io
import re
import zipfile
from datetime import date

import pytest

from tracker.exports import Table, file_name, safe_text, to_csv, to_xlsx


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\tindented", "'\tindented"),
        ("\rreturn", "'\rreturn"),
        ("Quiet Corner Nursery", "Quiet Corner Nursery"),
        ("a=b", "a=b"),
    ],
)
def test_text_a_spreadsheet_would_run_gets_a_leading_apostrophe(value, written):
    assert safe_text(value) == written


def _table() -> Table:
    return Table(
        "by-setting",
        "By setting",
        ["Setting", "Claims", "Share", "Since"],
        rows=[['=HYPERLINK("x")', 3, 0.25, date(2025, 4, 1)], ["Plain", -2, None, None]],
        percent={2},
    )


def test_csv_keeps_numbers_as_numbers_and_defuses_text():
    rows = list(csv.reader(io.StringIO(to_csv(_table()).decode("utf-8-sig"))))
    assert rows == [
        ["Setting", "Claims", "Share", "Since"],
        ['\'=HYPERLINK("x")', "3", "0.25", "2025-04-01"],
        ["Plain", "-2", "", ""],
    ]


def test_the_workbook_has_no_formula_and_says_what_it_holds():
    body = to_xlsx(_table(), title="By setting: England", notes=["Filters: all claims."])
    with zipfile.ZipFile(io.BytesIO(body)) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
        strings = re.findall(r"<t[^>]*>([^<]*)</t>", workbook.read("xl/sharedStrings.xml").decode())
    assert "<f>" not in sheet
    assert "'=HYPERLINK(&quot;x&quot;)" in strings or '\'=HYPERLINK("x")' in strings
    assert strings[:2] == ["By setting: England", "Filters: all claims."]


def test_the_file_name_carries_the_filters_and_the_day_of_extraction():
    name = file_name(_table(), ["npq-senco", "from-2025-01-01"], date(2026, 11, 30), "csv")
    assert name == "by-setting_npq-senco_from-2025-01-01_extracted-2026-11-30.csv"
