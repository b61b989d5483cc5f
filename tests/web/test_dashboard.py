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
from tracker.models import Claim, ClaimStatus, CohortStatus, LocalAuthority, Role, SettingKind
from tracker.places import london_today
from tracker.web.dashboard import ROWS_PER_PAGE, ROWS_SHOWN


def today() -> date:
    """Today in London, asked for when used (a run may cross midnight)."""
    return london_today()


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
                session, prog=prog, places=per_cohort, starts_on=today() - timedelta(days=3)
            )
            for i in range(per_cohort + 1):  # one more than fits: it waits
                made.append(claim(session, cohort, la_code=la_codes[i % len(la_codes)], kind=kind))
    funded = [c for c in made if c.status == ClaimStatus.FUNDED]
    for c in funded[::3]:
        progress.record_declaration(session, c, milestone_code="started", declared_on=today())
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


def downloaded(client, key: str, query: str = "", url="/dashboard") -> list[dict[str, str]]:
    """A table's CSV download, every column (the page shows fewer), as a dict per row."""
    body = client.get(f"{url}/export/{key}.csv?{query}").get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


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
    shown = dict(zip(headers, row, strict=True))
    assert as_int(shown["Funded"]) == count(Claim.holds_place.is_(True))
    assert as_int(shown["Waiting"]) == count(Claim.status == ClaimStatus.WAITING)
    target = as_int(shown["Target"])
    assert as_int(shown["Places left"]) == target - count(Claim.holds_place.is_(True))
    # The download holds the columns the page has no room for.
    [every] = [r for r in downloaded(dfe_client, "uptake") if r["Programme"] == ey.name]
    assert as_int(every["Claimed"]) == count()
    assert as_int(every["Withdrawn"]) == count(Claim.status == ClaimStatus.WITHDRAWN)
    assert as_int(every["Ever started"]) == count(Claim.started_dt.is_not(None))
    assert every["Funded"] == shown["Funded"].replace(",", "")
    # The headline: funded against the target, unmet demand, and when the target is reached
    # or how far short it falls.
    headline = html.select_one(f"[data-headline={ey.code}]")
    assert as_int(text(headline.select_one("[data-funded]"))) == count(Claim.holds_place.is_(True))
    assert text(headline.select_one("[data-unmet-demand]")) == (
        f"Unmet demand: {count(Claim.status == ClaimStatus.WAITING)} claims waiting for a place."
    )
    projection = text(headline.select_one(f"[data-projection={ey.code}]"))
    assert re.search(r"will be reached in the week of|short of the target", projection)
    # The region rows add up to the programme rows.
    total_claims = session.scalar(sa.select(sa.func.count(Claim.id)))
    assert sum(as_int(r["Claimed"]) for r in downloaded(dfe_client, "regions")) == total_claims
    # Every chart is labelled, summarised in words, and has its table of figures.
    one = page(dfe_client.get(f"/dashboard?programme={ey.code}"))
    assert len(one.select("svg.app-chart")) == 2
    for svg in one.select("svg.app-chart"):
        assert svg["role"] == "img"
        assert svg.select_one("title") and svg.select_one("desc")
    assert one.select_one("[data-table=monthly-ey-senco-l3]") is not None
    assert one.select_one("[data-table=regions]") is not None
    assert one.select("[data-chart-summary]")


def test_the_programme_filter_narrows_every_table(dfe_client, session):
    build(session, per_cohort=3)

    html = page(dfe_client.get("/dashboard?programme=npq-senco"))

    assert text(html.select_one("h1")) == "SENCO National Professional Qualification"
    assert [h["data-headline"] for h in html.select("[data-headline]")] == ["npq-senco"]
    assert [r[0] for r in cells(html, "completion-and-withdrawal")] == [
        "SENCO National Professional Qualification"
    ]
    assert html.select_one("[data-table=provider-allocations-npq-senco]") is not None
    assert html.select_one("[data-table=provider-allocations-ey-senco-l3]") is None
    assert "SENCO National Professional Qualification, all claims" in text(
        html.select_one("[data-filters-applied]")
    )


