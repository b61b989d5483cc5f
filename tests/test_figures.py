"""What each figure counts: one definition each, the same in Python, in SQL and on the pages."""

from datetime import date

import pytest
import sqlalchemy as sa

from tests import factories
from tracker import figures, places, progress
from tracker.figures import DEFINITIONS, STATES, Figures, State
from tracker.models import Claim, ClaimStatus, SettingKind

W, F, S, C, X, D = (
    ClaimStatus.WAITING,
    ClaimStatus.FUNDED,
    ClaimStatus.STARTED,
    ClaimStatus.COMPLETED,
    ClaimStatus.WITHDRAWN,
    ClaimStatus.DEFERRED,
)


def counts(state: State) -> set[str]:
    return {name for name, d in DEFINITIONS.items() if d.counts(state)}


def test_started_means_ever_started_and_in_training_means_now():
    completed = State(C, holds_place=True, has_started=True)
    in_training = State(S, holds_place=True, has_started=True)

    assert "ever_started" in counts(completed) and "in_training" not in counts(completed)
    assert {"ever_started", "in_training"} <= counts(in_training)


def test_a_claim_withdrawn_during_training_still_counts_as_funded():
    withdrawn = State(X, holds_place=True, has_started=True)

    assert counts(withdrawn) == {
        "claimed",
        "funded",
        "ever_started",
        "withdrawn",
        "withdrawn_during_training",
        "ended_during_training",
    }


def test_a_claim_withdrawn_before_training_gave_its_place_back():
    withdrawn = State(X, holds_place=False, has_started=False)

    assert counts(withdrawn) == {
        "claimed",
        "withdrawn",
        "withdrawn_before_training",
        "ended_before_training",
    }


def test_waiting_is_the_unmet_demand_and_a_live_claim():
    waiting = Figures.of({State(W, holds_place=False, has_started=False): 3})

    assert (waiting.waiting, waiting.unmet_demand, waiting.live, waiting.funded) == (3, 3, 3, 0)


def _possible(state: State) -> bool:
    """The states the ledger can leave a claim in."""
    if state.status in (W, F):
        return not state.has_started and state.holds_place == (state.status == F)
    if state.status in (S, C):
        return state.has_started and state.holds_place
    return state.holds_place == state.has_started  # ended: the place is spent once started


@pytest.mark.parametrize("state", [s for s in STATES if _possible(s)], ids=str)
def test_the_published_counts_partition_every_claim(state):
    f = Figures.of({state: 1})

    assert f.claimed == f.waiting + f.ended_before_training + f.funded == 1
    assert f.funded == f.funded_not_started + f.in_training + f.completed + f.ended_during_training
    assert f.withdrawn == f.withdrawn_before_training + f.withdrawn_during_training
    assert sum(f.by_status().values()) == 1


def test_places_left_goes_below_nought_and_room_does_not():
    assert figures.places_left(10, 12) == -2
    assert figures.room(10, 12) == 0
    assert figures.room(10, 4) == figures.places_left(10, 4) == 6


def test_the_database_counts_each_definition_as_python_does(session):
    """Kept counts summed in SQL, claims scanned, and the definitions applied in Python agree."""
    prog = factories.programme(session, "npq-senco")
    cohort = factories.create_cohort(session, prog=prog, places=4, starts_on=date(2024, 1, 1))
    made = [
        places.claim_place(
            session,
            cohort,
            full_name=f"P {n}",
            email=f"p{n}@example.com",
            setting=factories.create_setting(session, kind=SettingKind.SCHOOL),
        ).claim
        for n in range(6)
    ]
    for claim in made[:3]:
        progress.record_declaration(
            session,
            claim,
            milestone_code="started",
            declared_on=date.today(),  # noqa: DTZ011
        )
    places.withdraw(session, made[0], reason="Left")
    places.withdraw(session, made[3], reason="Left")
    places.defer(session, made[4], reason="Leave")

    by_state = session.execute(
        sa.select(Claim.status, Claim.holds_place, Claim.started_dt.is_not(None), sa.func.count())
        .where(Claim.programme_id == prog.id)
        .group_by(Claim.status, Claim.holds_place, Claim.started_dt.is_not(None))
    )
    in_python = Figures.of(
        {State(ClaimStatus(s), bool(h), bool(st)): n for s, h, st, n in by_state}
    )
    kept = figures.by_programme(session)[prog.id]
    scanned = figures.by_programme(session, figures.Scope(claimed_from=date(2000, 1, 1)))[prog.id]

    assert kept == scanned == in_python
    assert (kept.claimed, kept.ever_started, kept.withdrawn_during_training) == (6, 3, 1)
    assert (kept.waiting, kept.ended_before_training) == (0, 2)
