"""Enrolment by CSV: a provider's file of participants, checked row by row, then claimed at once.

The file is read and checked here (encoding, header, values, settings and areas); the
claims are made by the ledger's batch ``claim_places``, so the same rules hold as for one
enrolment, and so duplicates in the file or against existing records are caught there. If
any row is bad, nothing is imported and every problem is reported with its line and column.
Functions flush; they never commit.
"""

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.database import one_of
from tracker.errors import DomainError
from tracker.models import Cohort, LocalAuthority, Programme, Setting, User
from tracker.places import (
    ClaimRequest,
    ClaimsRefused,
    NewClaim,
    check_place,
    claim_places,
    uses_settings,
)

logger = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000

FULL_NAME, EMAIL, TRN, SETTING_URN, LA_CODE = "full_name", "email", "trn", "setting_urn", "la_code"
COLUMNS = (FULL_NAME, EMAIL, TRN, SETTING_URN, LA_CODE)
# The ledger names the input a rule is about; the file calls it by its column.
COLUMN_OF_FIELD = {
    "full_name": FULL_NAME,
    "email": EMAIL,
    "trn": TRN,
    "setting": SETTING_URN,
    "local_authority": LA_CODE,
}


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with a file: where (line and column, when known) and what to fix."""

    message: str
    line: int | None = None
    column: str | None = None


class ImportRefused(DomainError):
    """The file was not imported; ``problems`` lists everything wrong with it, in order."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(problems[0].message, field="file")
        self.problems = sorted(
            problems, key=lambda p: (p.line or 0, COLUMNS.index(p.column or FULL_NAME))
        )


def template_columns(programme: Programme) -> list[str]:
    return [FULL_NAME, EMAIL, TRN, SETTING_URN if uses_settings(programme) else LA_CODE]


def template_csv(programme: Programme) -> str:
    """A CSV with the header the import expects for this programme, and no rows."""
    return ",".join(template_columns(programme)) + "\r\n"


def place_of_work(
    programme: Programme,
    *,
    urn: str,
    la_code: str,
    setting: Setting | None,
    local_authority: LocalAuthority | None,
) -> tuple[Setting | None, LocalAuthority | None]:
    """Check the code a claim gives for where it counts: a setting's URN or an area's LA code.

    ``setting`` and ``local_authority`` are what the codes were found to be (None if unknown).
    A file fills one of the two columns; which one a programme needs, and who may claim,
    is the ledger's rule (``places.check_place``).
    """
    urn, la_code = urn.strip().upper(), la_code.strip().upper()
    if uses_settings(programme):
        if la_code:
            raise DomainError(
                f"Leave the local authority empty: on {programme.name} the place counts"
                " in the setting's area",
                field="local_authority",
            )
        if urn and setting is None:
            raise DomainError(f"No setting has URN {urn}: check the URN", field="setting")
        found = (setting if urn else None), None
    else:
        if urn:
            raise DomainError(
                f"Leave the setting URN empty: claims on {programme.name} name a local authority",
                field="setting",
            )
        if la_code and local_authority is None:
            raise DomainError(
                f"No local authority has the code {la_code}: use its 3-digit DfE code",
                field="local_authority",
            )
        found = None, (local_authority if la_code else None)
    check_place(programme, *found)
    return found


def local_authorities_by_code(session: Session) -> dict[str, LocalAuthority]:
    """Every local authority by its DfE code, ONS code and former ONS code (one query)."""
    found = {}
    for la in session.scalars(sa.select(LocalAuthority)):
        for code in (la.la_code, la.ons_code, la.former_ons_code):
            if code:
                found[code.upper()] = la
    return found


def settings_by_urn(session: Session, urns: Iterable[str]) -> dict[str, Setting]:
    """Find settings by URN, in as few queries as the database allows."""
    wanted = sorted({u for u in urns if u})
    found = {}
    for condition in one_of(session.get_bind(), Setting.urn, wanted):
        for setting in session.scalars(sa.select(Setting).where(condition)):
            found[setting.urn] = setting
    return found


@dataclass
class _Row:
    line: int
    values: dict[str, str]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRefused(
            [
                ImportProblem(
                    "The file is not in UTF-8: in your spreadsheet, save it as"
                    " “CSV UTF-8 (comma delimited)” and upload it again",
                    line=line,
                )
            ]
        ) from None