def test_claims_made_before_the_date_range_are_left_out(dfe_client, session):
    build(session, per_cohort=2)
    tomorrow = today() + timedelta(days=1)

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

    assert {as_int(r[2]) for r in cells(html, "uptake")} == {0}  # Funded
    query = urlencode(claimed_from(tomorrow))
    assert {as_int(r["Claimed"]) for r in downloaded(dfe_client, "uptake", query)} == {0}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["31", "2", "2025"], "Claims made from must be a real date"),
        (["1", "", "2025"], "Claims made from must include a month"),
        (["x", "y", "z"], "Claims made from must be a real date"),
        (["1"], "Claims made from must include a month and year"),
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
    # Open, open and full, places, funded, places left in open cohorts, waiting.
    assert summary["SENCO National Professional Qualification"] == [2, 1, 11, 3, 4, 1]
    # The download adds the cohorts (not cancelled) and those with claims waiting.
    [npq_row] = [r for r in downloaded(dfe_client, "cohort-summary") if r["Programme"] == npq.name]
    assert (npq_row["Cohorts"], npq_row["With claims waiting"]) == ("3", "1")
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
        assert f"extracted-{today().isoformat()}" in disposition
    response = dfe_client.get(
        html.select_one("[data-downloads=completion-and-withdrawal] a")["href"]
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["", "Ever started"]
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


def test_local_authorities_are_shown_a_page_at_a_time_and_downloaded_whole(dfe_client, session):
    build(session, per_cohort=2)
    session.commit()

    def names(html):
        table = html.select_one("[data-table=local-authorities]")
        return [text(th) for th in table.select("tbody th")]

    url = "/dashboard?programme=npq-senco"
    first = page(dfe_client.get(url))
    every = sa.func.count()
    total = session.scalar(sa.select(every).select_from(LocalAuthority))
    shown = ROWS_PER_PAGE
    assert total > shown
    assert len(names(first)) == shown
    assert text(first.select_one("[data-rows-shown]")) == (
        f"Showing local authorities 1 to {shown} of {total}; the downloads hold them all."
    )
    next_link = first.select_one("#local-authorities .govuk-pagination__next a")["href"]
    assert next_link == f"{url}&page=2#local-authorities"

    second = page(dfe_client.get(f"{url}&page=2"))
    assert len(names(second)) == shown and not set(names(second)) & set(names(first))
    last = -(-total // shown)
    assert dfe_client.get(f"{url}&page={last}").status_code == 200
    assert dfe_client.get(f"{url}&page={last + 1}").status_code == 404
    assert dfe_client.get(f"{url}&page=two").status_code == 404

    body = dfe_client.get("/dashboard/export/local-authorities.csv").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))) == total + 1


