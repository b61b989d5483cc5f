"""Writing the demo's story to the database in bulk: participants, claims and declarations.

Each row is written as it stands at the end of the story, dated with the moments its
events happened on, with one audit event per row ("create", by whoever the load acts
as): the simulated steps before it are the story's, not changes anyone made. The claim
counts the figures read are kept by the triggers on ``claims`` as the rows go in.
"""

import random
from datetime import UTC, date, datetime, time

from sqlalchemy.orm import Session

from tracker.audit import record_created
from tracker.database import insert_rows, reserve_ids
from tracker.demo.book import DemoClaim, ProgrammeBook
from tracker.formats import LONDON
from tracker.models import Claim, Declaration, Participant


class Moments:
    """Times of day for the story's dates: during the working day, never later than now."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now

    def at(self, day: date) -> datetime:
        moment = datetime.combine(
            day, time(self.rng.randint(8, 17), self.rng.randint(0, 59)), tzinfo=LONDON
        )
        return min(moment.astimezone(UTC), self.now)

    def of_claim(self, claim: DemoClaim) -> dict[str, datetime | None]:
        """The moments of a claim's events, each after the one before it."""
        funded_on = claim.funded
        if funded_on is not None and claim.started is not None:
            funded_on = min(funded_on, claim.started)
        events = (
            ("claimed_dt", claim.claimed),
            ("funded_dt", funded_on),
            ("started_dt", claim.started),
            ("completed_dt", claim.completed),
            ("ended_dt", claim.ended),
        )
        moments: dict[str, datetime | None] = {}
        latest = None
        for column, day in events:
            if day is None:
                moments[column] = None
                continue
            if latest is None:
                moment = self.at(day)
            elif day == claim.claimed:
                moment = latest  # funded the moment it was claimed
            else:
                moment = max(self.at(day), latest)
            moments[column] = latest = moment
        return moments


def insert_created(session: Session, model: type, rows: list[dict]) -> None:
    """Insert rows of ``model`` in bulk, in order, each with the next id (set in the row), and
    record them in the audit trail as the unit of work would."""
    if not rows:
        return
    connection = session.connection()
    table = model.__table__
    for row, id_ in zip(rows, reserve_ids(connection, table, len(rows)), strict=True):
        row["id"] = id_
    insert_rows(connection, table, rows)
    record_created(session, model, rows)


def write_books(
    session: Session,
    books: list[ProgrammeBook],
    *,
    milestone_ids: dict[tuple[int, int], int],
    moments: Moments,
) -> None:
    """Write every book's claims, in the order they were made, each with its participant
    and declarations."""
    claims = [claim for book in books for claim in book.claims]
    claim_moments = [moments.of_claim(claim) for claim in claims]
    people = [
        {
            "full_name": claim.person.full_name,
            "email": claim.person.email,
            "trn": claim.person.trn,
            "reminders_opted_out_dt": None,
            "created_dt": dated["claimed_dt"],
        }
        for claim, dated in zip(claims, claim_moments, strict=True)
    ]
    insert_created(session, Participant, people)

    declarations = []
    claim_rows = []
    for claim, dated, person in zip(claims, claim_moments, people, strict=True):
        declared = [
            {
                "milestone_id": milestone_ids[(claim.programme_id, position)],
                "declared_on": day,
                "created_by_id": by_id,
                "created_dt": moments.at(day),
                "voided_dt": None,
                "voided_by_id": None,
                "void_reason": None,
            }
            for position, day, by_id in claim.declarations
        ]
        declarations.append(declared)
        changed = [moment for moment in dated.values() if moment is not None]
        claim_rows.append(
            {
                "programme_id": claim.programme_id,
                "cohort_id": claim.cohort_id,
                "participant_id": person["id"],
                "full_name": claim.person.full_name,
                "email": claim.person.email,
                "trn": claim.person.trn,
                "setting_id": claim.setting_id,
                "local_authority_id": claim.local_authority_id,
                "status": claim.status,
                "holds_place": claim.holds_place,
                "is_priority": claim.is_priority,
                "queue_seq": claim.queue_seq,
                "waiting_reason": claim.waiting_reason,
                "end_reason": claim.end_reason,
                **dated,
                "updated_dt": max([*changed, *(d["created_dt"] for d in declared)]),
                "created_by_id": claim.created_by_id,
            }
        )
    insert_created(session, Claim, claim_rows)

    declaration_rows = []
    for claim_row, declared in zip(claim_rows, declarations, strict=True):
        for row in declared:
            row["claim_id"] = claim_row["id"]
            declaration_rows.append(row)
    insert_created(session, Declaration, declaration_rows)
