"""DfE's levers on a programme: its target over time and the places allocated to providers."""

import logging
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.errors import DomainError
from tracker.models import Allocation, Claim, Cohort, Programme, ProgrammeTarget, Provider, User
from tracker.places import current_target, fund_waiting_claims, lock_programme, retrying

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
    held = places_used(session, programme_id=programme.id, provider_id=provider.id)
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


def places_used(session: Session, *, programme_id: int, provider_id: int | None = None) -> int:
    """Count the funded places in use on a programme, or by one provider on it."""
    query = (
        sa.select(sa.func.count())
        .select_from(Claim)
        .where(Claim.programme_id == programme_id, Claim.holds_place.is_(True))
    )
    if provider_id is not None:
        query = query.join(Cohort, Claim.cohort_id == Cohort.id).where(
            Cohort.provider_id == provider_id
        )
    return session.scalar(query)


def places_used_by_programme(session: Session, *, provider_id: int) -> dict[int, int]:
    """Count a provider's funded places in use on each programme, in one query."""
    rows = session.execute(
        sa.select(Claim.programme_id, sa.func.count())
        .select_from(Claim)
        .join(Cohort, Claim.cohort_id == Cohort.id)
        .where(Cohort.provider_id == provider_id, Claim.holds_place.is_(True))
        .group_by(Claim.programme_id)
    )
    return dict(rows.all())
