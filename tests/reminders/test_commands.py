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


def test_a_run_sends_every_other_message_when_one_has_a_subject_mail_cannot_carry(
    app, session, runner, smtp_server
):
    # Three people due a reminder; a fourth message queued before subjects had to be one
    # line has a line break in its subject, as the one that stopped every run did.
    for email in ("ada@example.com", "bob@example.com", "cy@example.com"):
        cohort = factories.create_cohort(session, starts_on=TODAY + timedelta(days=10))
        helpers.funded_claim(session, cohort, email=email)
    session.commit()
    assert runner.invoke(args=["tracker", "reminders", "run", "--now", NOW]).exit_code == 0
    session.execute(sa.update(OutboxMessage).values(status="queued"))
    first = session.scalar(sa.select(sa.func.min(OutboxMessage.id)))
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == first)
        .values(subject="Starting soon\r\nBcc: everyone@example.com")
    )
    session.commit()
    settings = {
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": smtp_server.port,
    }
    before = {key: app.config[key] for key in settings}
    app.config.update(settings)
    try:
        result = runner.invoke(args=["tracker", "reminders", "run", "--now", NOW])
    finally:
        app.config.update(before)

    assert result.exit_code == 0, result.output
    assert "Sent 2 through smtp; to retry later: 0; failed: 1" in result.output
    session.expire_all()
    messages = session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.status for m in messages] == ["failed", "sent", "sent"]
    assert "cannot be sent as it is" in messages[0].last_error
    assert len(smtp_server.received) == 2
