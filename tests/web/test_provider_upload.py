"""Enrolling many participants from a CSV file: every row checked, all imported or none."""

import io

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests import factories
from tests.browser import banner, csrf_token, error_summary, page, text
from tests.web.provider_pages import enrol, sign_in_provider, table_rows
from tracker.models import AuditEvent, Claim, ClaimStatus, Participant, SettingKind

# PostgreSQL takes a large file by COPY, SQLite row by row: the page is tried on both.
pytestmark = pytest.mark.both_databases

HEADER = "full_name,email,trn,setting_urn\n"


@pytest.fixture
def provider(session):
    return factories.create_provider(session, name="Learning Trust")


@pytest.fixture
def cohort(session, provider):
    cohort = factories.create_cohort(session, provider=provider, places=100)
    for urn in ("EY000101", "EY000102", "EY000103"):
        factories.create_setting(session, urn=urn)
    session.commit()
    return cohort


def upload(client, cohort, data: bytes, filename: str = "participants.csv"):
    url = f"/provider/cohorts/{cohort.id}/upload"
    # Encoded here, in memory: the test client would spool a large body to a temporary file
    # that it leaves open.
    boundary, body = encode_multipart(
        {
            "csrf_token": csrf_token(client, url),
            "file": FileStorage(io.BytesIO(data), filename, content_type="text/csv"),
        }
    )
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def problems(response) -> list[tuple[str, str, str]]:
    return [tuple(row) for row in table_rows(response, "[data-problems]")]


def claims_in(session, cohort) -> int:
    return session.scalar(sa.select(sa.func.count()).where(Claim.cohort_id == cohort.id))


def test_the_template_has_the_header_for_the_programme(client, session, provider, cohort):
    ep = factories.create_cohort(
        session, provider=provider, prog=factories.programme(session, "ep-doctorate")
    )
    session.commit()
    sign_in_provider(client, session, provider)

    response = client.get(f"/provider/cohorts/{cohort.id}/template.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True) == "full_name,email,trn,setting_urn\r\n"
    ep_template = client.get(f"/provider/cohorts/{ep.id}/template.csv")
    assert ep_template.get_data(as_text=True) == "full_name,email,trn,la_code\r\n"
    page_link = page(client.get(f"/provider/cohorts/{cohort.id}/upload")).select_one(
        "[data-template-link]"
    )
    assert page_link["href"] == f"/provider/cohorts/{cohort.id}/template.csv"


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row(
    client, session, provider, cohort
):
    [existing] = enrol(session, cohort, 1, name="Old")
    sign_in_provider(client, session, provider)
    bad = (
        HEADER
        + "Ann Able,ann@example.com,,EY000101\n"  # line 2: good
        + "Bob Bad,not-an-email,,EY000101\n"  # 3: email
        + "Cat Cole,cat@example.com,12,EY000102\n"  # 4: trn
        + "Dan Dee,dan@example.com,,EY999999\n"  # 5: unknown URN
        + ",,,\n"  # 6: blank row in the middle
        + "Eve Eck,ANN@example.com,,EY000102\n"  # 7: same email as line 2
        + f"Fay Fox,{existing.participant.email},,EY000103\n"  # 8: already enrolled
        + "Gus Gee,gus@example.com,,EY000103,extra\n"  # 9: too many values
        + ",hal@example.com,,EY000103\n"  # 10: no name
        + '"Ivy, Iris",ivy@example.com,1234567,\n'  # 11: no URN
        + ",,,\n"  # trailing blank rows are ignored
    )

    response = upload(client, cohort, bad.encode())

    assert response.status_code == 200
    assert error_summary(response) == [("The file has 9 problems: nothing was imported", "#file")]
    assert problems(response) == [
        ("3", "email", "Enter an email address in the correct format, like name@example.com"),
        ("4", "trn", "Enter a teacher reference number (TRN) of 7 digits"),
        ("5", "setting_urn", "No setting has URN EY999999: check the URN"),
        ("6", "", "This row is empty: delete it"),
        ("7", "email", "ann@example.com appears more than once"),
        (
            "8",
            "email",
            f"{existing.participant.email} already has a funded claim on"
            " Level 3 early years SENCo qualification",
        ),
        (
            "9",
            "",
            "This row has 5 values but the header has 4 columns: put any value containing a"
            " comma in double quotes, and remove extra commas",
        ),
        ("10", "full_name", "Enter the participant's full name"),
        ("11", "setting_urn", "Enter the URN of the setting the participant works at"),
    ]
    assert claims_in(session, cohort) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 1

    corrected = (
        HEADER
        + "Ann Able,ann@example.com,,EY000101\n"
        + "Bob Bad,bob@example.com,,EY000101\n"
        + "Cat Cole,cat@example.com,1234568,EY000102\n"
        + "Dan Dee,dan@example.com,,ey000103\n"
        + "Eve Eck,eve@example.com,,EY000102\n"
        + "Gus Gee,gus@example.com,,EY000103\n"
        + "Hal Hay,hal@example.com,,EY000103\n"
        + '"Ivy, Iris",ivy@example.com,1234567,EY000103\n'
    )
    done = upload(client, cohort, corrected.encode())

    assert done.status_code == 302
    # Two places per early years setting: EY000103 is named four times, so two wait.
    assert banner(client.get(done.headers["Location"])) == (
        "8 participants enrolled: 6 funded, 2 waiting"
    )
    assert claims_in(session, cohort) == 9
    ivy = session.scalars(
        sa.select(Participant).where(Participant.email == "ivy@example.com")
    ).one()
    assert (ivy.full_name, ivy.trn) == ("Ivy, Iris", "1234567")


def _audited(session) -> list[AuditEvent]:
    return session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type.in_(["participants", "claims"]))
        .order_by(AuditEvent.id)
    ).all()


