"""Checks that loaded data is what the place ledger allows: run after every demo load.

Each check counts from the claims with the ledger's own definitions (``tracker.places``)
and the figures' (``tracker.figures``): no cap of any level is exceeded, the counts the
database keeps equal the claims, the ledger would fund no claim still waiting, and each
claim's declarations came in the programme's order. ``over_cap`` is also what the
benchmarks check their larger data sets with.
"""

from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import figures
from tracker.models import (
    Allocation,
    Claim,
    ClaimStatus,
    Cohort,
    Declaration,
    LocalAuthority,
    Milestone,
    Programme,
    ProgrammeTarget,
    RegionQuota,
)
from tracker.models.programme import region_quota_regions
from tracker.places import (
    fund_waiting_claims,
    held_at_setting,
    lock_programme,
    london_today,
    target_in_force,
)

HOLDING = Claim.holds_place.is_(True)


def _over(query: sa.Select, cap) -> sa.Select:
    """The groups of ``query`` (claims holding places) that hold more than ``cap``."""
    return query.having(sa.func.count() > cap)


def over_cap(session: Session, *, today: date | None = None) -> dict[str, int]:
    """How many programmes, allocations, cohorts, region quotas and settings hold more
    places than they may: only the levels that do, each with how many of its caps."""
    today = today or london_today()
    target = target_in_force(sa.select(ProgrammeTarget.places), Programme.id, today)
    quota_claims = (
        sa.select(RegionQuota.id, RegionQuota.places, RegionQuota.per_cohort, Claim.cohort_id)
        .join(region_quota_regions, region_quota_regions.c.region_quota_id == RegionQuota.id)
        .join(LocalAuthority, LocalAuthority.region_id == region_quota_regions.c.region_id)
        .join(
            Claim,
            sa.and_(
                Claim.local_authority_id == LocalAuthority.id,
                Claim.programme_id == RegionQuota.programme_id,
                HOLDING,
            ),
        )
        .subquery()
    )
    scope = sa.case((quota_claims.c.per_cohort, quota_claims.c.cohort_id), else_=0)
    queries = {
        "programme": _over(
            sa.select(Programme.id)
            .join(Claim, sa.and_(Claim.programme_id == Programme.id, HOLDING))
            .group_by(Programme.id),
            target.scalar_subquery(),
        ),
        "allocation": _over(
            sa.select(Cohort.provider_id, Cohort.programme_id)
            .join(Claim, sa.and_(Claim.cohort_id == Cohort.id, HOLDING))
            .outerjoin(
                Allocation,
                sa.and_(
                    Allocation.provider_id == Cohort.provider_id,
                    Allocation.programme_id == Cohort.programme_id,
                ),
            )
            .group_by(Cohort.provider_id, Cohort.programme_id, Allocation.places),
            sa.func.coalesce(Allocation.places, 0),
        ),
        "cohort": _over(
            sa.select(Cohort.id)
            .join(Claim, sa.and_(Claim.cohort_id == Cohort.id, HOLDING))
            .group_by(Cohort.id, Cohort.places),
            Cohort.places,
        ),
        "region quota": _over(
            sa.select(quota_claims.c.id, scope).group_by(
                quota_claims.c.id, quota_claims.c.places, scope
            ),
            quota_claims.c.places,
        ),
        "setting": _over(
            sa.select(Claim.setting_id, Claim.programme_id)
            .join(Programme, Claim.programme_id == Programme.id)
            .where(held_at_setting(), Claim.setting_id.is_not(None))
            .where(Programme.places_per_setting.is_not(None))
            .group_by(Claim.setting_id, Claim.programme_id, Programme.places_per_setting),
            Programme.places_per_setting,
        ),
    }
    found = {level: len(session.execute(query).all()) for level, query in queries.items()}
    return {level: n for level, n in found.items() if n}


def fundable_now(session: Session) -> dict[str, int]:
    """How many waiting claims on each programme the ledger would fund now (none, when
    every operation has funded what fits): found by the ledger, then undone."""
    found = {}
    savepoint = session.begin_nested()
    try:
        for programme in session.scalars(sa.select(Programme).order_by(Programme.id)):
            lock_programme(session, programme.id)
            promoted = fund_waiting_claims(session, programme)
            if promoted:
                found[programme.code] = len(promoted)
    finally:
        savepoint.rollback()
    return found


def declarations_out_of_order(session: Session, *, today: date | None = None) -> int:
    """How many claims have declarations not in the programme's order, not dated in order,
    dated in the future, or a status that does not follow from them. (The cohort's start
    is not asked for: a participant back from a deferral may go on in a later cohort.)"""
    today = today or london_today()
    milestones = dict(
        session.execute(
            sa.select(Milestone.programme_id, sa.func.count()).group_by(Milestone.programme_id)
        ).all()
    )
    declared = defaultdict(list)
    for claim_id, position, declared_on in session.execute(
        sa.select(Declaration.claim_id, Milestone.position, Declaration.declared_on)
        .join(Milestone, Declaration.milestone_id == Milestone.id)
        .where(Declaration.voided_dt.is_(None))
        .order_by(Declaration.claim_id, Declaration.id)
    ):
        declared[claim_id].append((position, declared_on))
    wrong = 0
    for claim_id, programme_id, status, started, completed in session.execute(
        sa.select(
            Claim.id,
            Claim.programme_id,
            Claim.status,
            Claim.started_dt.is_not(None),
            Claim.completed_dt.is_not(None),
        )
    ):
        made = declared.get(claim_id, [])
        positions = [position for position, _day in made]
        days = [day for _position, day in made]
        in_order = positions == list(range(1, len(made) + 1)) and days == sorted(days)
        dated = not days or days[-1] <= today
        complete = len(made) == milestones[programme_id]
        follows = (
            started == bool(made)
            and completed == complete
            and (status != ClaimStatus.COMPLETED or complete)
            and (status not in (ClaimStatus.WAITING, ClaimStatus.FUNDED) or not made)
        )
        wrong += not (in_order and dated and follows)
    return wrong


def problems(session: Session) -> list[str]:
    """Everything the checks find wrong with the data, in words; empty when all is well."""
    found = []
    over = over_cap(session)
    if over:
        levels = ", ".join(f"{n:,} at the {level} level" for level, n in over.items())
        found.append(f"caps exceeded: {levels}")
    drift = figures.check(session)
    if drift:
        found.append(f"{len(drift):,} kept counts differ from the claims, such as {drift[0]}")
    fundable = fundable_now(session)
    if fundable:
        claims = ", ".join(f"{n:,} on {code}" for code, n in fundable.items())
        found.append(f"waiting claims the ledger would fund now: {claims}")
    wrong = declarations_out_of_order(session)
    if wrong:
        found.append(f"{wrong:,} claims whose declarations break the order of milestones")
    return found
