"""Progress: providers' declarations that a participant reached a milestone, in order."""

import logging
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.errors import DomainError
from tracker.formats import long_date
from tracker.models import Claim, ClaimStatus, Declaration, Milestone, User
from tracker.models.base import utcnow
from tracker.places import fund_waiting_claims, lock_programme, london_today, retrying

logger = logging.getLogger(__name__)


def _live_declarations(session: Session, claim: Claim) -> list[Declaration]:
    return list(
        session.scalars(
            sa.select(Declaration)
            .join(Milestone)
            .where(Declaration.claim_id == claim.id, Declaration.voided_dt.is_(None))
            .order_by(Milestone.position)
        )
    )


@retrying
def record_declaration(
    session: Session,
    claim: Claim,
    *,
    milestone_code: str,
    declared_on: date,
    by: User | None = None,
    today: date | None = None,
) -> Declaration:
    """Declare that a funded participant reached the next milestone of their programme.

    The first milestone starts training and the last completes it. Declarations must
    come in the programme's order, once each, dated no earlier than the one before,
    not before the cohort starts and not in the future.
    """
    today = today or london_today()
    lock_programme(session, claim.programme_id)
    session.refresh(claim)
    milestones = claim.programme.milestones
    milestone = next((m for m in milestones if m.code == milestone_code), None)
    if milestone is None:
        codes = ", ".join(m.code for m in milestones)
        raise DomainError(
            f"{milestone_code!r} is not a milestone of {claim.programme.name}: use one of {codes}",
            field="milestone",
        )
    if claim.status not in (ClaimStatus.FUNDED, ClaimStatus.STARTED):
        raise DomainError(
            f"Progress cannot be declared for a {claim.status.value} claim", field="milestone"
        )
    if declared_on > today:
        raise DomainError("The date of a declaration cannot be in the future", field="declared_on")
    if declared_on < claim.cohort.starts_on:
        raise DomainError(
            f"The date cannot be before the cohort starts on {long_date(claim.cohort.starts_on)}",
            field="declared_on",
        )

    made = _live_declarations(session, claim)
    if any(d.milestone_id == milestone.id for d in made):
        raise DomainError(f"{milestone.name} has already been declared", field="milestone")
    expected = milestones[len(made)]
    if milestone.position != expected.position:
        raise DomainError(
            f"{expected.name} must be declared before {milestone.name}", field="milestone"
        )
    if made and declared_on < made[-1].declared_on:
        raise DomainError(
            f"The date cannot be before {made[-1].milestone.name} "
            f"on {long_date(made[-1].declared_on)}",
            field="declared_on",
        )

    declaration = Declaration(
        claim=claim,
        milestone=milestone,
        declared_on=declared_on,
        created_by_id=by.id if by else None,
    )
    session.add(declaration)
    now = utcnow()
    # Every declaration changes the enrolment, so it shows among changes since a time.
    claim.updated_dt = now
    if milestone.position == 1:
        claim.status = ClaimStatus.STARTED
        claim.started_dt = now
    if milestone.position == len(milestones):
        claim.status = ClaimStatus.COMPLETED
        claim.completed_dt = now
    session.flush()
    if claim.status == ClaimStatus.COMPLETED:
        # A completed participant no longer counts against their setting's limit.
        fund_waiting_claims(session, claim.programme)
    logger.info("Declaration %s: claim %s reached %s", declaration.id, claim.id, milestone.code)
    return declaration


@retrying
def void_declaration(
    session: Session, declaration: Declaration, *, reason: str, by: User | None = None
) -> Declaration:
    """Void the latest declaration on a claim, putting the claim back where it was before it."""
    claim = declaration.claim
    lock_programme(session, claim.programme_id)
    session.refresh(claim)
    reason = reason.strip()
    if not reason:
        raise DomainError("Enter the reason for voiding the declaration", field="reason")
    made = _live_declarations(session, claim)
    if not made or made[-1].id != declaration.id:
        raise DomainError(
            "Only the latest declaration on a claim can be voided", field="declaration"
        )
    if claim.status not in (ClaimStatus.STARTED, ClaimStatus.COMPLETED):
        raise DomainError(
            f"Declarations on a {claim.status.value} claim cannot be voided", field="declaration"
        )
    declaration.voided_dt = utcnow()
    declaration.voided_by_id = by.id if by else None
    declaration.void_reason = reason
    claim.updated_dt = utcnow()
    position = declaration.milestone.position
    if position == len(claim.programme.milestones):
        claim.status, claim.completed_dt = ClaimStatus.STARTED, None
    if position == 1:
        claim.status, claim.started_dt = ClaimStatus.FUNDED, None
    session.flush()
    logger.info("Declaration %s voided", declaration.id)
    return declaration
