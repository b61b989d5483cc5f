"""The public uptake page: the newest published snapshot, never live figures; counts rounded
to the nearest 5, and no small count shown or derivable."""

import csv
import io
import random
import re
import zipfile
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import heading, page, text
from tests.test_disclosure import worked_out
from tests.web.test_dashboard import build, counting_statements
from tracker import places, progress, publication
from tracker.disclosure import Group, rounded
from tracker.figures import DEFINITIONS
from tracker.models import (
    Claim,
    ClaimStatus,
    LocalAuthority,
    PublishedSnapshot,
    Region,
    SettingKind,
)
from tracker.models.base import utcnow
from tracker.reminders.time import LONDON


def _labels(*names: str) -> tuple[str, ...]:
    return tuple(DEFINITIONS[name].label for name in names)


CLAIMED, FUNDED = _labels("claimed", "funded")
PARTS_OF_CLAIMS = _labels("waiting", "ended_before_training", "funded")
PARTS_OF_FUNDED = _labels("funded_not_started", "in_training", "completed", "ended_during_training")
CLAIMED_AND_PARTS = (CLAIMED, *PARTS_OF_CLAIMS, *PARTS_OF_FUNDED)
_people = iter(range(1, 1_000_000))


def load(session, seed: int, la_codes: list[str], claims: int):
    """Claims on the early years programme spread unevenly over some areas, with outcomes."""
    rng = random.Random(seed)
    prog = factories.programme(session, "ey-senco-l3")
    cohorts = [
        factories.create_cohort(
            session,
            prog=prog,
            places=rng.randint(3, 12),
            starts_on=date.today() - timedelta(days=7),  # noqa: DTZ011
        )
        for _ in range(3)
    ]
    made = []
    for _ in range(claims):
        setting = factories.create_setting(session, la_code=rng.choice(la_codes))
        n = next(_people)
        made.append(
            places.claim_place(
                session,
                rng.choice(cohorts),
                full_name=f"P {n}",
                email=f"p{n}@example.com",
                setting=setting,
            ).claim
        )
    for claim in made:
        roll = rng.random()
        if claim.status != ClaimStatus.FUNDED:
            continue
        if roll < 0.4:
            progress.record_declaration(
                session,
                claim,
                milestone_code="started",
                declared_on=date.today(),  # noqa: DTZ011
            )
            if roll < 0.1:
                places.withdraw(session, claim, reason="Left")
        elif roll < 0.5:
            places.withdraw(session, claim, reason="Changed role")
    session.commit()
    return prog