def test_a_large_file_with_bad_rows_here_and_there_imports_nothing_and_names_each_one(
    client, session, provider, cohort
):
    sign_in_provider(client, session, provider)
    urns = ("EY000101", "EY000102", "EY000103")
    lines = [f"Person {i},person.{i}@example.com,,{urns[i % 3]}\n" for i in range(3_000)]
    lines[500] = "Bad Urn,bad.urn@example.com,,EY999999\n"  # line 502
    lines[1_200] = "Again,person.7@example.com,,EY000101\n"  # line 1202
    lines[2_999] = "Short Trn,short.trn@example.com,12,EY000101\n"  # line 3001

    response = upload(client, cohort, (HEADER + "".join(lines)).encode())

    assert error_summary(response) == [("The file has 3 problems: nothing was imported", "#file")]
    assert problems(response) == [
        ("502", "setting_urn", "No setting has URN EY999999: check the URN"),
        ("1202", "email", "person.7@example.com appears more than once"),
        ("3001", "trn", "Enter a teacher reference number (TRN) of 7 digits"),
    ]
    assert session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 0
    assert claims_in(session, cohort) == 0

    # With only a row the ledger never sees, the others were written, then rolled back.
    lines[1_200] = "Again,again@example.com,,EY000101\n"
    lines[2_999] = "Short Trn,short.trn@example.com,1234567,EY000101\n"
    response = upload(client, cohort, (HEADER + "".join(lines)).encode())

    assert problems(response) == [
        ("502", "setting_urn", "No setting has URN EY999999: check the URN"),
    ]
    assert session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 0
    assert claims_in(session, cohort) == 0
    assert _audited(session) == []


def test_an_import_is_in_the_audit_trail_with_the_account_that_uploaded_it(
    client, session, provider, cohort
):
    user = sign_in_provider(client, session, provider)
    data = (
        HEADER
        + "Ann Able,ann@example.com,,EY000101\n"
        + "Bob Bell,bob@example.com,1234567,EY000102\n"
    )

    assert upload(client, cohort, data.encode()).status_code == 302

    ann, bob = session.scalars(sa.select(Participant).order_by(Participant.email)).all()
    claims = session.scalars(sa.select(Claim).where(Claim.cohort_id == cohort.id)).all()
    events = _audited(session)
    assert {(e.action, e.entity_type, e.entity_id) for e in events} == {
        ("create", "participants", ann.id),
        ("create", "participants", bob.id),
        *{("create", "claims", c.id) for c in claims},
    }
    assert {(e.actor_id, e.actor) for e in events} == {(user.id, user.email)}
    changes = {(e.entity_type, e.entity_id): e.changes for e in events}
    assert {k: changes[("participants", bob.id)][k] for k in ("full_name", "email", "trn")} == {
        "full_name": "Bob Bell",
        "email": "bob@example.com",
        "trn": "1234567",
    }
    [ann_claim] = [c for c in claims if c.participant_id == ann.id]
    recorded = changes[("claims", ann_claim.id)]
    assert (recorded["status"], recorded["participant_id"], recorded["created_by_id"]) == (
        "funded",
        ann.id,
        user.id,
    )
    assert recorded["funded_dt"] == ann_claim.funded_dt.isoformat()


