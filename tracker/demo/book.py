"""The place ledger's operations, replayed in memory for the demo's simulated past.

The demo tells years of claims, withdrawals, deferrals, moves and declarations: one at a
time through the ledger (``tracker.places``) they take minutes, here a second or two, and
the loader then writes the result in bulk. Every cap is decided by the ledger's own
``Capacity``, read by the ledger from the database once the cohorts are set and nothing
is claimed, and kept up to date here as claims take and give back places. What each
operation does to a claim, and who is funded next, follows the ledger function each
method names: ``tests/test_demo_book.py`` runs the same operations through both and
compares the claims, so that a change to the ledger this copy misses fails there. The
loaded demo is then checked with the ledger's own checks (``tracker.demo.checks``).
"""

import functools
import itertools
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.cohorts import RELEASED_REASONS
from tracker.errors import DomainError
from tracker.models import (
    LIVE_STATUSES,
    ClaimStatus,
    Cohort,
    CohortStatus,
    LocalAuthority,
    Programme,
)
from tracker.participants import Person
from tracker.places import (
    ALLOCATION,
    COHORT,
    PROGRAMME,
    REGION_QUOTA,
    SETTING_HOLDING_STATUSES,
    Capacity,
    Placement,
)


@dataclass(eq=False)
class DemoClaim:
    """A claim as the ledger would hold it, with the dates of the demo's story."""

    number: int  # in the order the programme's claims were made, as their ids are
    programme_id: int
    cohort_id: int
    person: Person
    setting_id: int | None
    local_authority_id: int | None
    is_priority: bool
    queue_seq: int
    created_by_id: int | None
    claimed: date
    status: ClaimStatus = ClaimStatus.WAITING
    holds_place: bool = False
    waiting_reason: str | None = None
    end_reason: str | None = None
    funded: date | None = None
    started: date | None = None
    completed: date | None = None
    ended: date | None = None
    # (milestone position, declared on, declared by user id), in order.
    declarations: list[tuple[int, date, int | None]] = field(default_factory=list)

    @property
    def placement(self) -> Placement:
        return Placement(self.cohort_id, self.setting_id, self.local_authority_id)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


