"""The demo's book takes the place ledger's operations in memory: the same operations, run
through both, leave the same claims (on SQLite and PostgreSQL).

A change to a rule of the ledger that the book does not follow fails here.
"""

import random
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tracker import places
from tracker.cohorts import update_cohort
from tracker.demo.book import DemoClaim, ProgrammeBook, open_book
from tracker.errors import DomainError
from tracker.models import (
    Claim,
    ClaimStatus,
    Cohort,
    CohortStatus,
    Declaration,
    Programme,
    Region,
    RegionQuota,
)
from tracker.participants import Person
from tracker.progress import record_declaration

EY, EP = "ey-senco-l3", "ep-doctorate"
# Local authorities: Camden and Hackney (London), Kent (South East), Newcastle (North East),
# Leeds (Yorkshire and The Humber).
AREAS = ("202", "204", "886", "391", "383")


def _region(session, name):
    return session.scalar(sa.select(Region).where(Region.name == name))


def _set_up(session, code):
    """Caps at every level, small enough that each is reached: the programme's 14 places,
    two providers' allocations of 8 for their cohorts' 13 and 11 places, a region quota for
    London and the South East and (early years) two places per setting; a priority region;
    the cohorts started, so that progress can be declared."""
    prog = factories.programme(session, code)
    factories.set_programme_places(session, prog, 14)
    started = places.london_today() - timedelta(days=60)
    first, second = factories.create_provider(session), factories.create_provider(session)
    factories.create_allocation(session, provider=first, prog=prog, places=8)
    factories.create_allocation(session, provider=second, prog=prog, places=8)
    cohorts = [
        factories.create_cohort(session, prog=prog, provider=provider, places=n)
        for provider, n in ((first, 3), (first, 4), (first, 6), (second, 2), (second, 9))
    ]
    for cohort in cohorts:
        cohort.starts_on = started
    quota = RegionQuota(
        programme=prog,
        name="London and the South East",
        places=1 if code == EP else 3,
        per_cohort=code == EP,
        regions=[_region(session, "London"), _region(session, "South East")],
    )
    session.add(quota)
    prog.priority_regions = [_region(session, "North East")]
    session.flush()
    if code == EP:
        return (
            prog,
            cohorts,
            [{"local_authority": factories.local_authority(session, la)} for la in AREAS],
        )
    settings = [factories.create_setting(session, la_code=la) for la in AREAS]
    return prog, cohorts, [{"setting": setting} for setting in settings]


def _claims_in_database(session):
    declared = dict(
        session.execute(
            sa.select(Declaration.claim_id, sa.func.count()).group_by(Declaration.claim_id)
        ).all()
    )
    rows = session.execute(
        sa.select(
            Claim.id,
            Claim.email,
            Claim.cohort_id,
            Claim.status,
            Claim.holds_place,
            Claim.waiting_reason,
            Claim.queue_seq,
            Claim.is_priority,
        )
    ).all()
    return sorted((*row[1:], declared.get(row[0], 0)) for row in rows)


def _claims_in_book(book):
    return sorted(
        (
            c.person.email,
            c.cohort_id,
            c.status,
            c.holds_place,
            c.waiting_reason,
            c.queue_seq,
            c.is_priority,
            len(c.declarations),
        )
        for c in book.claims
    )


@dataclass(frozen=True)
class Step:
    """One operation, as both take it: a claim for a new person ``email``, or an operation
    on the claim for ``email``."""

    operation: str
    cohort: Cohort
    email: str
    place: dict


