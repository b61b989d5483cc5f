"""Cohorts: created and changed by providers within their allocation."""

import logging
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import figures
from tracker.errors import DomainError
from tracker.models import (
    Allocation,
    Cohort,
    CohortStatus,
    Programme,
    Provider,
)
from tracker.places import fund_waiting_claims, lock_programme, release_waiting, retrying

logger = logging.getLogger(__name__)


def _allocation_places(session: Session, provider: Provider, programme: Programme) -> int:
    places = session.scalar(
        sa.select(Allocation.places).where(
            Allocation.provider_id == provider.id, Allocation.programme_id == programme.id
        )
    )
    if places is None:
        raise DomainError(
            f"{provider.name} has no allocation of places on {programme.name}", field="programme"
        )
    return places


def _check(name: str, starts_on: date, ends_on: date, places: int, allocation: int) -> str:
    name = " ".join(name.split())
    if not name:
        raise DomainError("Enter a name for the cohort", field="name")
    if ends_on <= starts_on:
        raise DomainError("The end date must be after the start date", field="ends_on")
    if places < 1:
        raise DomainError("Enter a number of places of 1 or more", field="places")
    if places > allocation:
        raise DomainError(
            f"A cohort cannot offer more than the allocation of {allocation:,} places",
            field="places",
        )
    return name


@retrying
def create_cohort(
    session: Session,
    provider: Provider,
    programme: Programme,
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    places: int,
) -> Cohort:
    """Create an open cohort offering places within the provider's allocation."""
    # A ledger operation: the allocation it is checked against cannot change meanwhile.
    lock_programme(session, programme.id)
    name = _check(
        name, starts_on, ends_on, places, _allocation_places(session, provider, programme)
    )
    _check_name_free(session, provider.id, programme.id, name)
    cohort = Cohort(
        provider=provider,
        programme=programme,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        places=places,
        status=CohortStatus.OPEN,
    )
    session.add(cohort)
    session.flush()
    logger.info("Cohort %s created for %s on %s", cohort.id, provider.ukprn, programme.code)
    return cohort


def _check_name_free(
    session: Session, provider_id: int, programme_id: int, name: str, cohort_id: int | None = None
) -> None:
    taken = session.scalar(
        sa.select(Cohort.id).where(
            Cohort.provider_id == provider_id,
            Cohort.programme_id == programme_id,
            Cohort.name == name,
            Cohort.id != (cohort_id or 0),
        )
    )
    if taken is not None:
        raise DomainError(f"You already have a cohort called {name}", field="name")


RELEASED_REASONS = {
    CohortStatus.CLOSED: "the cohort closed before a funded place came free",
    CohortStatus.CANCELLED: "the cohort was cancelled",
}
# Which status a cohort may move to from each: a cancelled cohort stays cancelled.
NEXT_STATUSES = {
    CohortStatus.OPEN: {CohortStatus.OPEN, CohortStatus.CLOSED, CohortStatus.CANCELLED},
    CohortStatus.CLOSED: {CohortStatus.OPEN, CohortStatus.CLOSED, CohortStatus.CANCELLED},
    CohortStatus.CANCELLED: {CohortStatus.CANCELLED},
}


@retrying
def update_cohort(
    session: Session,
    cohort: Cohort,
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    places: int,
    status: CohortStatus,
) -> Cohort:
    """Change a cohort; its places can fall no lower than the places already funded in it.

    A ledger operation: the places funded are counted under the programme's lock, so a
    claim cannot slip in between the count and the change. Claims still waiting when the
    cohort closes or is cancelled are released, with the people involved told.
    """
    lock_programme(session, cohort.programme_id)
    session.refresh(cohort)
    if status not in NEXT_STATUSES[cohort.status]:
        raise DomainError(
            f"A {cohort.status.value} cohort cannot be made {status.value}", field="status"
        )
    name = _check(
        name,
        starts_on,
        ends_on,
        places,
        _allocation_places(session, cohort.provider, cohort.programme),
    )
    _check_name_free(session, cohort.provider_id, cohort.programme_id, name, cohort.id)
    counted = figures.by_cohort(session, cohort_ids=[cohort.id]).get(cohort.id, figures.Figures())
    funded = counted.funded
    if places < funded:
        raise DomainError(
            f"{funded} places in this cohort are already funded: enter {funded} or more",
            field="places",
        )
    if status == CohortStatus.CANCELLED and cohort.status != CohortStatus.CANCELLED:
        holding = counted.funded_not_started + counted.in_training
        if holding:
            # Their places must go somewhere a person chose.
            raise DomainError(
                f"Move or withdraw the {holding} funded participants in this cohort"
                " before cancelling it",
                field="status",
            )
    cohort.name, cohort.starts_on, cohort.ends_on = name, starts_on, ends_on
    cohort.places, cohort.status = places, status
    session.flush()
    if status in RELEASED_REASONS:
        release_waiting(session, cohort, reason=RELEASED_REASONS[status])
    fund_waiting_claims(session, cohort.programme)
    return cohort