def _operation(method):
    """As the ledger runs each operation in a savepoint: one refused changes nothing, its
    sequence number included."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        seq = self.seq
        try:
            return method(self, *args, **kwargs)
        except DomainError:
            self.seq = seq
            raise

    return wrapper


class ProgrammeBook:
    """One programme's claims and places, changed only as the ledger's operations would."""

    def __init__(
        self,
        *,
        programme_id: int,
        ledger_seq: int,
        capacity: Capacity,
        priority_local_authorities: set[int],
        milestones: int,
        cohort_starts: dict[int, date],
        today: date,
    ) -> None:
        self.programme_id = programme_id
        self.seq = ledger_seq
        self.capacity = capacity
        self.priority_local_authorities = priority_local_authorities
        self.milestones = milestones
        self.cohort_starts = cohort_starts
        self.today = today
        self.claims: list[DemoClaim] = []
        self.by_cohort: dict[int, list[DemoClaim]] = {cohort_id: [] for cohort_id in cohort_starts}
        self._waiting: list[DemoClaim] = []
        self._numbers = itertools.count(1)

    # -- what the ledger reads ---------------------------------------------------------

    def claims_in(self, cohort_id: int, status: ClaimStatus) -> list[DemoClaim]:
        """The cohort's claims in a status, in waiting-list order."""
        return sorted(
            (c for c in self.by_cohort[cohort_id] if c.status == status), key=_waiting_order
        )

    def _lock(self, count: int = 1) -> int:
        """``places.lock_programme``: every operation moves the programme's sequence."""
        self.seq += count
        return self.seq

    def _count(self, claim: DemoClaim, n: int) -> None:
        """Count the claim's places in (n=1) or out of (n=-1) the caps, as ``Capacity.load``
        counts them from the claims: a place held at every level, and at its setting while
        it is held and not finished."""
        if not claim.holds_place:
            return
        self.capacity.take(claim.placement, n)
        if claim.setting_id is not None and claim.status not in SETTING_HOLDING_STATUSES:
            self.capacity.setting_used[claim.setting_id] -= n

    def _change(self, claim: DemoClaim, **values) -> None:
        self._count(claim, -1)
        if "cohort_id" in values and values["cohort_id"] != claim.cohort_id:
            self.by_cohort[claim.cohort_id].remove(claim)
            self.by_cohort[values["cohort_id"]].append(claim)
        for name, value in values.items():
            setattr(claim, name, value)
        self._count(claim, 1)
        if claim.status == ClaimStatus.WAITING:
            self._waiting.append(claim)

    def _fund(self, claim: DemoClaim, day: date) -> None:
        """``places._funded``: what funding a claim means."""
        funded_on = max(claim.claimed, min(day, self.today))
        self._change(
            claim,
            status=ClaimStatus.FUNDED,
            holds_place=True,
            waiting_reason=None,
            funded=funded_on,
        )

    def _fund_waiting(self, day: date) -> list[DemoClaim]:
        """``places.fund_waiting_claims``: fund waiting claims in order while they fit."""
        capacity = self.capacity
        self._waiting = [c for c in dict.fromkeys(self._waiting) if c.status == ClaimStatus.WAITING]
        waiting = sorted(
            (c for c in self._waiting if capacity.cohort_status[c.cohort_id] == CohortStatus.OPEN),
            key=_waiting_order,
        )
        promoted = []
        for claim in waiting:
            if (
                capacity.programme_cap is not None
                and capacity.programme_used >= capacity.programme_cap
            ):
                break
            blocker = capacity.blocker(claim.placement)
            if blocker is None:
                self._fund(claim, day)
                promoted.append(claim)
            elif claim.waiting_reason != blocker:
                claim.waiting_reason = blocker
        return promoted

    def _fund_waiting_after(self, claim: DemoClaim, day: date) -> list[DemoClaim]:
        """Fund what fits now, ``claim`` included, and return the others funded; a claim
        the funding stopped short of (the programme's places are all taken) waits for them."""
        promoted = self._fund_waiting(day)
        if claim.status == ClaimStatus.WAITING and claim.waiting_reason is None:
            claim.waiting_reason = PROGRAMME
        return [c for c in promoted if c is not claim]

    def _has_open(self, cohort_id: int) -> None:
        if self.capacity.cohort_status[cohort_id] != CohortStatus.OPEN:
            raise DomainError("The cohort is not taking claims", field="cohort")

    # -- the operations ----------------------------------------------------------------

    @_operation
    def claim(
        self,
        cohort_id: int,
        person: Person,
        placement: Placement,
        *,
        day: date,
        by_id: int | None = None,
    ) -> DemoClaim:
        """``places.claim_places`` for one new person: funded if every cap has room, else
        waiting, with the first cap that has none."""
        self._has_open(cohort_id)
        seq = self._lock()
        capacity = self.capacity
        room = (
            capacity.programme_cap is not None and capacity.programme_used < capacity.programme_cap
        )
        if room and any(
            c.status == ClaimStatus.WAITING and c.waiting_reason == PROGRAMME for c in self._waiting
        ):
            # The programme's cap rose since claims waited for it: they are funded first.
            self._fund_waiting(day)
        claim = DemoClaim(
            number=next(self._numbers),
            programme_id=self.programme_id,
            cohort_id=cohort_id,
            person=person,
            setting_id=placement.setting_id,
            local_authority_id=placement.local_authority_id,
            is_priority=placement.local_authority_id in self.priority_local_authorities,
            queue_seq=seq,
            created_by_id=by_id,
            claimed=day,
        )
        self.claims.append(claim)
        self.by_cohort[cohort_id].append(claim)
        blocker = capacity.blocker(claim.placement)
        if blocker is None:
            self._fund(claim, day)
        else:
            self._change(claim, waiting_reason=blocker)
        return claim

    @_operation
    def withdraw(self, claim: DemoClaim, *, reason: str, day: date) -> list[DemoClaim]:
        """``places.withdraw``: a place not yet in training goes to the next waiting claim."""
        return self._end(claim, ClaimStatus.WITHDRAWN, reason, day)

    @_operation
    def defer(self, claim: DemoClaim, *, reason: str, day: date) -> list[DemoClaim]:
        """``places.defer``: a place not yet in training goes to the next waiting claim."""
        return self._end(claim, ClaimStatus.DEFERRED, reason, day)

    def _end(self, claim: DemoClaim, status: ClaimStatus, reason: str, day: date) -> list:
        self._lock()
        if not claim.is_live:
            raise DomainError(f"This claim is already {claim.status.value}", field="claim")
        gives_back_place = claim.status == ClaimStatus.FUNDED
        self._change(
            claim,
            status=status,
            end_reason=reason,
            ended=day,
            holds_place=False if gives_back_place else claim.holds_place,
        )
        return self._fund_waiting(day)

    @_operation
    def move(self, claim: DemoClaim, to_cohort_id: int, *, day: date) -> list[DemoClaim]:
        """``places.move_claim``: to the back of another cohort's waiting list, funded there
        only if no one waits ahead of it."""
        seq = self._lock()
        if claim.status not in (ClaimStatus.WAITING, ClaimStatus.FUNDED):
            raise DomainError(f"A {claim.status.value} claim cannot move", field="claim")
        if to_cohort_id == claim.cohort_id:
            raise DomainError("The claim is already in this cohort", field="cohort")
        self._has_open(to_cohort_id)
        self._change(
            claim,
            status=ClaimStatus.WAITING,
            holds_place=False,
            funded=None,
            cohort_id=to_cohort_id,
            queue_seq=seq,
        )
        return self._fund_waiting_after(claim, day)

    @_operation
    def resume(self, claim: DemoClaim, to_cohort_id: int, *, day: date) -> list[DemoClaim]:
        """``places.resume``: the same claim, its declarations kept. In training, back on
        the place it kept (in a later cohort only if that has room); if not, to the back of
        the cohort's waiting list. DomainError when it cannot."""
        seq = self._lock()
        if claim.status != ClaimStatus.DEFERRED:
            raise DomainError("Only a deferred claim can resume", field="claim")
        if claim.started is not None:
            status = self.capacity.cohort_status[to_cohort_id]
            if status == CohortStatus.CANCELLED:
                raise DomainError("The cohort has been cancelled", field="cohort")
            if to_cohort_id != claim.cohort_id:
                held = claim.placement
                self.capacity.take(held, -1)
                blocker = self.capacity.blocker(
                    held._replace(cohort_id=to_cohort_id),
                    levels=(ALLOCATION, COHORT, REGION_QUOTA),
                )
                self.capacity.take(held, 1)
                if blocker is not None:
                    raise DomainError("The cohort has no room for a returning participant")
            self._change(
                claim,
                cohort_id=to_cohort_id,
                status=ClaimStatus.STARTED,
                end_reason=None,
                ended=None,
            )
        else:
            self._has_open(to_cohort_id)
            self._change(
                claim,
                cohort_id=to_cohort_id,
                status=ClaimStatus.WAITING,
                funded=None,
                queue_seq=seq,
                waiting_reason=None,
                end_reason=None,
                ended=None,
            )
        return self._fund_waiting_after(claim, day)

    @_operation
    def close(self, cohort_id: int, *, day: date) -> list[DemoClaim]:
        """``cohorts.update_cohort`` to closed: the claims still waiting are released
        (``places.release_waiting``); return them."""
        self._lock()
        self.capacity.cohort_status[cohort_id] = CohortStatus.CLOSED
        reason = RELEASED_REASONS[CohortStatus.CLOSED]
        released = self.claims_in(cohort_id, ClaimStatus.WAITING)
        for claim in released:
            self._change(claim, status=ClaimStatus.WITHDRAWN, end_reason=reason, ended=day)
        self._fund_waiting(day)
        return released

    @_operation
    def declare(
        self, claim: DemoClaim, position: int, *, day: date, by_id: int | None = None
    ) -> list[DemoClaim]:
        """``progress.record_declaration``: the next milestone, in order and dated in order;
        the first starts training and the last completes it."""
        self._lock()
        if claim.status not in (ClaimStatus.FUNDED, ClaimStatus.STARTED):
            raise DomainError(f"Progress cannot be declared for a {claim.status.value} claim")
        if position != len(claim.declarations) + 1:
            raise DomainError("Milestones are declared in order, once each")
        previous = claim.declarations[-1][1] if claim.declarations else None
        if day > self.today or day < self.cohort_starts[claim.cohort_id]:
            raise DomainError("A declaration is dated from the cohort's start to today")
        if previous is not None and day < previous:
            raise DomainError("A declaration cannot be dated before the one before it")
        claim.declarations.append((position, day, by_id))
        if position == 1:
            self._change(claim, status=ClaimStatus.STARTED, started=day)
        if position == self.milestones:
            self._change(claim, status=ClaimStatus.COMPLETED, completed=day)
            # A completed participant no longer counts against their setting's limit.
            return self._fund_waiting(day)
        return []


def _waiting_order(claim: DemoClaim) -> tuple:
    """The waiting list's order: priority regions first, then the order of claims."""
    return (not claim.is_priority, claim.queue_seq, claim.number)


def open_book(session: Session, programme: Programme, *, today: date) -> ProgrammeBook:
    """A programme's book, from the database: its caps and counts read by the ledger
    (``Capacity.load``), its cohorts, priority areas, milestones and ledger sequence."""
    priority_regions = [region.id for region in programme.priority_regions]
    return ProgrammeBook(
        programme_id=programme.id,
        ledger_seq=session.scalar(
            sa.select(Programme.ledger_seq).where(Programme.id == programme.id)
        ),
        capacity=Capacity.load(session, programme),
        priority_local_authorities=set(
            session.scalars(
                sa.select(LocalAuthority.id).where(LocalAuthority.region_id.in_(priority_regions))
            )
        ),
        milestones=len(programme.milestones),
        cohort_starts=dict(
            session.execute(
                sa.select(Cohort.id, Cohort.starts_on).where(Cohort.programme_id == programme.id)
            ).all()
        ),
        today=today,
    )
