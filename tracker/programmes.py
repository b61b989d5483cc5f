"""DfE's levers on a programme: its target over time, the places allocated to providers and
the places its region quotas allow. Each is a ledger operation, under the programme's lock."""

import logging
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import figures
from tracker.errors import DomainError
from tracker.models import Allocation, Programme, ProgrammeTarget, Provider, RegionQuota, User
from tracker.places import (
    Capacity,
    current_target,
    fund_waiting_claims,
    lock_programme,
    retrying,
)

logger = logging.getLogger(__name__)


@retrying
def set_target(
    session: Session,
    programme: Programme,
    *,
    places: int,
    effective_on: date,
    note: str,
    by: User | None = None,
) -> ProgrammeTarget:
    """Record a new national target; earlier ones stay in the history.

    A target may be set below the places already funded (they stay funded; no more are
    given until it rises again). One that takes effect later funds waiting claims on its
    date (``places.fund_when_due``, run daily by the scheduler).
    """
    if places < 0:
        raise DomainError("Enter a number of places of 0 or more", field="places")
    note = note.strip()
    if not note:
        raise DomainError("Enter a note saying why the target changed", field="note")
    lock_programme(session, programme.id)
    target = ProgrammeTarget(
        programme=programme,
        places=places,
        effective_on=effective_on,
        note=note,
        created_by_id=by.id if by else None,
    )
    session.add(target)
    session.flush()
    logger.info("Target of %s set to %d from %s", programme.code, places, effective_on)
    fund_waiting_claims(session, programme)
    return target


@retrying
def set_allocation(
    session: Session, provider: Provider, programme: Programme, *, places: int
) -> Allocation:
    """Set the places a provider may fill on a programme: never above the programme's places,
    never below the places the provider's claims hold now (counted under the lock)."""
    if places < 0:
        raise DomainError("Enter a number of places of 0 or more", field="places")
    lock_programme(session, programme.id)
    target = current_target(session, programme.id)
    if target is not None and places > target.places:
        raise DomainError(
            f"An allocation cannot be more than the programme's {target.places:,} places",
            field="places",
        )
    counted = figures.by_provider(session, provider_id=provider.id)
    held = counted.get((provider.id, programme.id), figures.Figures()).funded
    if places < held:
        raise DomainError(
            f"{provider.name} holds {held:,} funded places on {programme.name}:"
            f" enter {held:,} or more",
            field="places",
        )
    allocation = session.scalar(
        sa.select(Allocation).where(
            Allocation.provider_id == provider.id, Allocation.programme_id == programme.id
        )
    )
    if allocation is None:
        allocation = Allocation(provider=provider, programme=programme, places=places)
        session.add(allocation)
    else:
        allocation.places = places
    session.flush()
    logger.info("Allocation of %s on %s set to %d", provider.ukprn, programme.code, places)
    fund_waiting_claims(session, programme)
    return allocation


def places_held_under_quotas(session: Session, programme: Programme) -> dict[int, int]:
    """The most funded places held under each of the programme's region quotas now, by
    quota id: over the programme, or in the fullest cohort for a quota per cohort. One read
    of the ledger's counts for every quota (``set_region_quota`` reads it under the lock)."""
    held: dict[int, int] = {}
    for (quota_id, _), used in Capacity.load(session, programme).quota_used.items():
        held[quota_id] = max(held.get(quota_id, 0), used)
    return held


def quota_places_held(session: Session, quota: RegionQuota) -> int:
    """The most funded places held under ``quota`` now (see ``places_held_under_quotas``)."""
    return places_held_under_quotas(session, quota.programme).get(quota.id, 0)


@retrying
def set_region_quota(
    session: Session, quota: RegionQuota, *, places: int, by: User | None = None
) -> RegionQuota:
    """Change the places a region quota allows: never below the places its regions' claims
    hold now (counted under the lock); waiting claims that now fit are funded at once."""
    if places < 0:
        raise DomainError("Enter a number of places of 0 or more", field="places")
    lock_programme(session, quota.programme_id)
    held = quota_places_held(session, quota)
    if places < held:
        where = "one cohort" if quota.per_cohort else quota.programme.name
        raise DomainError(
            f"Claims in {quota.name} hold {held:,} funded place{'' if held == 1 else 's'}"
            f" on {where}:"
            f" enter {held:,} or more",
            field="places",
        )
    quota.places = places
    session.flush()
    logger.info(
        "Region quota %s on %s set to %d%s",
        quota.name,
        quota.programme.code,
        places,
        f" by account {by.id}" if by is not None else "",
    )
    fund_waiting_claims(session, quota.programme)
    return quota
