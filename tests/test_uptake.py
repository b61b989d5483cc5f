from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from tests import factories
from tracker import places, progress, uptake
from tracker.models import Claim, ClaimStatus, LocalAuthority, SettingKind
from tracker.uptake import programme_uptake

TODAY = date.today()  # noqa: DTZ011


def test_uptake_counts_each_figure_per_programme(session):
    npq = factories.programme(session, "npq-senco")
    factories.set_programme_places(session, npq, 500)
    cohort = factories.create_cohort(
        session, prog=npq, places=3, starts_on=TODAY - timedelta(days=10)
    )
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)
    claims = [
        places.claim_place(
            session, cohort, full_name=f"P {n}", email=f"p{n}@example.com", setting=school
        ).claim
        for n in range(5)
    ]
    for milestone in ("started", "retained-1", "retained-2", "completed"):
        progress.record_declaration(session, claims[0], milestone_code=milestone, declared_on=TODAY)
    progress.record_declaration(session, claims[1], milestone_code="started", declared_on=TODAY)
    places.withdraw(session, claims[1], reason="Moved abroad")
    places.withdraw(session, claims[2], reason="Changed role")  # its place goes to claims[3]

    figures = {row.programme.code: row for row in programme_uptake(session)}

    npq_figures = figures["npq-senco"]
    assert npq_figures.target == 500
    assert (npq_figures.claimed, npq_figures.funded, npq_figures.ever_started) == (5, 3, 2)
    assert (npq_figures.completed, npq_figures.withdrawn, npq_figures.waiting) == (1, 2, 1)
    assert figures["ep-doctorate"].claimed == 0


# -- the dashboards' figures -------------------------------------------------------------


def _claims(session, cohort, n, *, la_code="201", kind=SettingKind.GROUP_BASED):
    """Claims for n people, each at a new setting (a setting may hold only so many places)."""
    claims = []
    for _ in range(n):
        setting = factories.create_setting(session, kind=kind, la_code=la_code)
        claims.append(
            places.claim_place(
                session,
                cohort,
                full_name=f"Person {setting.id}",
                email=f"p{setting.id}@example.com",
                setting=setting,
            ).claim
        )
    return claims


def test_funded_places_are_counted_in_london_weeks_monday_to_sunday(session):
    ey = factories.programme(session, "ey-senco-l3")
    cohort = factories.create_cohort(session, prog=ey, places=10)
    claims = _claims(session, cohort, 4)
    # 23:30 UTC on a Sunday in summer is 00:30 on Monday in London: the next week.
    claims[0].funded_dt = datetime(2025, 6, 29, 23, 30, tzinfo=UTC)
    claims[1].funded_dt = datetime(2025, 6, 29, 22, 30, tzinfo=UTC)  # Sunday 23:30 in London
    # In winter London is on UTC: 23:30 UTC on a Sunday is still Sunday.
    claims[2].funded_dt = datetime(2025, 12, 28, 23, 30, tzinfo=UTC)
    claims[3].funded_dt = datetime(2025, 12, 29, 0, 0, tzinfo=UTC)
    session.flush()

    weeks = uptake.weekly_funded(session, uptake.Scope(programme_id=ey.id))[ey.id]

    counted = {w.starts_on: w.funded for w in weeks if w.funded}
    assert counted == {
        date(2025, 6, 23): 1,
        date(2025, 6, 30): 1,
        date(2025, 12, 22): 1,
        date(2025, 12, 29): 1,
    }
    assert all(w.starts_on.weekday() == 0 for w in weeks)
    assert [b.starts_on - a.starts_on for a, b in zip(weeks, weeks[1:], strict=False)] == [
        timedelta(days=7)
    ] * (len(weeks) - 1)
    assert weeks[-1].cumulative == 4


def test_the_figures_agree_with_a_direct_count_in_the_database(session):
    ey = factories.programme(session, "ey-senco-l3")
    factories.set_programme_places(session, ey, 1000)
    cohort = factories.create_cohort(
        session, prog=ey, places=6, starts_on=TODAY - timedelta(days=5)
    )
    north = _claims(session, cohort, 5, la_code="888")  # Lancashire, North West
    london = _claims(session, cohort, 3, la_code="201", kind=SettingKind.CHILDMINDER)
    progress.record_declaration(session, north[0], milestone_code="started", declared_on=TODAY)
    places.withdraw(session, north[0], reason="=HYPERLINK(bad)")
    places.withdraw(session, north[1], reason="Changed role")

    def direct(*conditions) -> int:
        return session.scalar(sa.select(sa.func.count(Claim.id)).where(*conditions))

    row = next(r for r in uptake.programme_uptake(session) if r.programme.code == ey.code)
    pid = Claim.programme_id == ey.id
    assert row.claimed == direct(pid)
    assert row.funded == direct(pid, Claim.holds_place.is_(True))
    assert row.waiting == direct(pid, Claim.status == ClaimStatus.WAITING)
    assert row.withdrawn == direct(pid, Claim.status == ClaimStatus.WITHDRAWN)
    assert row.places_left == 1000 - row.funded

    regions = {r.name: r.figures for r in uptake.by_region(session)}
    lancashire = factories.local_authority(session, "888")
    in_north_west = Claim.local_authority_id.in_(
        sa.select(LocalAuthority.id).where(LocalAuthority.region_id == lancashire.region_id)
    )
    assert regions[lancashire.region.name].claimed == direct(in_north_west) == 5
    assert regions[lancashire.region.name].funded == direct(
        in_north_west, Claim.holds_place.is_(True)
    )
    assert sum(f.claimed for f in regions.values()) == direct()
    kinds = {r.key: r.figures for r in uptake.by_setting_kind(session)}
    assert kinds["childminder"].claimed == len(london)
    local = {r.key: r for r in uptake.by_local_authority(session)}
    assert local["888"].figures.claimed == 5 and local["888"].figures.settings_claiming == 5
    providers = uptake.by_provider(session, uptake.Scope(programme_id=ey.id))
    assert [(p.used, p.figures.claimed) for p in providers] == [(row.funded, row.claimed)]
    [cohort_row] = uptake.cohort_places(session, uptake.Scope(programme_id=ey.id))
    assert (cohort_row.places, cohort_row.used) == (6, direct(pid, Claim.holds_place.is_(True)))
    reasons = {(r.status, r.reason): r.count for r in uptake.end_reasons(session)}
    assert reasons == {("withdrawn", "=HYPERLINK(bad)"): 1, ("withdrawn", "Changed role"): 1}


