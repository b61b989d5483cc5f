"""The uptake dashboards: who may see them, what they show, their exports, and their cost."""

import csv
import io
import re
import zipfile
from contextlib import contextmanager
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import error_summary, heading, page, sign_in, text
from tests.web.conftest import PASSWORD, create_account
from tracker import places, progress
from tracker.extensions import db
from tracker.figures import DEFINITIONS
from tracker.models import Claim, ClaimStatus, CohortStatus, Role, SettingKind

TODAY = date.today()  # noqa: DTZ011
_people = iter(range(1, 1_000_000))


def claim(session, cohort, *, la_code="201", kind=SettingKind.GROUP_BASED, setting=None):
    n = next(_people)
    if setting is None and cohort.programme.eligible_setting_kinds:
        setting = factories.create_setting(session, kind=kind, la_code=la_code)
    return places.claim_place(
        session, cohort, full_name=f"Person {n}", email=f"person{n}@example.com", setting=setting
    ).claim


def build(session, *, per_cohort: int, cohorts: int = 1, la_codes=("201", "888")):
    """Claims on two programmes in several areas, some started, completed and withdrawn."""
    ey = factories.programme(session, "ey-senco-l3")
    npq = factories.programme(session, "npq-senco")
    made = []
    for prog, kind in ((ey, SettingKind.GROUP_BASED), (npq, SettingKind.SCHOOL)):
        for _ in range(cohorts):
            cohort = factories.create_cohort(
                session, prog=prog, places=per_cohort, starts_on=TODAY - timedelta(days=3)
            )
            for i in range(per_cohort + 1):  # one more than fits: it waits
                made.append(claim(session, cohort, la_code=la_codes[i % len(la_codes)], kind=kind))
    funded = [c for c in made if c.status == ClaimStatus.FUNDED]
    for c in funded[::3]:
        progress.record_declaration(session, c, milestone_code="started", declared_on=TODAY)
    for c in funded[1::5]:
        places.withdraw(session, c, reason="Left the setting")
    session.commit()
    return made


@pytest.fixture
def dfe_client(client, dfe_user):
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    return client


def claimed_from(day: date) -> list[tuple[str, str]]:
    return [("claimed_from", str(v)) for v in (day.day, day.month, day.year)]


def cells(html, key: str) -> list[list[str]]:
    table = html.select_one(f"table[data-table={key}]")
    return [[text(c) for c in row.select("th, td")] for row in table.select("tbody tr")]


def as_int(value: str) -> int:
    return int(value.replace(",", ""))


# -- who may see what -----------------------------------------------------------------------


def test_the_dashboards_ask_a_stranger_to_sign_in(client):
    for url in ["/dashboard", "/dashboard/la/201", "/dashboard/export/uptake.csv"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.SETTING])
def test_providers_and_settings_may_not_see_the_dashboards(client, session, role):
    user = create_account(session, role=role)
    sign_in(client, user.email, PASSWORD)
    for url in ["/dashboard", "/dashboard/la/201", "/dashboard/la/201/export/uptake.csv"]:
        assert client.get(url).status_code == 403, url


def test_a_local_authority_sees_its_own_area_only(client, session):
    user = create_account(session, role=Role.LOCAL_AUTHORITY, organisation="201")
    sign_in(client, user.email, PASSWORD)

    own = client.get("/dashboard/la/201")
    assert own.status_code == 200
    assert heading(own) == "Uptake in City of London"
    assert client.get("/dashboard/la/888").status_code == 403
    assert client.get("/dashboard/la/888/export/uptake.csv").status_code == 403
    assert client.get("/dashboard/la/999").status_code == 404
    # The national dashboard is DfE's: a local authority is taken to its own area.
    response = client.get("/dashboard?programme=npq-senco")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/la/201?programme=npq-senco"
    nav = {text(a): a["href"] for a in page(own).select("a.govuk-service-navigation__link")}
    assert nav["Dashboard"] == "/dashboard"