def public_table(html, code: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    table = html.select_one(f"table[data-table=public-{code}]")
    headers = [text(th) for th in table.select("thead th")]
    rows = {}
    for tr in table.select("tbody tr"):
        values = [text(c) for c in tr.select("th, td")]
        rows[values[0]] = dict(zip(headers[1:], values[1:], strict=True))
    return headers, rows


def groups_of(rows: dict[str, dict[str, str]], headers: list[str]) -> list[Group]:
    """The sums a reader can do with the published table: along rows and down columns."""
    regions = [name for name in rows if name != "England"]
    groups = []
    for name in rows:
        groups.append(Group((name, CLAIMED), tuple((name, h) for h in PARTS_OF_CLAIMS)))
        groups.append(Group((name, FUNDED), tuple((name, h) for h in PARTS_OF_FUNDED)))
    for header in headers[1:]:
        groups.append(Group(("England", header), tuple((r, header) for r in regions)))
    return groups


def publish(session, now: datetime | None = None) -> publication.Publication:
    published = publication.publish(session, by="test", now=now)
    session.commit()
    return published


def london(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LONDON)


def next_week() -> datetime:
    return utcnow() + timedelta(days=7)


def claims_in(session, cohort, la_code: str, count: int) -> None:
    for _ in range(count):
        n = next(_people)
        places.claim_place(
            session,
            cohort,
            full_name=f"P {n}",
            email=f"p{n}@example.com",
            setting=factories.create_setting(
                session, la_code=la_code, kind=SettingKind.GROUP_BASED
            ),
        )
    session.commit()


def figures_shown(client) -> str:
    """Everything the page shows of the figures: its tables, charts and paragraphs."""
    html = page(client.get("/public/uptake"))
    return str(html.select_one("main"))


def snapshots(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(PublishedSnapshot))


# -- before anything is published ---------------------------------------------------------------


def test_before_the_first_publication_the_page_says_so_and_shows_no_live_figure(client, session):
    prog = load(session, 1, ["201", "888"], claims=12)

    response = client.get("/public/uptake")

    assert response.status_code == 200
    html = page(response)
    assert heading(response) == "Uptake of SEND workforce training"
    assert text(html.select_one("[data-not-published]")) == "No figures have been published yet."
    assert html.select("table") == []
    assert html.select_one("[data-publication]") is None
    due = publication.next_publication(session)
    assert due.weekday() == 3 and (due.hour, due.minute) == (9, 30)
    assert text(html.select_one("[data-next-publication]")).startswith("Thursday ")
    assert f"{due.day} {due:%B %Y} at 9:30am" in text(html.select_one("[data-next-publication]"))
    assert client.get(f"/public/uptake/export/public-{prog.code}.csv").status_code == 404


# -- the published snapshot ---------------------------------------------------------------------


def test_the_page_states_its_dates_and_its_rule(client, session):
    load(session, 2, ["201", "888"], claims=12)
    snapshot = publish(session).snapshot

    html = page(client.get("/public/uptake"))

    today = utcnow().astimezone(LONDON).date()
    assert snapshot.figures_on == today
    assert text(html.select_one("[data-figures-on]")) == f"{today.day} {today:%B %Y}"
    assert text(html.select_one("[data-published]")).startswith(f"{today.day} {today:%B %Y} at ")
    # This week's figures are out: the next are the Thursday of next week's.
    following = publication.scheduled_in_week(today + timedelta(days=7))
    assert text(html.select_one("[data-next-publication]")) == (
        f"Thursday {following.day} {following:%B %Y} at 9:30am"
    )
    assert "do not change between publications" in text(html.select_one("[data-publication-rule]"))
    rule = text(html.select_one("[data-suppression-rule]"))
    assert "Counts are rounded to the nearest 5" in rule
    assert "Counts from 1 to 4 (before rounding) are shown as “c”" in rule
    assert "subtracting" in rule
    assert "Zero is shown as 0" in rule


def test_a_new_claim_does_not_change_the_page_until_the_next_publication(client, session):
    prog = factories.programme(session, "ey-senco-l3")
    cohort = factories.create_cohort(session, prog=prog, places=100)
    claims_in(session, cohort, "888", 12)
    claims_in(session, cohort, "330", 9)
    publish(session)
    before = figures_shown(client)
    href = f"/public/uptake/export/public-{prog.code}.csv"
    download_before = client.get(href).get_data()
    _, rows = public_table(page(client.get("/public/uptake")), prog.code)
    assert rows["England"][CLAIMED] == "20"  # 21, rounded

    # Enough claims to move every figure they touch, however it is rounded or hidden.
    claims_in(session, cohort, "888", 3)
    claims_in(session, cohort, "201", 6)
    publish(session)  # again this week: nothing new is published

    assert figures_shown(client) == before
    assert client.get(href).get_data() == download_before

    publish(session, now=next_week())

    _, rows = public_table(page(client.get("/public/uptake")), prog.code)
    assert rows["England"][CLAIMED] == "30"
    assert rows["North West"][CLAIMED] == "15"
    assert rows["London"][CLAIMED] == "5"
    assert client.get(href).get_data() != download_before


def test_publishing_twice_in_a_week_makes_one_snapshot(session):
    prog = factories.programme(session, "ey-senco-l3")
    cohort = factories.create_cohort(session, prog=prog, places=100)
    claims_in(session, cohort, "888", 6)
    monday = datetime(2025, 3, 3, 8, 0, tzinfo=LONDON)

    first = publish(session, now=monday)
    claims_in(session, cohort, "888", 10)
    again = publish(session, now=monday + timedelta(days=6, hours=15))  # Sunday, 11pm

    assert first.created and not again.created
    assert again.snapshot.id == first.snapshot.id
    assert snapshots(session) == 1
    assert first.snapshot.week_of == date(2025, 3, 3)
    assert first.snapshot.figures_on == date(2025, 3, 3)
    assert first.snapshot.published_by == "test"

    following = publish(session, now=monday + timedelta(days=7))

    assert following.created and snapshots(session) == 2
    assert publication.latest(session).id == following.snapshot.id


def test_a_publication_that_meets_another_made_meanwhile_returns_it(session, monkeypatch):
    # Two processes publishing at one moment both find no snapshot for the week; the one
    # that inserts second meets the unique week and takes the first one's snapshot.
    made = publish(session).snapshot
    real_of_week = publication.of_week
    calls = []

    def not_yet_the_first_time(session, day):
        calls.append(day)
        return None if len(calls) == 1 else real_of_week(session, day)

    monkeypatch.setattr(publication, "of_week", not_yet_the_first_time)

    again = publication.publish(session, by="another process")
    session.commit()

    assert not again.created
    assert again.snapshot.id == made.id
    assert len(calls) == 2
    assert snapshots(session) == 1


# -- rounding and suppression -------------------------------------------------------------------


def test_counts_are_rounded_to_5_small_ones_hidden_with_a_partner_and_zero_shown(client, session):
    prog = factories.programme(session, "ey-senco-l3")
    cohort = factories.create_cohort(session, prog=prog, places=100)
    for la_code, count in (("201", 2), ("888", 12), ("330", 9)):
        claims_in(session, cohort, la_code, count)
    publish(session)

    headers, rows = public_table(page(client.get("/public/uptake")), prog.code)

    claims = {region: values[CLAIMED] for region, values in rows.items()}
    assert claims["London"] == "c"
    assert claims["England"] == "25"  # 23, rounded on its own
    # 23 - 12 - 9 would give London's 2: so West Midlands' 9 is hidden too.
    assert claims["West Midlands"] == "c"
    assert claims["North West"] == "10"  # 12, rounded
    assert claims["Not known"] == "0"
    assert rows["North West"][PARTS_OF_CLAIMS[0]] == "0"  # no one waits
    summary = text(page(client.get("/public/uptake")).select_one(f"#chart-public-{prog.code}-desc"))
    assert "London c" in summary and "North West 10" in summary


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_small_count_is_shown_or_can_be_worked_out(client, session, seed):
    rng = random.Random(seed)
    all_codes = session.scalars(sa.select(LocalAuthority.la_code)).all()
    prog = load(session, seed, rng.sample(all_codes, 6), claims=rng.randint(12, 30))
    publish(session)

    response = client.get("/public/uptake")
    html = page(response)
    headers, rows = public_table(html, prog.code)

    hidden = {(r, h) for r, values in rows.items() for h, v in values.items() if v == "c"}
    shown = {
        (r, h): int(v.replace(",", "")) for r, vs in rows.items() for h, v in vs.items() if v != "c"
    }
    assert hidden, "no count hidden: the test shows nothing"
    assert all(v % 5 == 0 for v in shown.values())
    # Nothing hidden follows from the shown counts by any sum along rows or down columns.
    assert worked_out(groups_of(rows, headers), hidden) == set()
    # What is shown is true: it is a direct count, rounded.
    direct = session.scalar(sa.select(sa.func.count(Claim.id)).where(Claim.programme_id == prog.id))
    if ("England", CLAIMED) in shown:
        assert shown[("England", CLAIMED)] == rounded(direct)
    regions = set(session.scalars(sa.select(Region.name))) | {"Not known", "England"}
    assert set(rows) <= regions
    # The chart of the table says "c" where the table does, and draws no bar for it.
    svg_texts = [t.text for t in html.select(f"#chart-public-{prog.code}-title ~ text")]
    for region, values in rows.items():
        if region != "England" and values[FUNDED] == "c":
            assert svg_texts[svg_texts.index(region) + 1] == "c"
    summary = text(html.select_one(f"#chart-public-{prog.code}-desc"))
    for region, values in rows.items():
        if region != "England":
            assert f"{region} {values[FUNDED]}" in summary
    # The download holds the same published table.
    href = html.select_one(f"[data-downloads=public-{prog.code}] a")["href"]
    body = client.get(href).get_data(as_text=True).lstrip("\ufeff")
    exported = {row[0]: row[1:] for row in list(csv.reader(io.StringIO(body)))[1:]}
    for region, values in rows.items():
        assert [v.replace(",", "") for v in values.values()] == exported[region]


# -- downloads ----------------------------------------------------------------------------------


def test_the_downloads_are_the_published_tables_named_by_their_date(client, session):
    prog = load(session, 4, ["201", "888", "330"], claims=20)
    snapshot = publish(session).snapshot

    csv_response = client.get(f"/public/uptake/export/public-{prog.code}.csv")
    xlsx_response = client.get(f"/public/uptake/export/public-{prog.code}.xlsx")

    day = snapshot.figures_on.isoformat()
    assert csv_response.status_code == 200
    assert (
        f'filename="public-{prog.code}_figures-for-{day}.csv"'
        in (csv_response.headers["Content-Disposition"])
    )
    workbook = zipfile.ZipFile(io.BytesIO(xlsx_response.get_data()))
    strings = workbook.read("xl/sharedStrings.xml").decode()
    assert "Counts are rounded to the nearest 5" in strings
    assert f"Figures for {snapshot.figures_on.day} {snapshot.figures_on:%B %Y}" in strings
    assert client.get("/public/uptake/export/public-nothing.csv").status_code == 404
    assert client.get(f"/public/uptake/export/public-{prog.code}.pdf").status_code == 404


# -- cost: the page reads the snapshot; publishing reads the kept counts ------------------------


def test_the_page_reads_one_snapshot_whatever_the_data(client, session):
    build(session, per_cohort=2)
    publish(session)
    assert client.get("/public/uptake").status_code == 200
    session.commit()
    with counting_statements() as small:
        assert client.get("/public/uptake").status_code == 200

    build(session, per_cohort=6, cohorts=3, la_codes=("201", "888", "330", "926", "380"))
    publish(session, now=next_week())
    with counting_statements() as large:
        assert client.get("/public/uptake").status_code == 200

    assert len(large) == len(small)
    assert not [s for s in large if re.search(r"\bclaims?\b|claim_counts", s)]


def test_publishing_reads_the_kept_counts_in_queries_that_do_not_grow_with_the_data(session):
    build(session, per_cohort=2)
    session.commit()
    with counting_statements() as small:
        publish(session)

    build(session, per_cohort=6, cohorts=3, la_codes=("201", "888", "330", "926", "380"))
    session.commit()
    with counting_statements() as large:
        publish(session, now=next_week())

    assert session.scalar(sa.select(sa.func.count(Claim.id))) > 40
    assert len(large) == len(small), "\n".join(sorted(set(large) ^ set(small)))
    reading_claims = [s for s in large if re.search(r"\bFROM claims\b|JOIN claims\b", s)]
    assert reading_claims == []


def test_every_count_the_table_heads_is_defined_on_the_page(client, session):
    build(session, per_cohort=2)
    publish(session)
    html = page(client.get("/public/uptake"))

    listed = html.select_one("[data-definitions]")
    defined = {
        text(row.select_one("dt")): text(row.select_one("dd"))
        for row in listed.select(".govuk-summary-list__row")
    }
    labels = {d.label: d for d in DEFINITIONS.values()}
    headed = {
        text(th)
        for table in html.select("table[data-table]")
        for th in table.select("thead th")
        if text(th) in labels
    }
    assert headed == set(CLAIMED_AND_PARTS)
    for label in headed:
        meaning = labels[label].meaning
        assert defined[label] == f"{meaning[0].upper()}{meaning[1:]}."


# -- when the next publication is due -----------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "published_this_week", "due"),
    [
        (london(2025, 3, 3, 12, 0), False, london(2025, 3, 6, 9, 30)),  # Monday
        (london(2025, 3, 6, 9, 29), False, london(2025, 3, 6, 9, 30)),  # Thursday
        (london(2025, 3, 6, 9, 30), False, london(2025, 3, 13, 9, 30)),
        (london(2025, 3, 4, 12, 0), True, london(2025, 3, 13, 9, 30)),  # published early
        (london(2025, 3, 9, 23, 59), True, london(2025, 3, 13, 9, 30)),  # Sunday
        # The clocks go forward on 30 March 2025: still 9:30am in London.
        (london(2025, 3, 28, 12, 0), True, london(2025, 4, 3, 9, 30)),
    ],
)
def test_the_next_publication_is_the_next_thursday_at_half_past_nine_in_a_week_without_one(
    session, now, published_this_week, due
):
    if published_this_week:
        publish(session, now=now)

    assert publication.next_publication(session, now) == due
    assert publication.next_publication(session, now).utcoffset() == due.utcoffset()


def test_the_scheduled_publication_waits_for_thursday_half_past_nine(session):
    wednesday = datetime(2025, 3, 5, 18, 0, tzinfo=LONDON)
    thursday = datetime(2025, 3, 6, 9, 30, tzinfo=LONDON)

    assert publication.publish_when_due(session, wednesday) is None
    made = publication.publish_when_due(session, thursday)
    assert made is not None and made.created
    assert made.snapshot.published_by == publication.SCHEDULE
    # A scheduler started on Saturday after a week with one already published does nothing.
    assert publication.publish_when_due(session, thursday + timedelta(days=2)) is None
    # A scheduler down all Thursday publishes when it starts on Friday.
    assert publication.publish_when_due(session, thursday + timedelta(days=8)).created
    session.commit()
    assert snapshots(session) == 2
