"""Many processes claiming the last places at once: no cap is ever exceeded.

Each claim is made by a separate operating-system process with its own database
connection, all released together by a barrier, as when places open nationally.
"""

import multiprocessing
import os
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from tests import factories
from tracker import places
from tracker.errors import DomainError
from tracker.extensions import db
from tracker.models import Allocation, Claim, ClaimStatus, Cohort, Region, RegionQuota, Setting

pytestmark = [
    pytest.mark.slow,  # processes, servers or a browser: `-m "not slow"` skips it
    # Up to 200 connections each: under `make test`, one at a time in one process, so that
    # two never need more than the server allows.
    pytest.mark.xdist_group("hundreds_of_connections"),
]

CLAIMS = 200
# Connections left for the other tests running at the same time.
CONNECTIONS_BESIDE = 60
SQLITE_PROCESSES = 40


def _processes(app) -> int:
    """One process per claim, within the connections the PostgreSQL server has free now.

    The server counts connections still closing from the test before, and tests running
    beside this one (make test runs two processes) hold some: a margin is left for them.
    The race is the same with fewer processes; 40 at the least. SQLite lets one writer in
    at a time and the rest poll its lock, so more than 40 only adds polling.
    """
    if app.config["BACKEND"] == "sqlite":
        return SQLITE_PROCESSES
    max_connections = int(db.session.scalar(sa.text("SHOW max_connections")))
    reserved = int(db.session.scalar(sa.text("SHOW superuser_reserved_connections")))
    deadline = time.monotonic() + 3
    while True:
        in_use = db.session.scalar(sa.text("SELECT count(*) FROM pg_stat_activity"))
        free = max_connections - reserved - in_use - CONNECTIONS_BESIDE
        if free >= CLAIMS or time.monotonic() > deadline:
            return max(40, min(CLAIMS, free))
        time.sleep(0.2)  # the test before's connections are still closing


def connect_before_the_race(deadline_seconds: float = 60) -> None:
    """In a forked child: drop the parent's pool, then open this process's connection.

    The connection is opened before the barrier, so the race is for the ledger's lock, not
    for the server's connection slots; a test running beside this one can hold slots for a
    moment, so a refused connection is tried again until the deadline.
    """
    db.engine.dispose(close=False)  # the parent's pooled connections must not be shared
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            with db.engine.connect():
                return  # back in this process's pool, open, for the session to use
        except sa.exc.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _claim_in_child(app, jobs, barrier, results, one_person=False):
    """Run in a forked process: wait for the others, then claim a place for each job."""
    with app.app_context():
        connect_before_the_race()
        barrier.wait()
        for index, cohort_id, setting_id in jobs:
            try:
                outcome = places.claim_place(
                    db.session,
                    db.session.get(Cohort, cohort_id),
                    full_name="Racer" if one_person else f"Racer {index}",
                    email="racer@example.com" if one_person else f"racer{index}@example.com",
                    setting=db.session.get(Setting, setting_id),
                )
                db.session.commit()
                results.put((index, outcome.claim.id, outcome.claim.status.value))
            except DomainError as refused:  # a rule said no: the parent checks which
                db.session.rollback()
                results.put((index, None, f"refused: {refused.message}"))
            except Exception as exc:  # reported to the parent, which fails the test
                db.session.rollback()
                results.put((index, None, repr(exc)))
    results.close()
    results.join_thread()  # flush what was put before leaving
    os._exit(0)  # skip the parent's atexit handlers and pytest's teardown in the child


def _race(
    app, cohorts: list[Cohort], *, claims: int = CLAIMS, one_person: bool = False
) -> list[tuple[int, int | None, str]]:
    """Send claims at once over the cohorts (round robin); return what each got."""
    settings = [factories.create_setting(db.session) for _ in range(claims)]
    jobs = [(i, cohorts[i % len(cohorts)].id, settings[i].id) for i in range(claims)]
    db.session.commit()

    n = min(claims, _processes(app))
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(n)
    results = context.Queue()
    children = [
        context.Process(
            target=_claim_in_child, args=(app, jobs[i::n], barrier, results, one_person)
        )
        for i in range(n)
    ]
    for child in children:
        child.start()
    answers = [results.get(timeout=180) for _ in range(claims)]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    db.session.expire_all()
    return answers


def _funded_by(column) -> Counter:
    rows = db.session.execute(
        sa.select(column, sa.func.count())
        .select_from(Claim)
        .join(Cohort, Claim.cohort_id == Cohort.id)
        .where(Claim.holds_place.is_(True))
        .group_by(column)
    ).all()
    return Counter(dict(rows))