def test_dfe_sees_any_area_and_the_navigation_links_the_dashboard(dfe_client):
    assert dfe_client.get("/dashboard/la/888").status_code == 200
    assert dfe_client.get("/dashboard/la/XYZ").status_code == 404
    html = page(dfe_client.get("/dashboard"))
    current = html.select_one(".govuk-service-navigation__item--active a")
    assert text(current) == "Dashboard"


# -- what the national dashboard shows ---------------------------------------------------------


def test_the_national_figures_agree_with_a_direct_count(dfe_client, session):
    build(session, per_cohort=4)

    html = page(dfe_client.get("/dashboard"))

    ey = factories.programme(session, "ey-senco-l3")

    def count(*conditions) -> int:
        return session.scalar(
            sa.select(sa.func.count(Claim.id)).where(Claim.programme_id == ey.id, *conditions)
        )

    row = next(r for r in cells(html, "uptake") if r[0] == ey.name)
    headers = [text(th) for th in html.select("table[data-table=uptake] thead th")]
    figures = dict(zip(headers, row, strict=True))
    assert as_int(figures["Claimed"]) == count()
    assert as_int(figures["Funded"]) == count(Claim.holds_place.is_(True))
    assert as_int(figures["Waiting"]) == count(Claim.status == ClaimStatus.WAITING)
    assert as_int(figures["Withdrawn"]) == count(Claim.status == ClaimStatus.WITHDRAWN)
    assert as_int(figures["Ever started"]) == count(Claim.started_dt.is_not(None))
    target = as_int(figures["Target"])
    assert as_int(figures["Places left"]) == target - count(Claim.holds_place.is_(True))
    # The projection answers when the target will be reached, or how far short it falls.
    projection = text(html.select_one(f"[data-projection={ey.code}]"))
    assert re.search(r"will be reached in the week of|short of the target", projection)
    # The region rows add up to the programme rows.
    regions = cells(html, "regions")
    claimed_col = [text(th) for th in html.select("table[data-table=regions] thead th")].index(
        "Claimed"
    )
    total_claims = session.scalar(sa.select(sa.func.count(Claim.id)))
    assert sum(as_int(r[claimed_col]) for r in regions) == total_claims
    # Every chart is labelled, summarised in words, and has its table of figures.
    for svg in html.select("svg.app-chart"):
        assert svg["role"] == "img"
        assert svg.select_one("title") and svg.select_one("desc")
    assert html.select_one("[data-table=monthly-ey-senco-l3]") is not None
    assert html.select("[data-chart-summary]")


def test_the_programme_filter_narrows_every_table(dfe_client, session):
    build(session, per_cohort=3)

    html = page(dfe_client.get("/dashboard?programme=npq-senco"))

    assert [r[0] for r in cells(html, "uptake")] == ["SENCO National Professional Qualification"]
    assert html.select_one("[data-table=provider-allocations-npq-senco]") is not None
    assert html.select_one("[data-table=provider-allocations-ey-senco-l3]") is None
    assert "SENCO National Professional Qualification, all claims" in text(
        html.select_one("[data-filters-applied]")
    )


def test_claims_made_before_the_date_range_are_left_out(dfe_client, session):
    build(session, per_cohort=2)
    tomorrow = TODAY + timedelta(days=1)

    html = page(
        dfe_client.get(
            "/dashboard",
            query_string=[
                ("claimed_from", str(tomorrow.day)),
                ("claimed_from", str(tomorrow.month)),
                ("claimed_from", str(tomorrow.year)),
            ],
        )
    )

    assert {as_int(r[5]) for r in cells(html, "uptake")} == {0}  # Claimed


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["31", "2", "2025"], "Claims made from must be a real date"),
        (["1", "", "2025"], "Claims made from must include a month"),
        (["x", "y", "z"], "Claims made from must be a real date"),
        (["1"], "Claims made from must include a month and a year"),
    ],
)
def test_a_bad_date_shows_the_form_again_with_an_error(dfe_client, values, message):
    response = dfe_client.get("/dashboard", query_string=[("claimed_from", v) for v in values])

    assert response.status_code == 200
    assert error_summary(response)[0][0] == message
    html = page(response)
    assert text(html.select_one("title")).startswith("Error: ")
    assert html.select_one("[data-table=uptake]") is None