def test_a_programmes_many_allocations_show_the_least_used_and_fold_the_rest(dfe_client, session):
    # However many providers a programme has, its page stays as long as it was.
    ey = factories.programme(session, "ey-senco-l3")
    count = ROWS_SHOWN + 3
    for n in range(count):
        provider = factories.create_provider(session, name=f"Provider {n:02d}")
        factories.create_allocation(session, provider=provider, prog=ey, places=10)
        cohort = factories.create_cohort(session, prog=ey, provider=provider, places=10)
        for _ in range(n):  # the later providers have used more of their allocation
            claim(session, cohort, la_code="201", kind=SettingKind.GROUP_BASED)
    session.commit()
    key = "provider-allocations-ey-senco-l3"

    html = page(dfe_client.get("/dashboard?programme=ey-senco-l3"))

    shown = [row[0] for row in cells(html, key)]
    assert shown == [f"Provider {n:02d}" for n in range(ROWS_SHOWN)]
    folded = html.select_one(f"details[data-more-rows={key}]")
    assert text(folded.select_one("summary")) == "3 more provider allocations, the most used"
    assert [row[0] for row in cells(folded, f"{key}-more")] == [
        f"Provider {n:02d}" for n in range(ROWS_SHOWN, count)
    ]
    assert len(downloaded(dfe_client, key, "programme=ey-senco-l3")) == count


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
    html = page(client.get(url))
    headline = html.select_one("[data-headline=npq-senco] [data-funded]")
    if headline is not None:
        return as_int(text(headline))
    summary = html.select_one("[data-programme=npq-senco]")
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
        filtered = page(dfe_client.get("/dashboard", query_string=claimed_from(today())))
    unfiltered = page(dfe_client.get("/dashboard"))

    assert any(re.search(r"\bFROM claims\b", s) for s in statements)
    assert filtered.select_one("[data-how-counted]")["data-how-counted"] == "claims"
    assert unfiltered.select_one("[data-how-counted]")["data-how-counted"] == "kept"
    # Every claim was made today: the same figures either way.
    assert funded_shown(dfe_client, "/dashboard?" + urlencode(claimed_from(today()))) == (
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
    assert everything.select("[data-headline=ey-senco-l3]")
    assert not only_npq.select("[data-headline=ey-senco-l3]")
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
    html = page(dfe_client.get("/dashboard?programme=npq-senco"))

    headers = {text(th) for th in html.select("table[data-table] thead th")}
    assert "Started" not in headers
    assert "Ever started" in headers
    assert "In training" in downloaded(dfe_client, "completion-and-withdrawal")[0]
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


def test_the_overview_gives_each_programme_a_headline_and_a_page_of_its_own(dfe_client, session):
    build(session, per_cohort=4)
    ey = factories.programme(session, "ey-senco-l3")
    factories.set_programme_places(session, ey, 40)
    session.commit()
    funded = session.scalar(
        sa.select(sa.func.count()).where(Claim.programme_id == ey.id, Claim.holds_place)
    )

    query = urlencode(claimed_from(date(2020, 1, 1)))
    html = page(dfe_client.get(f"/dashboard?{query}"))

    headline = html.select_one("[data-headline=ey-senco-l3]")
    assert text(headline.select_one("[data-share-of-target]")) == (
        f"{funded / 40:.0%} of the target: {funded} of 40 places funded."
    )
    pages = html.select("[data-dashboard-pages] a")
    assert [text(a) for a in pages] == [
        "All programmes",
        "Educational psychologist doctoral training",
        ey.name,
        "SENCO National Professional Qualification",
    ]
    assert [a.get("aria-current") for a in pages] == ["page", None, None, None]
    # Each page keeps the dates chosen; the headline links its programme's page.
    assert pages[2]["href"] == f"/dashboard?programme=ey-senco-l3&{query}"
    assert headline.select_one("a")["href"] == pages[2]["href"]

    one = page(dfe_client.get(pages[2]["href"]))
    assert [a.get("aria-current") for a in one.select("[data-dashboard-pages] a")] == [
        None,
        None,
        "page",
        None,
    ]
    # The page has no room for every column: its downloads have them all.
    allocations = one.select_one("[data-downloads=provider-allocations-ey-senco-l3]")
    assert "with all 10 columns" in text(allocations)
    assert len(one.select("[data-table=provider-allocations-ey-senco-l3] thead th")) == 6


def test_a_programme_page_lists_its_reasons_without_repeating_its_name(dfe_client, session):
    ey = factories.programme(session, "ey-senco-l3")
    cohort = factories.create_cohort(session, prog=ey, places=5)
    places.withdraw(session, claim(session, cohort), reason="Changed job")
    session.commit()

    html = page(dfe_client.get("/dashboard?programme=ey-senco-l3"))
    headers = [text(th) for th in html.select("table[data-table=end-reasons] thead th")]
    assert headers == ["Outcome", "Reason", "Claims"]
    assert cells(html, "end-reasons") == [["Withdrawn", "Changed job", "1"]]
    # The download names the programme, as every download does.
    body = dfe_client.get("/dashboard/export/end-reasons.csv?programme=ey-senco-l3")
    assert body.get_data(as_text=True).splitlines()[1].startswith(ey.name)
