"""The public uptake page: no sign-in, regional figures, and no small count shown or derivable."""

import csv
import io
import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import heading, page, text
from tests.test_disclosure import worked_out
from tracker import places, progress
from tracker.disclosure import Group
from tracker.figures import DEFINITIONS
from tracker.models import Claim, ClaimStatus, LocalAuthority, Region, SettingKind


def _labels(*names: str) -> tuple[str, ...]:
    return tuple(DEFINITIONS[name].label for name in names)


CLAIMED, FUNDED = _labels("claimed", "funded")
PARTS_OF_CLAIMS = _labels("waiting", "ended_before_training", "funded")
PARTS_OF_FUNDED = _labels("funded_not_started", "in_training", "completed", "ended_during_training")
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


def test_the_page_needs_no_sign_in_and_states_its_rule(client):
    response = client.get("/public/uptake")

    assert response.status_code == 200
    assert heading(response) == "Uptake of SEND workforce training"
    rule = text(page(response).select_one("[data-suppression-rule]"))
    assert "Counts from 1 to 4 are shown as “c”" in rule
    assert "subtracting" in rule


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_small_count_is_shown_or_can_be_worked_out(client, session, seed):
    rng = random.Random(seed)
    all_codes = session.scalars(sa.select(LocalAuthority.la_code)).all()
    prog = load(session, seed, rng.sample(all_codes, 6), claims=rng.randint(12, 30))

    response = client.get("/public/uptake")
    html = page(response)
    headers, rows = public_table(html, prog.code)

    hidden = {(r, h) for r, values in rows.items() for h, v in values.items() if v == "c"}
    shown = {
        (r, h): int(v.replace(",", "")) for r, vs in rows.items() for h, v in vs.items() if v != "c"
    }
    assert not any(0 < v < 5 for v in shown.values())
    # Nothing hidden follows from the shown counts by any sum along rows or down columns.
    assert worked_out(groups_of(rows, headers), hidden) == set()
    # What is shown is true: it agrees with a direct count.
    for (region, header), value in shown.items():
        if region == "England" and header == CLAIMED:
            assert value == session.scalar(
                sa.select(sa.func.count(Claim.id)).where(Claim.programme_id == prog.id)
            )
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
    # The download holds the same suppressed table.
    href = html.select_one(f"[data-downloads=public-{prog.code}] a")["href"]
    body = client.get(href).get_data(as_text=True).lstrip("\ufeff")
    exported = {row[0]: row[1:] for row in list(csv.reader(io.StringIO(body)))[1:]}
    for region, values in rows.items():
        assert [v.replace(",", "") for v in values.values()] == exported[region]


def test_a_single_small_region_is_hidden_with_a_partner(client, session):
    prog = factories.programme(session, "ey-senco-l3")
    cohort = factories.create_cohort(session, prog=prog, places=100)
    for la_code, count in (("201", 2), ("888", 12), ("330", 9)):
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

    headers, rows = public_table(page(client.get("/public/uptake")), prog.code)

    claims = {region: values[CLAIMED] for region, values in rows.items()}
    assert claims["London"] == "c"
    assert claims["England"] == "23"
    # 23 - 12 - 9 would give London's 2: so West Midlands' 9 is hidden too.
    assert claims["West Midlands"] == "c"
    assert claims["North West"] == "12"