def test_an_end_date_before_the_start_date_is_an_error(dfe_client):
    response = dfe_client.get(
        "/dashboard",
        query_string=[("claimed_from", v) for v in ("2", "3", "2025")]
        + [("claimed_to", v) for v in ("1", "3", "2025")],
    )
    assert error_summary(response)[0][0] == (
        "Claims made up to must be the same as or after claims made from"
    )


def test_an_unknown_programme_is_an_error_not_a_crash(dfe_client):
    response = dfe_client.get("/dashboard?programme=nope")
    assert response.status_code == 200
    assert error_summary(response)


# -- the local dashboard ----------------------------------------------------------------------


def test_the_local_dashboard_shows_the_area_its_region_and_england(dfe_client, session):
    build(session, per_cohort=4)
    idle = factories.create_setting(session, la_code="888", name="Quiet Corner Nursery")
    session.commit()

    html = page(dfe_client.get("/dashboard/la/888"))

    lancashire = factories.local_authority(session, "888")
    in_area = session.scalar(
        sa.select(sa.func.count(Claim.id)).where(Claim.local_authority_id == lancashire.id)
    )
    rows = cells(html, "uptake")
    assert sum(as_int(r[1]) for r in rows) == in_area
    comparison = {r[0]: r for r in cells(html, "comparison")}
    assert list(comparison) == ["Lancashire", "North West", "England"]
    assert as_int(comparison["Lancashire"][4]) == in_area
    assert as_int(comparison["England"][4]) == session.scalar(sa.select(sa.func.count(Claim.id)))
    without = cells(html, "settings-without-a-claim")
    assert [r[1] for r in without] == [idle.urn]


def test_cohorts_are_summed_by_programme_and_listed_in_full_as_a_download(dfe_client, session):
    npq = factories.programme(session, "npq-senco")
    full = factories.create_cohort(session, prog=npq, places=2)
    for _ in range(3):
        claim(session, full, kind=SettingKind.SCHOOL)  # 2 funded, 1 waiting
    roomy = factories.create_cohort(session, prog=npq, places=5)
    claim(session, roomy, kind=SettingKind.SCHOOL)
    factories.create_cohort(session, prog=npq, places=4, status=CohortStatus.CLOSED)
    factories.create_cohort(session, prog=npq, places=9, status=CohortStatus.CANCELLED)
    ey = factories.create_cohort(session, prog=factories.programme(session, "ey-senco-l3"))
    claim(session, ey)
    session.commit()

    html = page(dfe_client.get("/dashboard"))
    summary = {r[0]: [as_int(v) for v in r[1:]] for r in cells(html, "cohort-summary")}
    # Cohorts (not cancelled), open, open and full, with claims waiting, places, funded,
    # places left in open cohorts, waiting.
    assert summary["SENCO National Professional Qualification"] == [3, 2, 1, 1, 11, 3, 4, 1]
    # The page does not list every cohort, which grows with the data: the download does.
    assert not html.select("table[data-table=cohorts]")
    listed = html.select_one("[data-cohort-list]")
    assert "5 cohorts" in text(listed)
    body = dfe_client.get(listed.select_one("a[href*='cohorts.csv']")["href"]).get_data(
        as_text=True
    )
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Programme", "Provider", "Cohort"]
    assert len(rows) == 1 + 5


# -- exports ----------------------------------------------------------------------------------


def _xlsx_strings(body: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(body)) as workbook:
        shared = workbook.read("xl/sharedStrings.xml").decode()
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formulas at all
    return re.findall(r"<t[^>]*>([^<]*)</t>", shared)


