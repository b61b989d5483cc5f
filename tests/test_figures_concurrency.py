"""The kept claim counts stay equal to the claims when many processes change claims at once.

Claims on two programmes, then declarations and withdrawals, each made by its own process
with its own connection and released together: the triggers' upserts must neither lose a
change nor fail a writer (a deadlock is retried by the ledger, never shown).
"""

import multiprocessing
import os
from datetime import date, timedelta

import pytest

from tests import factories
from tests.test_concurrency import _processes, connect_before_the_race
from tracker import figures, places, progress
from tracker.extensions import db
from tracker.models import Claim, ClaimStatus, Cohort, Setting, SettingKind

pytestmark = [
    pytest.mark.slow,  # processes, servers or a browser: `-m "not slow"` skips it
    # Up to 200 connections each: under `make test`, one at a time in one process, so that
    # two never need more than the server allows.
    pytest.mark.xdist_group("hundreds_of_connections"),
]

CLAIMS = 60


def _in_child(app, jobs, barrier, results):
    """Run in a forked process: wait for the others, then do each job and commit it."""
    with app.app_context():
        connect_before_the_race()
        barrier.wait()
        for job in jobs:
            try:
                kind, *args = job
                if kind == "claim":
                    index, cohort_id, setting_id = args
                    places.claim_place(
                        db.session,
                        db.session.get(Cohort, cohort_id),
                        full_name=f"Racer {index}",
                        email=f"racer{index}@example.com",
                        setting=db.session.get(Setting, setting_id),
                    )
                elif kind == "start":
                    progress.record_declaration(
                        db.session,
                        db.session.get(Claim, args[0]),
                        milestone_code="started",
                        declared_on=date.today(),  # noqa: DTZ011
                    )
                else:
                    places.withdraw(db.session, db.session.get(Claim, args[0]), reason="Left")
                db.session.commit()
                results.put("ok")
            except Exception as exc:  # reported to the parent, which fails the test
                db.session.rollback()
                results.put(repr(exc))
    results.close()
    results.join_thread()
    os._exit(0)


def _run_at_once(app, jobs) -> list[str]:
    # End the parent's transaction: on SQLite it holds the write lock the children need.
    db.session.commit()
    n = min(len(jobs), _processes(app))
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(n), context.Queue()
    children = [
        context.Process(target=_in_child, args=(app, jobs[i::n], barrier, results))
        for i in range(n)
    ]
    for child in children:
        child.start()
    answers = [results.get(timeout=180) for _ in jobs]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    db.session.expire_all()
    return answers


def test_kept_counts_equal_the_claims_after_concurrent_claims_declarations_and_withdrawals(
    app, session
):
    started = date.today() - timedelta(days=5)  # noqa: DTZ011
    ey = factories.create_cohort(
        session, prog=factories.programme(session, "ey-senco-l3"), places=20, starts_on=started
    )
    npq = factories.create_cohort(
        session, prog=factories.programme(session, "npq-senco"), places=20, starts_on=started
    )
    jobs = []
    for i in range(CLAIMS):
        cohort, kind = (ey, SettingKind.GROUP_BASED) if i % 2 else (npq, SettingKind.SCHOOL)
        setting = factories.create_setting(session, kind=kind, la_code=("201", "330")[i % 3 % 2])
        jobs.append(("claim", i, cohort.id, setting.id))
    session.commit()

    assert _run_at_once(app, jobs) == ["ok"] * CLAIMS
    assert figures.check(session) == []

    funded = session.query(Claim).filter(Claim.status == ClaimStatus.FUNDED).all()
    assert len(funded) == 40
    jobs = [("start", c.id) for c in funded[::2]] + [("withdraw", c.id) for c in funded[1::2]]

    assert _run_at_once(app, jobs) == ["ok"] * len(jobs)
    assert figures.check(session) == []
    counted = figures.by_programme(session)
    assert sum(f.ever_started for f in counted.values()) == 20
    holding = session.query(Claim).filter(Claim.holds_place.is_(True)).count()
    assert sum(f.funded for f in counted.values()) == holding