def test_200_claims_at_once_for_10_places(app, session):
    cohort = factories.create_cohort(session, places=10)

    answers = _race(app, [cohort])

    errors = [a for a in answers if a[1] is None]
    assert errors == []
    assert Counter(status for _, _, status in answers) == {"funded": 10, "waiting": 190}
    claims = session.scalars(
        sa.select(Claim).where(Claim.cohort_id == cohort.id).order_by(Claim.queue_seq)
    ).all()
    assert len(claims) == CLAIMS
    # The first ten to take the lock are funded; the rest wait in the order they claimed.
    assert [c.status for c in claims[:10]] == [ClaimStatus.FUNDED] * 10
    waiting = claims[10:]
    assert [places.waiting_position(session, c) for c in waiting] == list(range(1, 191))
    assert [c.id for c in claims] == sorted(c.id for c in claims)


def test_nested_caps_hold_under_a_rush(app, session):
    prog = factories.programme(session)
    factories.set_programme_places(session, prog, 20)
    north = factories.create_provider(session)
    south = factories.create_provider(session)
    cohorts = [
        factories.create_cohort(session, prog=prog, provider=north, places=10, allocation=15),
        factories.create_cohort(session, prog=prog, provider=north, places=10),
        factories.create_cohort(session, prog=prog, provider=south, places=10, allocation=15),
        factories.create_cohort(session, prog=prog, provider=south, places=10),
    ]

    answers = _race(app, cohorts)

    assert [a for a in answers if a[1] is None] == []
    assert Counter(status for _, _, status in answers) == {"funded": 20, "waiting": 180}
    by_cohort = _funded_by(Claim.cohort_id)
    assert all(by_cohort[c.id] <= 10 for c in cohorts)
    by_provider = _funded_by(Cohort.provider_id)
    assert by_provider[north.id] <= 15 and by_provider[south.id] <= 15
    assert sum(by_provider.values()) == 20


def test_one_person_claimed_by_many_at_once_gets_one_claim(app, session):
    prog = factories.programme(session)
    cohorts = [factories.create_cohort(session, prog=prog, places=5) for _ in range(2)]

    answers = _race(app, cohorts, claims=30, one_person=True)

    made = [a for a in answers if a[1] is not None]
    refused = [a[2] for a in answers if a[1] is None]
    assert len(made) == 1
    assert len(refused) == 29
    assert all(r.startswith("refused: racer@example.com already has a") for r in refused), refused
    assert session.scalar(sa.select(sa.func.count(Claim.id))) == 1


# -- claims racing changes to the caps -------------------------------------------------------
# A provider (or DfE) looks at the places funded and cuts the cap to exactly that, again and
# again, while claims arrive: each cut is decided from counts read outside the lock, as a
# person reading a page would, so only the ledger's own count under its lock can keep the cap.

SHRINKS = 25


def _held(cohort_id=None, provider_id=None) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(Claim)
        .join(Cohort, Claim.cohort_id == Cohort.id)
        .where(Claim.holds_place.is_(True))
    )
    if cohort_id is not None:
        query = query.where(Claim.cohort_id == cohort_id)
    if provider_id is not None:
        query = query.where(Cohort.provider_id == provider_id)
    return db.session.scalar(query)


def _shrink(kind: str, cohort_id: int, provider_id: int) -> str:
    """Cut the cohort's places, the provider's allocation or the programme's region quota to
    the places held now."""
    from tracker.cohorts import update_cohort
    from tracker.programmes import set_allocation

    cohort = db.session.get(Cohort, cohort_id)
    if kind == "cohort-places":
        held = _held(cohort_id=cohort_id)
        if held == 0:
            return "nothing yet"
        if held >= cohort.places:
            return "skipped"
        update_cohort(
            db.session,
            cohort,
            name=cohort.name,
            starts_on=cohort.starts_on,
            ends_on=cohort.ends_on,
            places=held,
            status=cohort.status,
        )
        return "done"
    if kind == "quota":
        from tracker.programmes import quota_places_held, set_region_quota

        quota = db.session.scalar(
            sa.select(RegionQuota).where(RegionQuota.programme_id == cohort.programme_id)
        )
        held = quota_places_held(db.session, quota)
        if held == 0:
            return "nothing yet"
        if held >= quota.places:
            return "skipped"
        set_region_quota(db.session, quota, places=held)
        return "done"
    held = _held(provider_id=provider_id)
    allocation = db.session.scalar(
        sa.select(Allocation.places).where(
            Allocation.provider_id == provider_id,
            Allocation.programme_id == cohort.programme_id,
        )
    )
    if held == 0:
        return "nothing yet"
    if held >= allocation:
        return "skipped"
    set_allocation(db.session, cohort.provider, cohort.programme, places=held)
    return "done"


