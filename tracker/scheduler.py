"""The one process that runs scheduled jobs: ``flask --app wsgi tracker scheduler``.

It is started only by that command, never by ``create_app``, so web workers (``gunicorn
-w 4``) run no job. Two scheduler processes started by mistake, on one machine or two,
still send each reminder once: the outbox's unique key and its conditional claim make
every job safe to run twice at once (see ``tracker.reminders.outbox``).

Jobs, in Europe/London time:
- queue-due: every hour from 08:00 to 18:00, queue the reminders that are due;
- send-queued: every 30 seconds, send what is queued (so a place offered by the ledger
  goes out within the minute, and retries go out when their back-off ends);
- fund-when-due: every day just after midnight, and once when the scheduler starts, fund
  the waiting claims that now fit (a target that takes effect on a date raises its cap
  then, with nothing else to notice it);
- publish-uptake: every Thursday at 9:30am, and once when the scheduler starts if that
  time has passed this week with nothing published, publish the public uptake figures
  (``tracker.publication``: one snapshot a week however often it runs).
"""

import logging
import os
import signal
import threading
from datetime import timedelta

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from tracker import places, publication
from tracker.audit import acting_as
from tracker.extensions import db
from tracker.models.base import utcnow
from tracker.reminders.backends import backend_from_config
from tracker.reminders.outbox import send_queued
from tracker.reminders.runs import queue_due_reminders
from tracker.reminders.time import LONDON

logger = logging.getLogger(__name__)

SEND_INTERVAL_SECONDS = 30
# Sends per job run at most: a long queue is worked through over several runs, so that
# stopping the scheduler never waits long for the job in hand.
SEND_BATCH = 500


def queue_due_job(app: Flask) -> None:
    with app.app_context():
        try:
            queue_due_reminders(db.session, utcnow())
        finally:
            db.session.remove()


def fund_when_due_job(app: Flask) -> None:
    with app.app_context():
        try:
            funded = places.fund_when_due(db.session)
            db.session.commit()
            if any(funded.values()):
                logger.info("Waiting claims funded on their date: %s", funded)
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


def publish_job(app: Flask) -> None:
    with app.app_context():
        try:
            with acting_as(label=publication.SCHEDULE):
                published = publication.publish_when_due(db.session)
            db.session.commit()
            if published is not None and published.created:
                logger.info("Public uptake figures published for %s", published.snapshot.figures_on)
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


def send_queued_job(app: Flask) -> None:
    with app.app_context():
        try:
            send_queued(
                db.session,
                backend_from_config(app.config),
                lease=timedelta(seconds=app.config["REMINDERS_LEASE_SECONDS"]),
                limit=SEND_BATCH,
            )
        finally:
            db.session.remove()


def build_scheduler(app: Flask) -> BlockingScheduler:
    """Return the scheduler with its jobs, not yet started."""
    scheduler = BlockingScheduler(
        timezone=LONDON,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600},
    )
    scheduler.add_job(
        queue_due_job,
        CronTrigger(hour="8-18", minute=0, timezone=LONDON),
        args=[app],
        id="queue-due",
        name="Queue the reminders that are due",
    )
    scheduler.add_job(
        send_queued_job,
        IntervalTrigger(seconds=SEND_INTERVAL_SECONDS, timezone=LONDON),
        args=[app],
        id="send-queued",
        name="Send queued reminders",
    )
    scheduler.add_job(
        fund_when_due_job,
        CronTrigger(hour=0, minute=5, timezone=LONDON),
        args=[app],
        id="fund-when-due",
        name="Fund waiting claims that now fit",
    )
    scheduler.add_job(
        publish_job,
        CronTrigger(**publication.PUBLISH_CRON, timezone=LONDON),
        args=[app],
        id="publish-uptake",
        name="Publish the public uptake figures",
    )
    return scheduler


def run_scheduler(app: Flask) -> None:
    """Run the scheduler in the foreground until SIGINT or SIGTERM; the job in hand finishes."""
    scheduler = build_scheduler(app)

    def stop(signum, frame):
        # Only raise here: a signal handler runs between any two steps of the main thread,
        # maybe inside the scheduler's own locks, so stopping it here could deadlock.
        logger.info("Scheduler stopping (signal %s)", signum)
        raise SystemExit(0)

    def started(event):
        jobs = ", ".join(sorted(job.id for job in scheduler.get_jobs()))
        logger.info("Scheduler started with jobs: %s", jobs)

    # Once before the jobs start, in case the machine was down at midnight or on Thursday
    # morning: here, not as a job, so that no job is in hand when the scheduler is told to stop.
    fund_when_due_job(app)
    publish_job(app)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
    try:
        scheduler.start()
    except SystemExit:
        if scheduler.running:
            scheduler.shutdown(wait=True)
    logger.info("Scheduler stopped")


def leave() -> None:
    """End the scheduler's process once it has stopped in order (its job in hand finished).

    A thread some library left running must not keep the process, and whatever supervises
    it, waiting after a stop: any such thread is named in the log, then the process ends.
    """
    lingering = [
        t.name
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]
    if lingering:
        logger.warning("Leaving with threads still running: %s", ", ".join(lingering))
    logging.shutdown()
    os._exit(0)
