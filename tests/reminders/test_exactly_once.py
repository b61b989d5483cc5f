"""`flask tracker reminders run` as separate processes against a real SMTP server.

Two runs at the same time send each reminder once; a run killed half way and started
again loses nothing, and sends again at most the one message it was sending.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import factories
from tests.reminders import helpers
from tracker.extensions import db
from tracker.models import OutboxMessage
from tracker.models.base import utcnow

pytestmark = [
    pytest.mark.slow,  # processes, servers or a browser: `-m "not slow"` skips it
    # Processes of its own with connections of their own: under `make test`, beside the
    # concurrency tests' hundreds of connections in one process, never at the same time.
    pytest.mark.xdist_group("hundreds_of_connections"),
]

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-03-02T09:00"  # London
TODAY = date(2026, 3, 2)


def _cohort_starting_soon(session, participants: int) -> None:
    """A cohort starting in 10 days: each participant is due one reminder."""
    cohort = factories.create_cohort(
        session, starts_on=TODAY + timedelta(days=10), places=participants
    )
    for _ in range(participants):
        helpers.funded_claim(session, cohort)  # in a setting with no account to tell
    session.commit()


def _reminders_run(app, server, *, lease_seconds: int = 300) -> subprocess.Popen:
    # End this process's transaction: on SQLite even a read holds the write lock
    # (BEGIN IMMEDIATE), and the run would wait for it.
    db.session.commit()
    env = {
        **os.environ,
        "TRACKER_ENV": "test",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": server.host,
        "SMTP_PORT": str(server.port),
        "MAIL_FROM": "reminders@tracker.test",
        "REMINDERS_LEASE_SECONDS": str(lease_seconds),
        "PYTHONFAULTHANDLER": "1",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi"]
    command += ["tracker", "reminders", "run", "--now", NOW]
    return subprocess.Popen(  # noqa: S603  (our own command line)
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(*processes: subprocess.Popen, timeout: float = 30) -> list[str]:
    """Wait for the runs; if one hangs, show where each was (PYTHONFAULTHANDLER) and fail."""
    deadline = time.monotonic() + timeout
    outputs, errors = [], []
    for process in processes:
        try:
            out, err = process.communicate(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            for p in processes:
                if p.poll() is None:
                    p.send_signal(signal.SIGABRT)
            stuck = [p.communicate()[1][-4000:] for p in processes]
            raise AssertionError("a run did not finish:\n" + "\n=====\n".join(stuck)) from None
        outputs.append(out)
        errors.append(err)
    for process, err in zip(processes, errors, strict=True):
        assert process.returncode == 0, err
    return outputs


def _run_here(app, runner, server, monkeypatch) -> str:
    """The same command, in this process: quicker when nothing else runs at the same time."""
    for key, value in {
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": server.host,
        "SMTP_PORT": server.port,
        "MAIL_FROM": "reminders@tracker.test",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    result = runner.invoke(args=["tracker", "reminders", "run", "--now", NOW])
    assert result.exit_code == 0, result.output
    return result.output


def _statuses(session) -> Counter:
    session.expire_all()
    return Counter(session.scalars(sa.select(OutboxMessage.status)).all())


def _received_ids(server) -> Counter:
    return Counter(int(m["X-Tracker-Reminder"]) for m in server.received)


def test_two_runs_at_the_same_time_send_each_reminder_once(
    app, session, runner, smtp_server, monkeypatch
):
    _cohort_starting_soon(session, 30)
    # A little time per message, so that the two runs are sending at the same time.
    smtp_server.behaviour.delay_seconds = 0.02

    runs = [_reminders_run(app, smtp_server) for _ in range(2)]
    outputs = _finish(*runs)

    assert _statuses(session) == {"sent": 30}
    ids = set(session.scalars(sa.select(OutboxMessage.id)).all())
    assert _received_ids(smtp_server) == Counter({i: 1 for i in ids})
    sent_by_each = [int(out.split("Sent ")[1].split()[0]) for out in outputs]
    assert sum(sent_by_each) == 30

    # And a run after them finds nothing new to queue and nothing to send.
    again = _run_here(app, runner, smtp_server, monkeypatch)
    assert "newly queued: 0" in again and "Sent 0" in again
    assert len(smtp_server.received) == 30


def test_a_run_killed_half_way_loses_nothing_when_started_again(
    app, session, runner, smtp_server, monkeypatch
):
    _cohort_starting_soon(session, 6)
    smtp_server.behaviour.delay_seconds = 30
    smtp_server.behaviour.delay_on_message = 3

    first = _reminders_run(app, smtp_server, lease_seconds=1)
    assert smtp_server.handler.in_data.wait(timeout=30), "the run never reached message 3"
    first.kill()
    first.communicate(timeout=10)

    assert _statuses(session) == {"sent": 2, "sending": 1, "queued": 3}
    in_flight = session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.status == "sending"))

    smtp_server.behaviour.delay_seconds = 0
    # Time passes: the killed run's lease on its message expires.
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == in_flight)
        .values(lease_expires_dt=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    _run_here(app, runner, smtp_server, monkeypatch)

    assert _statuses(session) == {"sent": 6}
    received = _received_ids(smtp_server)
    ids = set(session.scalars(sa.select(OutboxMessage.id)).all())
    assert set(received) == ids
    # Only the message in flight when the run was killed may have arrived twice.
    assert {i for i, n in received.items() if n > 1} <= {in_flight}