def _change_in_child(app, jobs, barrier, results):
    """Run in a forked process: after the barrier, make each claim, or cut a cap again and again."""
    with app.app_context():
        connect_before_the_race()
        barrier.wait()
        for kind, index, cohort_id, provider_id, setting_id in jobs:
            rounds = 1 if kind == "claim" else SHRINKS
            tries = 0
            while rounds and tries < 2000:  # bounded: a cut waits for a first claim
                tries += 1
                try:
                    if kind == "claim":
                        places.claim_place(
                            db.session,
                            db.session.get(Cohort, cohort_id),
                            full_name=f"Racer {index}",
                            email=f"racer{index}@example.com",
                            setting=db.session.get(Setting, setting_id),
                        )
                        answer = "done"
                    else:
                        answer = _shrink(kind, cohort_id, provider_id)
                    db.session.commit()
                except DomainError as refused:
                    db.session.rollback()
                    answer = f"refused: {refused.message}"
                except Exception as exc:
                    db.session.rollback()
                    answer = repr(exc)
                finally:
                    db.session.expire_all()
                if answer == "nothing yet" and tries < 2000:
                    time.sleep(0.005)  # no claim is funded yet: look again
                    continue
                rounds -= 1
                results.put((index, kind, answer))
    results.close()
    results.join_thread()
    os._exit(0)


def _race_changes(app, jobs: list[tuple]) -> list[tuple]:
    db.session.commit()
    n = min(len(jobs), _processes(app))
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(n)
    results = context.Queue()
    children = [
        context.Process(target=_change_in_child, args=(app, jobs[i::n], barrier, results))
        for i in range(n)
    ]
    for child in children:
        child.start()
    expected = sum(1 if job[0] == "claim" else SHRINKS for job in jobs)
    answers = [results.get(timeout=180) for _ in range(expected)]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    db.session.expire_all()
    return answers


def _unexpected(answers) -> list:
    return [
        a
        for a in answers
        if a[2] not in ("done", "skipped", "nothing yet") and not a[2].startswith("refused")
    ]


def test_claims_racing_a_cohorts_places_being_lowered_never_overfill_it(app, session):
    cohort = factories.create_cohort(session, places=80)
    settings = [factories.create_setting(session) for _ in range(90)]
    jobs = [("claim", i, cohort.id, None, s.id) for i, s in enumerate(settings)]
    jobs[1::10] = [("cohort-places", 1000 + i, cohort.id, None, None) for i in range(9)]

    answers = _race_changes(app, jobs)

    assert _unexpected(answers) == []
    session.refresh(cohort)
    assert _funded_by(Claim.cohort_id)[cohort.id] <= cohort.places
    # The cuts met the claims: each was made, or refused as more places were funded by then.
    assert any(kind == "cohort-places" and a != "nothing yet" for _, kind, a in answers)


def test_claims_racing_an_allocation_cut_never_exceed_it(app, session):
    provider = factories.create_provider(session)
    prog = factories.programme(session)
    cohorts = [
        factories.create_cohort(session, prog=prog, provider=provider, places=40, allocation=80),
        factories.create_cohort(session, prog=prog, provider=provider, places=40),
    ]
    settings = [factories.create_setting(session) for _ in range(90)]
    jobs = [("claim", i, cohorts[i % 2].id, provider.id, s.id) for i, s in enumerate(settings)]
    jobs[1::10] = [("allocation", 1000 + i, cohorts[0].id, provider.id, None) for i in range(9)]

    answers = _race_changes(app, jobs)

    assert _unexpected(answers) == []
    allocation = session.scalar(
        sa.select(Allocation.places).where(
            Allocation.provider_id == provider.id, Allocation.programme_id == prog.id
        )
    )
    assert _funded_by(Cohort.provider_id)[provider.id] <= allocation
    assert any(kind == "allocation" and a != "nothing yet" for _, kind, a in answers)


def test_claims_racing_a_region_quota_cut_never_exceed_it(app, session):
    cohort = factories.create_cohort(session, places=100)
    london = session.scalar(sa.select(Region).where(Region.name == "London"))
    quota = RegionQuota(programme=cohort.programme, name="London", places=80, regions=[london])
    session.add(quota)
    settings = [factories.create_setting(session, la_code="202") for _ in range(90)]
    jobs = [("claim", i, cohort.id, None, s.id) for i, s in enumerate(settings)]
    jobs[1::10] = [("quota", 1000 + i, cohort.id, None, None) for i in range(9)]

    answers = _race_changes(app, jobs)

    assert _unexpected(answers) == []
    session.refresh(quota)
    # Every setting is in London, under the quota.
    assert _funded_by(Claim.cohort_id)[cohort.id] <= quota.places
    assert any(kind == "quota" and a != "nothing yet" for _, kind, a in answers)
