"""The outbox: a unique key per reminder, one claim per message, retries and failures."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tracker.errors import DomainError
from tracker.models import OutboxMessage, OutboxStatus, Participant
from tracker.models.base import utcnow
from tracker.reminders import outbox
from tracker.reminders.audience import Recipient
from tracker.reminders.backends import OutboxOnlyBackend, PermanentFailure, TemporaryFailure
from tracker.reminders.defaults import DEFAULT_RULES, NO_PROGRESS, PLACE_OFFERED, change_rule
from tracker.reminders.outbox import Due, claim_next, count_by_status, list_messages, queue


def _due(email="ada@example.com", *, period="2026-03", rule=NO_PROGRESS, participant_id=None):
    recipient = Recipient(email, "Ada", "participant", participant_id)
    values = {"programme": "NPQ", "cohort": "C1", "provider": "P", "last_progress_on": "1 May"}
    return Due(DEFAULT_RULES[rule], recipient, "claim:1", period, values)


class Scripted:
    """A backend that answers from a script: a reference, or an exception to raise."""

    name = "scripted"

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []
        self.closed = 0

    def send(self, message):
        answer = self.answers.pop(0) if self.answers else "ok"
        if isinstance(answer, Exception):
            raise answer
        self.sent.append(message.id)
        return answer

    def close(self):
        self.closed += 1


def _row(session) -> OutboxMessage:
    session.expire_all()
    return session.scalar(sa.select(OutboxMessage))


def test_the_database_refuses_a_second_row_with_the_same_key(session):
    queue(session, [_due()])
    session.commit()
    row = _row(session)
    session.add(
        OutboxMessage(
            rule_code=row.rule_code,
            recipient=row.recipient,
            subject_key=row.subject_key,
            period=row.period,
            subject="again",
            body="again",
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()
    session.rollback()


def test_queueing_the_same_reminder_again_adds_nothing(session):
    assert queue(session, [_due(), _due()]) == 1
    assert queue(session, [_due()]) == 0
    assert queue(session, [_due(period="2026-04")]) == 1
    row = _row(session)
    assert row.subject == "No progress recorded on NPQ since 1 May"
    assert row.status == OutboxStatus.QUEUED and row.attempts == 0


def test_a_message_is_claimed_by_one_sender_only(session):
    queue(session, [_due()])
    session.commit()
    now = utcnow()

    first = claim_next(session, now=now)
    second = claim_next(session, now=now)

    assert first is not None and second is None
    message, token = first
    row = _row(session)
    assert (row.status, row.lease_owner, row.attempts) == (OutboxStatus.SENDING, token, 1)
    assert row.lease_expires_dt == now + outbox.DEFAULT_LEASE


def test_a_killed_senders_message_is_sent_once_its_lease_expires(session):
    queue(session, [_due()])
    session.commit()
    now = utcnow()
    claim_next(session, now=now)  # and the sender dies here

    backend = Scripted()
    assert outbox.send_queued(session, backend, clock=lambda: now + timedelta(minutes=1)).sent == 0
    later = now + outbox.DEFAULT_LEASE + timedelta(seconds=1)
    report = outbox.send_queued(session, backend, clock=lambda: later)

    assert report.sent == 1 and backend.sent == [_row(session).id]
    row = _row(session)
    assert (row.status, row.attempts, row.lease_owner) == (OutboxStatus.SENT, 2, None)


def test_a_result_is_not_recorded_by_a_sender_that_lost_its_lease(session):
    queue(session, [_due()])
    session.commit()
    now = utcnow()
    message, slow_token = claim_next(session, now=now)
    later = now + outbox.DEFAULT_LEASE + timedelta(seconds=1)
    _, token = claim_next(session, now=later)

    assert outbox._finish(session, message, slow_token, status=OutboxStatus.SENT) is False
    assert _row(session).lease_owner == token


def test_a_temporary_failure_is_retried_with_back_off(session):
    queue(session, [_due()])
    session.commit()
    now = utcnow()
    backend = Scripted(TemporaryFailure("451 4.3.0 try later"), TemporaryFailure("timed out"))

    first = outbox.send_queued(session, backend, clock=lambda: now)
    row = _row(session)
    assert first.retrying == 1
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "451 4.3.0 try later")
    assert row.next_attempt_dt == now + timedelta(minutes=1)

    # Not before its time; then a second failure doubles the wait; then it goes.
    assert outbox.send_queued(session, backend, clock=lambda: now + timedelta(seconds=59)) == (
        outbox.SendReport()
    )
    outbox.send_queued(session, backend, clock=lambda: now + timedelta(minutes=1))
    assert _row(session).next_attempt_dt == now + timedelta(minutes=3)
    report = outbox.send_queued(session, backend, clock=lambda: now + timedelta(minutes=3))

    row = _row(session)
    assert report.sent == 1
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert row.delivery_reference == "ok"


def test_back_off_doubles_up_to_six_hours():
    delays = [outbox.retry_delay(n) for n in (1, 2, 3, 10, 12)]
    assert delays == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(hours=6),
        timedelta(hours=6),
    ]


def test_a_permanent_failure_is_recorded_with_its_reason_and_not_retried(session):
    queue(session, [_due()])
    session.commit()
    backend = Scripted(PermanentFailure("550 5.1.1 No such user"))

    report = outbox.send_queued(session, backend)

    row = _row(session)
    assert report.failed == 1
    assert (row.status, row.last_error) == ("failed", "550 5.1.1 No such user")
    assert row.failed_dt is not None
    far = utcnow() + timedelta(days=30)
    assert outbox.send_queued(session, backend, clock=lambda: far).attempted == 0


def test_temporary_failures_are_given_up_after_the_last_attempt(session):
    queue(session, [_due()])
    session.commit()
    session.execute(sa.update(OutboxMessage).values(attempts=outbox.MAX_ATTEMPTS - 1))
    session.commit()

    outbox.send_queued(session, Scripted(TemporaryFailure("421 busy")))

    row = _row(session)
    assert row.status == "failed"
    assert row.last_error == f"Given up after {outbox.MAX_ATTEMPTS} attempts: 421 busy"


def test_a_message_that_kills_every_sender_is_given_up(session):
    queue(session, [_due()])
    session.commit()
    past = utcnow() - timedelta(hours=1)
    session.execute(
        sa.update(OutboxMessage).values(
            status="sending",
            attempts=outbox.MAX_ATTEMPTS,
            lease_owner="dead",
            lease_expires_dt=past,
        )
    )
    session.commit()

    assert outbox.send_queued(session, Scripted()).attempted == 0
    assert _row(session).status == "failed"


def test_a_message_to_someone_who_opted_out_since_is_cancelled_unless_essential(session):
    participant = Participant(full_name="Ada", email="ada@example.com")
    session.add(participant)
    session.flush()
    queue(session, [_due(participant_id=participant.id)])
    queue(session, [_due(participant_id=participant.id, rule=PLACE_OFFERED)])
    participant.reminders_opted_out_dt = utcnow()
    session.commit()
    backend = Scripted()

    report = outbox.send_queued(session, backend)

    assert (report.sent, report.cancelled) == (1, 1)
    statuses = dict(session.execute(sa.select(OutboxMessage.rule_code, OutboxMessage.status)).all())
    assert statuses == {NO_PROGRESS: "cancelled", PLACE_OFFERED: "sent"}


def test_the_outbox_backend_keeps_the_message_without_sending_it(session):
    queue(session, [_due()])
    session.commit()

    report = outbox.send_queued(session, OutboxOnlyBackend())

    row = _row(session)
    assert report.sent == 1 and row.delivery_reference == f"outbox-{row.id}"
    assert row.body.startswith("Dear Ada,")


def test_messages_can_be_listed_and_counted(session):
    queue(session, [_due("a@example.com"), _due("b@example.com")])
    session.commit()
    outbox.send_queued(session, Scripted(PermanentFailure("550 no")), limit=1)

    assert count_by_status(session)["failed"] == 1
    assert count_by_status(session)["queued"] == 1
    [failed] = list_messages(session, status="failed")
    assert failed.last_error == "550 no"
    assert [m.recipient for m in list_messages(session, recipient="B@example.com")] == [
        "b@example.com"
    ]
    assert len(list_messages(session, rule_code=NO_PROGRESS)) == 2
    assert list_messages(session, rule_code=PLACE_OFFERED) == []
    assert list_messages(session, created_from=utcnow() + timedelta(minutes=1)) == []


def test_the_unique_key_survives_a_programme_rename(session):
    # The key is (rule, recipient, subject, period), not the words: rewording a rule
    # does not send a reminder again.
    prog = factories.programme(session)
    queue(session, [_due()])
    prog.name = "Renamed"
    changed = Due(
        DEFAULT_RULES[NO_PROGRESS], _due().recipient, "claim:1", "2026-03", {"programme": "X"}
    )
    assert queue(session, [changed]) == 0


def test_a_failed_message_can_be_sent_again(session):
    queue(session, [_due()])
    session.commit()
    outbox.send_queued(session, Scripted(PermanentFailure("550 no such user")))
    row = _row(session)

    outbox.send_again(session, row)
    session.commit()
    report = outbox.send_queued(session, Scripted())

    row = _row(session)
    assert report.sent == 1 and (row.status, row.attempts) == ("sent", 1)
    with pytest.raises(DomainError, match="A sent message cannot be sent again"):
        outbox.send_again(session, row)


def test_a_subject_is_queued_as_one_line_whatever_its_placeholders_bring(session):
    values = {"programme": "NPQ\r\nBcc: everyone@example.com", "last_progress_on": "1 May"}
    recipient = Recipient("ada@example.com", "Ada", "participant")

    queue(session, [Due(DEFAULT_RULES[NO_PROGRESS], recipient, "c:1", "p", values)])

    subject = session.scalar(sa.select(OutboxMessage.subject))
    assert subject == "No progress recorded on NPQ Bcc: everyone@example.com since 1 May"


def test_a_rule_subject_must_be_one_line(session):
    programme = factories.programme(session, "npq-senco")
    with pytest.raises(DomainError, match="one line") as refused:
        change_rule(session, programme, NO_PROGRESS, subject="Hello\r\nBcc: a@example.com")

    assert refused.value.field == "subject"
