"""How claims stand: milestones declared, places on the waiting list, counts by status.

Each function answers for many claims with one query, so a list of claims costs the same
number of queries however long it is.
"""

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from tracker.models import Claim, ClaimStatus, Cohort, Declaration

# A claim's status as the pages name it.
STATUS_LABELS = {
    ClaimStatus.WAITING: "Waiting",
    ClaimStatus.FUNDED: "Funded",
    ClaimStatus.STARTED: "In training",
    ClaimStatus.COMPLETED: "Completed",
    ClaimStatus.WITHDRAWN: "Withdrawn",
    ClaimStatus.DEFERRED: "Deferred",
}

# What a row of a list of claims shows besides the claim, loaded with it.
CLAIM_ROW_LOADS = (
    joinedload(Claim.participant),
    joinedload(Claim.programme),
    joinedload(Claim.setting),
    joinedload(Claim.cohort).joinedload(Cohort.provider),
)


def milestones_declared(session: Session, claim_ids: list[int]) -> dict[int, int]:
    """The number of declarations in force (not voided) on each claim."""
    if not claim_ids:
        return {}
    rows = session.execute(
        sa.select(Declaration.claim_id, sa.func.count())
        .where(Declaration.claim_id.in_(claim_ids), Declaration.voided_dt.is_(None))
        .group_by(Declaration.claim_id)
    )
    return dict(rows.all())


def waiting_positions(session: Session, claims: list[Claim]) -> dict[int, int]:
    """Each waiting claim's place on its cohort's waiting list (1 is next).

    The order is the ledger's (``places.waiting_position``): priority claims first, then
    the order in which claims were made.
    """
    cohort_ids = {c.cohort_id for c in claims if c.status == ClaimStatus.WAITING}
    if not cohort_ids:
        return {}
    position = (
        sa.func.row_number()
        .over(
            partition_by=Claim.cohort_id,
            order_by=[Claim.is_priority.desc(), Claim.queue_seq, Claim.id],
        )
        .label("position")
    )
    ranked = (
        sa.select(Claim.id, position)
        .where(Claim.cohort_id.in_(sorted(cohort_ids)), Claim.status == ClaimStatus.WAITING)
        .subquery()
    )
    wanted = [c.id for c in claims if c.status == ClaimStatus.WAITING]
    rows = session.execute(sa.select(ranked.c.id, ranked.c.position).where(ranked.c.id.in_(wanted)))
    return dict(rows.all())


def status_counts(session: Session, *conditions) -> dict[int, dict[ClaimStatus, int]]:
    """Claims counted by programme and status, among those meeting the conditions."""
    rows = session.execute(
        sa.select(Claim.programme_id, Claim.status, sa.func.count())
        .where(*conditions)
        .group_by(Claim.programme_id, Claim.status)
    )
    counts: dict[int, dict[ClaimStatus, int]] = defaultdict(dict)
    for programme_id, status, count in rows:
        counts[programme_id][ClaimStatus(status)] = count
    return dict(counts)