def read_rows(data: bytes, programme: Programme) -> tuple[list[_Row], list[ImportProblem]]:
    """Read the file's rows by column name; raise ImportRefused if the file itself is unusable."""
    if not data.strip():
        raise ImportRefused(
            [ImportProblem("The file is empty: add a header and a row for each participant")]
        )
    if len(data) > MAX_BYTES:
        raise ImportRefused(
            [
                ImportProblem(
                    f"The file must be smaller than {MAX_BYTES // (1024 * 1024)} MB:"
                    " split it into smaller files"
                )
            ]
        )
    text = _decode(data)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportRefused(
            [
                ImportProblem(
                    "The file is not a CSV file: save your spreadsheet as CSV UTF-8", line=line
                )
            ]
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as error:
        raise ImportRefused(
            [ImportProblem(f"The header cannot be read: {error}", line=1)]
        ) from None
    names = [name.strip().lower() for name in header]
    expected = template_columns(programme)
    problems = []
    for name in names:
        if name not in COLUMNS:
            shown = name or "(empty)"
            problems.append(
                ImportProblem(
                    f"Unknown column “{shown}” in the header:"
                    f" the columns are {', '.join(expected)}",
                    line=1,
                )
            )
    for name in sorted({n for n in names if names.count(n) > 1 and n in COLUMNS}):
        problems.append(
            ImportProblem(f"The header names the column {name} more than once", line=1, column=name)
        )
    required = [FULL_NAME, EMAIL, SETTING_URN if uses_settings(programme) else LA_CODE]
    for name in required:
        if name not in names:
            problems.append(
                ImportProblem(
                    f"The header has no {name} column: the first line must be {','.join(expected)}",
                    line=1,
                )
            )
    if problems:
        raise ImportRefused(problems)

    rows: list[_Row] = []
    blank_lines: list[int] = []
    line = 2
    try:
        for values in reader:
            start, line = line, reader.line_num + 1
            if not any(v.strip() for v in values):
                blank_lines.append(start)
                continue
            # A blank row is a problem only when a row with values follows it: blank rows at
            # the end are what spreadsheets often leave.
            problems.extend(
                ImportProblem("This row is empty: delete it", line=n) for n in blank_lines
            )
            blank_lines = []
            if len(rows) >= MAX_ROWS:
                raise ImportRefused(
                    [
                        ImportProblem(
                            f"The file has more than {MAX_ROWS:,} rows: split it into smaller files"
                        )
                    ]
                )
            if len(values) != len(names):
                problems.append(
                    ImportProblem(
                        f"This row has {len(values)} values but the header has"
                        f" {len(names)} columns: put any value containing a comma in"
                        " double quotes, and remove extra commas",
                        line=start,
                    )
                )
                continue
            rows.append(_Row(start, dict(zip(names, values, strict=True))))
    except csv.Error as error:
        problems.append(ImportProblem(f"This row cannot be read: {error}", line=line))
    if not rows and not problems:
        raise ImportRefused([ImportProblem("The file has a header but no participants")])
    return rows, problems


def import_enrolments(
    session: Session, cohort: Cohort, data: bytes, *, by: User | None = None
) -> list[NewClaim]:
    """Enrol everyone in a CSV file in a cohort, in file order: all of them, or none.

    Raises ImportRefused listing every problem found: in the file, in a row's values, or
    against the ledger's rules (a person twice, or already holding a live claim).
    """
    programme = cohort.programme
    rows, problems = read_rows(data, programme)
    found_settings = settings_by_urn(
        session, (r.values.get(SETTING_URN, "").strip().upper() for r in rows)
    )
    areas = local_authorities_by_code(session) if not uses_settings(programme) else {}

    requests: list[ClaimRequest] = []
    lines: list[int] = []
    for row in rows:
        get = row.values.get
        urn, la_code = get(SETTING_URN, "").strip().upper(), get(LA_CODE, "").strip().upper()
        try:
            setting, area = place_of_work(
                programme,
                urn=urn,
                la_code=la_code,
                setting=found_settings.get(urn),
                local_authority=areas.get(la_code),
            )
        except DomainError as error:
            problems.append(
                ImportProblem(error.message, row.line, COLUMN_OF_FIELD.get(error.field))
            )
            continue
        requests.append(
            ClaimRequest(get(FULL_NAME, ""), get(EMAIL, ""), get(TRN) or None, setting, area)
        )
        lines.append(row.line)

    # The ledger checks the rows that passed so far, so one upload reports every problem;
    # if the file already has some, whatever it did is rolled back.
    savepoint = session.begin_nested()
    try:
        made = claim_places(session, cohort, requests, by=by)
    except ClaimsRefused as refused:
        savepoint.rollback()
        problems.extend(
            ImportProblem(error.message, lines[index], COLUMN_OF_FIELD.get(error.field))
            for index, error in refused.errors.items()
        )
        raise ImportRefused(problems) from None
    except DomainError as error:
        savepoint.rollback()
        raise ImportRefused([*problems, ImportProblem(error.message)]) from None
    if problems:
        savepoint.rollback()
        raise ImportRefused(problems)
    savepoint.commit()
    logger.info("%d participants imported into cohort %s", len(made), cohort.id)
    return made
