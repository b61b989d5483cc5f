"""`flask tracker reminders ...`: run, dry run, preview and the outbox listing."""

from datetime import date, timedelta

import sqlalchemy as sa

from tests import factories
from tests.reminders import helpers
from tracker.models import OutboxMessage, ReminderRule

NOW = "2026-03-02T09:00"
TODAY = date(2026, 3, 2)


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _one_due(session):
    cohort = factories.create_cohort(session, starts_on=TODAY + timedelta(days=10))
    helpers.funded_claim(session, cohort, email="ada@example.com")
    session.commit()


def test_a_dry_run_shows_what_is_due_and_writes_nothing(session, runner):
    _one_due(session)

    result = runner.invoke(args=["tracker", "reminders", "run", "--now", NOW, "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "not yet queued: 1" in result.output
    assert "cohort-starting" in result.output and "ada@example.com" in result.output
    assert _count(session, OutboxMessage) == 0
    assert _count(session, ReminderRule) == 0


def test_a_run_writes_the_default_rules_queues_and_sends(session, runner):
    _one_due(session)

    result = runner.invoke(args=["tracker", "reminders", "run", "--now", NOW])

    assert result.exit_code == 0, result.output
    assert "newly queued: 1" in result.output
    assert "Sent 1 through outbox" in result.output
    assert _count(session, ReminderRule) > 0
    listing = runner.invoke(args=["tracker", "reminders", "outbox", "--status", "sent"])
    assert "sent: 1" in listing.output and "ada@example.com" in listing.output


def test_now_must_be_an_iso_date_time(runner):
    result = runner.invoke(args=["tracker", "reminders", "run", "--now", "next tuesday"])
    assert result.exit_code == 2
    assert "is not an ISO date and time" in result.output


def test_preview_lists_the_coming_days(session, runner):
    today = date.today()  # noqa: DTZ011  (the command previews from today)
    cohort = factories.create_cohort(session, starts_on=today + timedelta(days=16))
    helpers.funded_claim(session, cohort, email="ada@example.com")
    session.commit()

    result = runner.invoke(args=["tracker", "reminders", "preview", "--days", "7"])

    assert result.exit_code == 0, result.output
    assert "cohort-starting" in result.output and "ada@example.com" in result.output
