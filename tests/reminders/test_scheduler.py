"""The scheduler: its jobs, and proof that web workers never run one."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.reminders import helpers
from tests.reminders.smtp_server import free_port
from tracker.models import AuditEvent, OutboxMessage, PublishedSnapshot
from tracker.models.base import utcnow
from tracker.reminders.time import LONDON
from tracker.scheduler import build_scheduler, publish_job, queue_due_job, send_queued_job

pytestmark = pytest.mark.slow  # processes, servers or a browser: `-m "not slow"` skips it

ROOT = Path(__file__).resolve().parents[2]


def test_the_scheduler_queues_hourly_in_the_day_and_sends_every_30_seconds(app):
    scheduler = build_scheduler(app)

    jobs = {job.id: job for job in scheduler.get_jobs()}

    assert set(jobs) == {"queue-due", "send-queued", "fund-when-due", "publish-uptake"}
    assert str(jobs["fund-when-due"].trigger) == "cron[hour='0', minute='5']"
    assert str(jobs["publish-uptake"].trigger) == ("cron[day_of_week='thu', hour='9', minute='30']")
    assert jobs["publish-uptake"].trigger.timezone == LONDON
    assert str(jobs["queue-due"].trigger) == "cron[hour='8-18', minute='0']"
    assert jobs["send-queued"].trigger.interval == timedelta(seconds=30)
    assert scheduler.timezone == LONDON
    assert not scheduler.running


def test_the_jobs_queue_what_is_due_and_send_it(app, session):
    from tests import factories

    today = utcnow().astimezone(LONDON).date()
    cohort = factories.create_cohort(session, starts_on=today + timedelta(days=3))
    helpers.funded_claim(session, cohort, email="ada@example.com")
    session.commit()

    queue_due_job(app)
    send_queued_job(app)  # MAIL_BACKEND is "outbox" in the tests

    rows = session.scalars(sa.select(OutboxMessage)).all()
    assert [(r.recipient, r.status) for r in rows] == [("ada@example.com", "sent")]


def test_the_publish_job_publishes_the_public_figures_once_a_week(app, session, monkeypatch):
    from tracker import publication

    wednesday = datetime(2025, 3, 5, 18, 0, tzinfo=LONDON)
    monkeypatch.setattr(publication, "utcnow", lambda: wednesday)
    publish_job(app)
    assert session.scalar(sa.select(sa.func.count()).select_from(PublishedSnapshot)) == 0
    session.rollback()  # the job's own session must not wait for this one

    for moment in (wednesday + timedelta(hours=15, minutes=30), wednesday + timedelta(days=1)):
        monkeypatch.setattr(publication, "utcnow", lambda moment=moment: moment)
        publish_job(app)  # Thursday 9:30am, then again on Thursday evening

    [snapshot] = session.scalars(sa.select(PublishedSnapshot)).all()
    assert snapshot.figures_on.isoformat() == "2025-03-06"
    assert snapshot.published_by == publication.SCHEDULE
    actors = session.scalars(
        sa.select(AuditEvent.actor).where(AuditEvent.entity_type == "published_snapshots")
    ).all()
    assert actors == [publication.SCHEDULE]


_REPORT = """
import json, sys, threading
from wsgi import app
app.test_client().get("/healthz")
json.dump({
    "apscheduler": sorted(m for m in sys.modules if m.startswith("apscheduler")),
    "threads": [t.name for t in threading.enumerate()],
}, sys.stdout)
"""


def _env(tmp_path) -> dict:
    return {
        **os.environ,
        "TRACKER_ENV": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}",
    }


def test_create_app_starts_no_scheduler(tmp_path):
    out = subprocess.run(  # noqa: S603  (our own command line)
        [sys.executable, "-c", _REPORT],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout

    report = json.loads(out)
    assert report == {"apscheduler": [], "threads": ["MainThread"]}


_GUNICORN_CONFIG = """
import json, os, sys, threading

def post_worker_init(worker):
    # Each web worker, once it has loaded the app, says what it runs.
    path = os.path.join(os.environ["REPORT_DIR"], f"{os.getpid()}.json")
    with open(path, "w") as f:
        json.dump({
            "apscheduler": sorted(m for m in sys.modules if m.startswith("apscheduler")),
            "threads": [t.name for t in threading.enumerate()],
        }, f)
"""


def test_no_gunicorn_worker_runs_a_scheduler(tmp_path):
    config = tmp_path / "gunicorn_conf.py"
    config.write_text(_GUNICORN_CONFIG)
    reports = tmp_path / "reports"
    reports.mkdir()
    port = free_port()
    gunicorn = subprocess.Popen(  # noqa: S603  (our own command line)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "-c",
            str(config),
            "wsgi:app",
        ],
        cwd=ROOT,
        env={**_env(tmp_path), "REPORT_DIR": str(reports)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(reports.iterdir())) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)

    workers = [json.loads(p.read_text()) for p in reports.iterdir()]
    assert len(workers) == 4
    assert all(w == {"apscheduler": [], "threads": ["MainThread"]} for w in workers)


def test_the_scheduler_command_runs_until_told_to_stop(tmp_path):
    env = _env(tmp_path)
    subprocess.run(  # noqa: S603  (our own command line)
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    # The log goes to a file, not a pipe: the test waits for the process itself to end.
    log = tmp_path / "scheduler.log"
    with log.open("w") as output:
        scheduler = subprocess.Popen(  # noqa: S603  (our own command line)
            [sys.executable, "-m", "flask", "--app", "wsgi", "tracker", "scheduler"],
            cwd=ROOT,
            env=env,
            stderr=output,
            text=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "Scheduler started with jobs" not in log.read_text():
            assert scheduler.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        started = log.read_text()
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=30)
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
    rest = log.read_text()[len(started) :]

    assert scheduler.returncode == 0, rest
    assert (
        "Scheduler started with jobs: fund-when-due, publish-uptake, queue-due, send-queued"
        in started
    )
    assert "Scheduler stopped" in rest