def test_a_setting_with_claims_on_two_programmes_is_one_setting_reached(session):
    ey = factories.programme(session, "ey-senco-l3")
    npq = factories.programme(session, "npq-senco")
    # Eligibility is DfE's to change: let one setting claim on both programmes.
    npq.eligible_setting_kinds = [*npq.eligible_setting_kinds, SettingKind.GROUP_BASED.value]
    nursery = factories.create_setting(session, kind=SettingKind.GROUP_BASED, la_code="888")
    for n, prog in enumerate([ey, ey, npq]):
        cohort = factories.create_cohort(session, prog=prog, places=5)
        places.claim_place(
            session, cohort, full_name=f"Staff {n}", email=f"staff{n}@example.com", setting=nursery
        )
    _claims(session, factories.create_cohort(session, prog=ey, places=5), 2, la_code="888")

    areas = uptake.area_figures(session)
    for rows in (
        uptake.by_region(session, counts=areas),
        uptake.by_local_authority(session, counts=areas),
        uptake.by_setting_kind(session, counts=areas),
    ):
        reached = {r.key: r.figures for r in rows if r.figures.claimed}
        # Three settings made claims: the nursery (three claims, two programmes) and two more.
        assert sum(f.settings_claiming for f in reached.values()) == 3
        assert sum(f.claimed for f in reached.values()) == 5
    per_programme = {r.programme.code: r for r in uptake.programme_uptake(session)}
    assert per_programme["ey-senco-l3"].settings_claiming == 3
    assert per_programme["npq-senco"].settings_claiming == 1


def test_claims_are_counted_by_the_london_date_they_were_made(session):
    ey = factories.programme(session, "ey-senco-l3")
    cohort = factories.create_cohort(session, prog=ey, places=10)
    late, early = _claims(session, cohort, 2)
    late.claimed_dt = datetime(2025, 3, 31, 23, 30, tzinfo=UTC)  # 1 April 00:30 in London
    early.claimed_dt = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)  # 31 March 23:30
    session.flush()

    april = uptake.totals(session, uptake.Scope(claimed_from=date(2025, 4, 1)))
    march = uptake.totals(session, uptake.Scope(claimed_to=date(2025, 3, 31)))

    assert (april.claimed, march.claimed) == (1, 1)


def _weeks(counts: list[int], first: date) -> list[uptake.Week]:
    weeks, total = [], 0
    for i, n in enumerate(counts):
        total += n
        weeks.append(uptake.Week(first + timedelta(weeks=i), n, total))
    return weeks


def test_the_target_date_is_projected_from_the_rate_of_the_last_weeks():
    today = date(2026, 3, 4)  # a Wednesday
    monday = date(2026, 3, 2)
    weeks = _weeks([10] * 8, monday - timedelta(weeks=7))  # 80 funded, 10 a week

    projection = uptake.project(weeks, 200, date(2027, 1, 1), today)
    assert projection.expected_on == monday + timedelta(weeks=12)
    assert "will be reached in the week of 25 May 2026" in projection.sentence(200)

    short = uptake.project(weeks, 200, date(2026, 4, 27), today)  # 8 weeks left
    assert (short.projected_at_end, short.shortfall) == (160, 40)
    assert "40 short of the target" in short.sentence(200)

    reached = uptake.project(weeks, 50, None, today)
    assert reached.reached_on == monday - timedelta(weeks=3)

    stalled = uptake.project(
        _weeks([10, 0, 0, 0, 0, 0, 0, 0, 0], monday - timedelta(weeks=8)), 200, None, today
    )
    assert stalled.shortfall == 190 and stalled.expected_on is None


def test_a_provider_is_behind_when_it_uses_far_less_of_its_allocation_than_its_peers():
    def row(ukprn, allocation, used, code="npq-senco"):
        return uptake.ProviderRow("P", ukprn, code, "N", allocation, used, uptake.Figures())

    rows = [
        row("10000001", 10, 9),
        row("10000002", 10, 2),  # 20% used against 55% for the programme
        row("10000003", 10, 5),
        row("10000004", 10, 1, code="ey-senco-l3"),  # alone on its programme: its own average
    ]

    assert uptake.providers_behind(rows) == {("10000002", "npq-senco")}