def _in_ledger(session, step: Step, claims: dict[str, Claim]) -> None:
    claim, cohort = claims.get(step.email), step.cohort
    if step.operation == "claim":
        claims[step.email] = places.claim_place(
            session, cohort, full_name="A Person", email=step.email, **step.place
        ).claim
    elif step.operation == "withdraw":
        places.withdraw(session, claim, reason="Left")
    elif step.operation == "defer":
        places.defer(session, claim, reason="Left")
    elif step.operation == "move":
        places.move_claim(session, claim, cohort)
    elif step.operation == "resume":
        places.resume(session, claim, to_cohort=cohort)
    elif step.operation == "declare":
        milestones = claim.programme.milestones
        declared = session.scalar(
            sa.select(sa.func.count()).where(Declaration.claim_id == claim.id)
        )
        milestone = milestones[min(declared, len(milestones) - 1)]
        record_declaration(
            session, claim, milestone_code=milestone.code, declared_on=places.london_today()
        )
    else:
        update_cohort(
            session,
            cohort,
            name=cohort.name,
            starts_on=cohort.starts_on,
            ends_on=cohort.ends_on,
            places=cohort.places,
            status=CohortStatus.CLOSED,
        )


def _in_book(book: ProgrammeBook, step: Step, claims: dict[str, DemoClaim]) -> None:
    claim, cohort_id, today = claims.get(step.email), step.cohort.id, book.today
    if step.operation == "claim":
        placement = places.check_place(
            step.cohort.programme, step.place.get("setting"), step.place.get("local_authority")
        )
        claims[step.email] = book.claim(
            cohort_id, Person("A Person", step.email), placement, day=today
        )
    elif step.operation == "withdraw":
        book.withdraw(claim, reason="Left", day=today)
    elif step.operation == "defer":
        book.defer(claim, reason="Left", day=today)
    elif step.operation == "move":
        book.move(claim, cohort_id, day=today)
    elif step.operation == "resume":
        book.resume(claim, cohort_id, day=today)
    elif step.operation == "declare":
        book.declare(claim, min(len(claim.declarations) + 1, book.milestones), day=today)
    else:
        book.close(cohort_id, day=today)


def _refused(take, *args) -> bool:
    try:
        take(*args)
    except DomainError:
        return True
    return False


OPERATIONS = ["claim"] * 8 + ["withdraw", "defer", "move", "move", "resume", "resume"]
OPERATIONS += ["declare"] * 6 + ["close"]
TRAINING = (ClaimStatus.FUNDED, ClaimStatus.STARTED)


@pytest.mark.parametrize("code", [EY, EP])
@pytest.mark.parametrize("seed", [1, 7])  # runs that reach every level of cap
def test_the_book_and_the_ledger_leave_the_same_claims(session, code, seed):
    prog, cohorts, where = _set_up(session, code)
    book = open_book(session, prog, today=places.london_today())
    rng = random.Random(seed)
    in_ledger: dict[str, Claim] = {}
    in_book: dict[str, DemoClaim] = {}
    seen = set()

    levels = set(places.CAP_LEVELS) - ({places.SETTING} if code == EP else set())

    def waited():
        return {reason for status, reason in seen if status == ClaimStatus.WAITING}

    # At least 150 operations, and on until every status has come about and claims have
    # waited at every level of cap (a closed cohort takes no more claims: none closes before).
    for n in range(400):
        if n >= 150 and waited() == levels and {s for s, _r in seen} == set(ClaimStatus):
            break
        operation = rng.choice(OPERATIONS) if in_book else "claim"
        if operation == "close" and waited() != levels:
            operation = "claim"
        # Progress is declared mostly for claims in training; otherwise any claim, whatever
        # its status: a refusal must be the same in both.
        training = [e for e, c in in_book.items() if c.status in TRAINING]
        if operation == "claim":
            email = f"person{n}@example.com"
        elif operation == "declare" and training and rng.random() < 0.8:
            email = rng.choice(sorted(training))
        else:
            email = rng.choice(sorted(in_book))
        step = Step(operation, rng.choice(cohorts), email, rng.choice(where))

        refused = (
            _refused(_in_ledger, session, step, in_ledger),
            _refused(_in_book, book, step, in_book),
        )

        assert refused[0] == refused[1], (n, step, refused)
        assert _claims_in_database(session) == _claims_in_book(book), (n, step)
        seen |= {(c.status, c.waiting_reason) for c in book.claims}

    assert {status for status, _reason in seen} == set(ClaimStatus)
    assert waited() == levels
    ledger_seq = session.scalar(sa.select(Programme.ledger_seq).where(Programme.id == prog.id))
    assert book.seq == ledger_seq