def test_every_table_downloads_as_csv_and_excel_with_the_filters_applied(dfe_client, session):
    build(session, per_cohort=2)
    html = page(dfe_client.get("/dashboard?programme=npq-senco"))
    links = html.select("[data-downloads] a")
    tables = {t["data-table"] for t in html.select("table[data-table]")}
    assert {a.parent["data-downloads"] for a in links} >= tables

    for a in links:
        response = dfe_client.get(a["href"])
        assert response.status_code == 200, a["href"]
        disposition = response.headers["Content-Disposition"]
        assert "npq-senco" in disposition
        assert f"extracted-{TODAY.isoformat()}" in disposition
    response = dfe_client.get(html.select_one("[data-downloads=uptake] a")["href"])
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Programme", "Target", "Funded"]
    assert [r[0] for r in rows[1:]] == ["SENCO National Professional Qualification"]


def test_exports_cannot_carry_a_formula(dfe_client, session):
    prog = factories.programme(session, "ey-senco-l3")
    cohort = factories.create_cohort(session, prog=prog, places=5)
    for n, reason in enumerate(["=1+2", "+cmd", "-2", "@SUM(A1)", "fine"]):
        setting = factories.create_setting(session, name=f"=HYPERLINK(evil{n})")
        c = claim(session, cohort, setting=setting)
        places.withdraw(session, c, reason=reason)
    session.commit()

    body = dfe_client.get("/dashboard/export/end-reasons.csv").get_data(as_text=True)
    reasons = [r[2] for r in csv.reader(io.StringIO(body.lstrip("\ufeff")))][1:]
    assert sorted(reasons) == sorted(["'=1+2", "'+cmd", "'-2", "'@SUM(A1)", "fine"])

    strings = _xlsx_strings(dfe_client.get("/dashboard/export/end-reasons.xlsx").data)
    assert "'=1+2" in strings and "=1+2" not in strings
    assert not any(s.startswith(("=", "+", "-", "@")) for s in strings)

    body = dfe_client.get("/dashboard/la/201/export/settings-without-a-claim.csv").get_data(
        as_text=True
    )
    assert "=HYPERLINK" not in body.replace("'=HYPERLINK", "")


def test_an_unknown_table_or_format_is_not_found(dfe_client):
    assert dfe_client.get("/dashboard/export/nothing.csv").status_code == 404
    assert dfe_client.get("/dashboard/export/uptake.pdf").status_code == 404


# -- cost ------------------------------------------------------------------------------------


@contextmanager
def counting_statements():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("url", ["/dashboard", "/dashboard/la/888"])
def test_the_queries_a_page_makes_do_not_grow_with_the_data(dfe_client, session, url):
    build(session, per_cohort=2)
    assert dfe_client.get(url).status_code == 200  # warm: connections made, reference read
    # The tests share one session with the requests: start each request from a clean one.
    session.commit()
    with counting_statements() as small:
        assert dfe_client.get(url).status_code == 200

    build(session, per_cohort=6, cohorts=3, la_codes=("201", "888", "330", "926", "380"))
    session.commit()
    with counting_statements() as large:
        assert dfe_client.get(url).status_code == 200

    assert session.scalar(sa.select(sa.func.count(Claim.id))) > 40
    assert len(large) == len(small), "\n".join(sorted(set(large) ^ set(small)))


def funded_shown(client, url="/dashboard") -> int:
    summary = page(client.get(url)).select_one("[data-programme=npq-senco]")
    for row in summary.select(".govuk-summary-list__row"):
        if text(row.select_one("dt")) == DEFINITIONS["funded"].label:
            return as_int(text(row.select_one("dd")).split()[0])
    raise AssertionError("no funded places row")


@pytest.mark.parametrize("url", ["/dashboard", "/dashboard/la/888"])
def test_a_page_reads_the_kept_counts_not_the_claims(dfe_client, session, url):
    build(session, per_cohort=3, la_codes=("888",))
    session.commit()

    with counting_statements() as statements:
        assert dfe_client.get(url).status_code == 200

    reading_claims = [s for s in statements if re.search(r"\bFROM claims\b|JOIN claims\b", s)]
    assert reading_claims == []


