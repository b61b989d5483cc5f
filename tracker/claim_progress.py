"""How claims stand: milestones declared (counts of claims: figures; waiting positions: places).

Each function answers for many claims with one query, so a list of claims costs the same
number of queries however long it is.
"""

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