def test_utf8_with_a_byte_order_mark_and_crlf_lines_is_read(client, session, provider, cohort):
    sign_in_provider(client, session, provider)
    data = "\ufeffFull_Name , Email,setting_urn\r\nZoë Ünal,zoe@example.com,EY000101\r\n".encode()
    assert upload(client, cohort, data).status_code == 302
    assert session.scalars(sa.select(Participant.full_name)).one() == "Zoë Ünal"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", [("", "", "The file is empty: add a header and a row for each participant")]),
        (b"\n\n", [("", "", "The file is empty: add a header and a row for each participant")]),
        (HEADER.encode(), [("", "", "The file has a header but no participants")]),
        (
            HEADER.encode() + "Zoë,z@example.com,,EY000101\n".encode("latin-1"),
            [
                (
                    "2",
                    "",
                    "The file is not in UTF-8: in your spreadsheet, save it as"
                    " “CSV UTF-8 (comma delimited)” and upload it again",
                )
            ],
        ),
        (
            b"PK\x03\x04\x00\x00binary spreadsheet",
            [("1", "", "The file is not a CSV file: save your spreadsheet as CSV UTF-8")],
        ),
        (
            b"name,email,trn,setting_urn\nA,a@example.com,,EY000101\n",
            [
                (
                    "1",
                    "",
                    "Unknown column “name” in the header:"
                    " the columns are full_name, email, trn, setting_urn",
                ),
                (
                    "1",
                    "",
                    "The header has no full_name column:"
                    " the first line must be full_name,email,trn,setting_urn",
                ),
            ],
        ),
        (
            b"full_name,email,email,setting_urn\n",
            [("1", "email", "The header names the column email more than once")],
        ),
        (
            b'full_name,email,trn,setting_urn\n"A,a@example.com,,EY000101\n',
            None,  # an unclosed quote swallows the rest of the file: one row, too few values
        ),
    ],
)
def test_problems_with_the_file_itself(client, session, provider, cohort, data, expected):
    sign_in_provider(client, session, provider)
    response = upload(client, cohort, data)
    assert response.status_code == 200
    if expected is not None:
        assert problems(response) == expected
    else:
        assert problems(response)
    assert claims_in(session, cohort) == 0


def test_no_file_chosen(client, session, provider, cohort):
    sign_in_provider(client, session, provider)
    url = f"/provider/cohorts/{cohort.id}/upload"
    response = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert error_summary(response) == [("Select a CSV file", "#file")]


def test_a_file_too_large_or_too_long_is_refused(client, session, provider, cohort):
    sign_in_provider(client, session, provider)
    big = HEADER.encode() + b"A,a@example.com,,EY000101," + b"x" * (5 * 1024 * 1024) + b"\n"
    assert problems(upload(client, cohort, big)) == [
        ("", "", "The file must be smaller than 5 MB: split it into smaller files")
    ]
    long = HEADER + "".join(f"P,p{i}@example.com,,EY000101\n" for i in range(50_001))
    assert problems(upload(client, cohort, long.encode())) == [
        ("", "", "The file has more than 50,000 rows: split it into smaller files")
    ]


def test_the_page_lists_at_most_100_problems_and_counts_the_rest(client, session, provider, cohort):
    sign_in_provider(client, session, provider)
    data = HEADER + "".join(f"P{i},bad-{i},,EY000101\n" for i in range(150))
    response = upload(client, cohort, data.encode())
    assert len(problems(response)) == 100
    assert text(page(response).select_one("[data-problems-not-shown]")).startswith(
        "And 50 more problems not shown."
    )


def test_an_ep_file_names_local_authorities(client, session, provider):
    cohort = factories.create_cohort(
        session, provider=provider, prog=factories.programme(session, "ep-doctorate")
    )
    session.commit()
    sign_in_provider(client, session, provider)
    data = (
        "full_name,email,trn,la_code\n"
        "A,a@example.com,,201\n"
        "B,b@example.com,,999\n"
        "C,c@example.com,,\n"
    )
    assert problems(upload(client, cohort, data.encode())) == [
        ("3", "la_code", "No local authority has the code 999: use its 3-digit DfE code"),
        ("4", "la_code", "Enter the 3-digit code of the local authority the trainee is placed in"),
    ]
    fixed = data.replace(",999", ",201").replace("c@example.com,,", "c@example.com,,E09000001")
    assert upload(client, cohort, fixed.encode()).status_code == 302
    assert claims_in(session, cohort) == 3


def test_20000_rows_import_in_one_go(client, session, provider, app):
    """A big file works, with one query per chunk of URNs; the time is printed (pytest -s)."""
    prog = factories.programme(session, "npq-senco")
    cohort = factories.create_cohort(
        session,
        provider=provider,
        prog=prog,
        places=15_000,
        allocation=20_000,
        programme_places=None,
    )
    schools = [
        factories.create_setting(session, kind=SettingKind.SCHOOL, urn=f"{100000 + n}")
        for n in range(1_000)
    ]
    session.commit()
    sign_in_provider(client, session, provider)
    rows = "".join(
        f"Person {i},person.{i}@example.com,{2000000 + i},{schools[i % 1000].urn}\n"
        for i in range(20_000)
    )
    data = (HEADER + rows).encode()

    # How fast is for bench/ (make bench) to measure, not for a test to assert.
    response = upload(client, cohort, data)
    assert response.status_code == 302, problems(response)[:5]
    assert banner(client.get(response.headers["Location"])) == (
        "20,000 participants enrolled: 15,000 funded, 5,000 waiting"
    )
    counts = dict(
        session.execute(
            sa.select(Claim.status, sa.func.count())
            .where(Claim.cohort_id == cohort.id)
            .group_by(Claim.status)
        ).all()
    )
    assert counts == {ClaimStatus.FUNDED: 15_000, ClaimStatus.WAITING: 5_000}