def test_a_view_filtered_by_claim_date_counts_the_claims_and_says_so(dfe_client, session):
    build(session, per_cohort=3)
    session.commit()

    with counting_statements() as statements:
        filtered = page(dfe_client.get("/dashboard", query_string=claimed_from(TODAY)))
    unfiltered = page(dfe_client.get("/dashboard"))

    assert any(re.search(r"\bFROM claims\b", s) for s in statements)
    assert filtered.select_one("[data-how-counted]")["data-how-counted"] == "claims"
    assert unfiltered.select_one("[data-how-counted]")["data-how-counted"] == "kept"
    # Every claim was made today: the same figures either way.
    assert funded_shown(dfe_client, "/dashboard?" + urlencode(claimed_from(TODAY))) == (
        funded_shown(dfe_client, "/dashboard")
    )


@pytest.mark.parametrize("url", ["/dashboard", "/dashboard/la/888"])
def test_a_change_shows_on_the_next_view(dfe_client, session, url):
    build(session, per_cohort=3, la_codes=("888",))
    session.commit()
    first = funded_shown(dfe_client, url)

    npq = factories.programme(session, "npq-senco")
    cohort = factories.create_cohort(session, prog=npq, places=5)
    claim(session, cohort, la_code="888", kind=SettingKind.SCHOOL)
    session.commit()

    assert funded_shown(dfe_client, url) == first + 1


def test_different_filters_are_kept_apart(dfe_client, session):
    build(session, per_cohort=2)
    session.commit()
    everything = page(dfe_client.get("/dashboard"))
    only_npq = page(dfe_client.get("/dashboard?programme=npq-senco"))
    assert everything.select("[data-programme=ey-senco-l3]")
    assert not only_npq.select("[data-programme=ey-senco-l3]")
    shown = text(only_npq.select_one("[data-filters-applied]"))
    assert shown.startswith("Showing: SENCO National Professional Qualification")


# -- the words on the page ---------------------------------------------------------------------


def meanings(html) -> dict[str, str]:
    listed = html.select_one("[data-definitions]")
    return {
        text(row.select_one("dt")): text(row.select_one("dd"))
        for row in listed.select(".govuk-summary-list__row")
    }


@pytest.mark.parametrize("url", ["/dashboard", "/dashboard/la/201"])
def test_every_count_a_table_heads_is_defined_on_the_page_in_its_definitions_words(
    dfe_client, session, url
):
    build(session, per_cohort=2)
    html = page(dfe_client.get(url))

    defined = meanings(html)
    labels = {d.label: d for d in DEFINITIONS.values()}
    headed = {
        text(th)
        for table in html.select("table[data-table]")
        for th in table.select("thead th")
        if text(th) in labels
    }
    assert headed, "no table headed by a definition"
    for label in headed:
        meaning = labels[label].meaning
        assert defined[label] == f"{meaning[0].upper()}{meaning[1:]}."


def test_the_dashboard_says_which_started_it_shows(dfe_client, session):
    build(session, per_cohort=4)
    html = page(dfe_client.get("/dashboard"))

    headers = {text(th) for th in html.select("table[data-table] thead th")}
    assert "Started" not in headers
    assert {"Ever started", "In training"} <= headers
    assert meanings(html)["Ever started"].startswith("Claims whose training started, whatever")
    summary = html.select_one("[data-programme=npq-senco]")
    row = next(
        r
        for r in summary.select(".govuk-summary-list__row")
        if text(r.select_one("dt")) == "Ever started"
    )
    npq = factories.programme(session, "npq-senco")
    ever_started = session.scalar(
        sa.select(sa.func.count()).where(
            Claim.programme_id == npq.id, Claim.started_dt.is_not(None)
        )
    )
    assert as_int(text(row.select_one("dd"))) == ever_started > 0
