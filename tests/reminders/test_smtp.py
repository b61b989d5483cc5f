"""The SMTP backend against a real SMTP server that accepts, delays and refuses mail."""

import socket
import threading
from datetime import timedelta

import sqlalchemy as sa

from tests.reminders.smtp_server import free_port
from tracker.models import OutboxMessage
from tracker.models.base import utcnow
from tracker.reminders.audience import Recipient
from tracker.reminders.backends import SmtpBackend, backend_from_config
from tracker.reminders.defaults import DEFAULT_RULES, NO_PROGRESS
from tracker.reminders.outbox import Due, queue, send_queued


def _queue(session, *emails):
    values = {"programme": "NPQ", "cohort": "C1", "provider": "P", "last_progress_on": "1 May"}
    queue(
        session,
        [
            Due(DEFAULT_RULES[NO_PROGRESS], Recipient(e, "Ada", "participant"), "c:1", "p", values)
            for e in emails
        ],
    )
    session.commit()


def _rows(session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_message_is_delivered_to_the_server(session, smtp_server, smtp_backend):
    _queue(session, "ada@example.com", "bob@example.com")

    report = send_queued(session, smtp_backend)

    assert report.sent == 2
    [ada, bob] = _rows(session)
    delivered = {m["To"]: m for m in smtp_server.received}
    assert set(delivered) == {"ada@example.com", "bob@example.com"}
    mail = delivered["ada@example.com"]
    assert mail["Subject"] == "No progress recorded on NPQ since 1 May"
    assert mail["From"] == "reminders@tracker.test"
    assert mail["X-Tracker-Reminder"] == str(ada.id)
    assert "Dear Ada," in mail.get_payload()
    # A long Message-ID may arrive folded onto a second line: compare it unfolded.
    assert ada.status == "sent" and ada.delivery_reference == "".join(mail["Message-ID"].split())


def test_a_temporary_refusal_is_delivered_later(session, smtp_server, smtp_backend):
    _queue(session, "ada@example.com")
    smtp_server.behaviour.rcpt_reply = "451 4.3.0 Mailbox temporarily unavailable"
    now = utcnow()

    assert send_queued(session, smtp_backend, clock=lambda: now).retrying == 1
    [row] = _rows(session)
    assert row.status == "queued"
    assert row.last_error == "451 4.3.0 Mailbox temporarily unavailable"
    assert smtp_server.received == []

    smtp_server.behaviour.rcpt_reply = None
    later = now + timedelta(minutes=1)
    assert send_queued(session, smtp_backend, clock=lambda: later).sent == 1
    [row] = _rows(session)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(smtp_server.received) == 1


def test_a_temporary_refusal_of_the_message_itself_is_retried(session, smtp_server, smtp_backend):
    _queue(session, "ada@example.com")
    smtp_server.behaviour.data_reply = "452 4.3.1 Insufficient system storage"

    send_queued(session, smtp_backend)

    [row] = _rows(session)
    assert (row.status, row.last_error) == ("queued", "452 4.3.1 Insufficient system storage")


def test_a_permanent_refusal_is_recorded_as_failed_with_the_reason(
    session, smtp_server, smtp_backend
):
    _queue(session, "nobody@example.com", "ada@example.com")
    smtp_server.behaviour.rcpt_reply = "550 5.1.1 User unknown"

    report = send_queued(session, smtp_backend)

    assert report.failed == 2
    rows = _rows(session)
    assert {(r.status, r.last_error) for r in rows} == {("failed", "550 5.1.1 User unknown")}
    smtp_server.behaviour.rcpt_reply = None
    assert send_queued(session, smtp_backend, clock=lambda: utcnow() + timedelta(days=9)) == (
        report.__class__()
    )
    assert smtp_server.received == []


def test_a_permanent_refusal_of_the_message_is_recorded(session, smtp_server, smtp_backend):
    _queue(session, "ada@example.com")
    smtp_server.behaviour.data_reply = "554 5.7.1 Message rejected as spam"

    send_queued(session, smtp_backend)

    [row] = _rows(session)
    assert (row.status, row.last_error) == ("failed", "554 5.7.1 Message rejected as spam")


def test_a_server_too_slow_to_answer_is_a_temporary_failure(session, smtp_server):
    _queue(session, "ada@example.com")
    smtp_server.behaviour.delay_seconds = 1.0
    impatient = SmtpBackend(
        host=smtp_server.host, port=smtp_server.port, mail_from="r@tracker.test", timeout=0.2
    )

    assert send_queued(session, impatient).retrying == 1

    [row] = _rows(session)
    assert row.status == "queued" and "timed out" in row.last_error


def test_no_server_at_all_is_a_temporary_failure(session):
    _queue(session, "ada@example.com")
    nowhere = SmtpBackend(host="127.0.0.1", port=free_port(), mail_from="r@tracker.test")

    assert send_queued(session, nowhere).retrying == 1

    [row] = _rows(session)
    assert row.status == "queued" and "ConnectionRefusedError" in row.last_error


def test_mail_backend_chooses_the_backend():
    smtp = backend_from_config(
        {
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "mail.example.com",
            "SMTP_PORT": "587",
            "SMTP_STARTTLS": True,
            "SMTP_USERNAME": "u",
            "SMTP_PASSWORD": "p",
            "MAIL_FROM": "from@example.com",
        }
    )
    assert (smtp.name, smtp.host, smtp.port, smtp.starttls) == (
        "smtp",
        "mail.example.com",
        587,
        True,
    )
    assert backend_from_config({}).name == "outbox"
    notify = backend_from_config({"MAIL_BACKEND": "notify", "NOTIFY_API_KEY": _FAKE_NOTIFY_KEY})
    assert notify.name == "notify"


# A key of Notify's shape (name, service id, secret id); it is never sent anywhere.
_FAKE_NOTIFY_KEY = "test-11111111-1111-1111-1111-111111111111-22222222-2222-2222-2222-222222222222"


def test_a_connection_dropped_by_the_server_is_a_temporary_failure(session):
    _queue(session, "ada@example.com")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def hang_up():
            connection, _ = listener.accept()
            connection.close()

        thread = threading.Thread(target=hang_up)
        thread.start()
        rude = SmtpBackend(host="127.0.0.1", port=port, mail_from="r@tracker.test", timeout=5)
        report = send_queued(session, rude)
        thread.join()

    assert report.retrying == 1
    [row] = _rows(session)
    assert row.status == "queued" and "SMTPServerDisconnected" in row.last_error


def test_a_kept_connection_the_server_closed_is_opened_again(session, smtp_server, smtp_backend):
    _queue(session, "ada@example.com")
    send_queued(session, smtp_backend)
    smtp_backend._connection()  # kept open, as between two messages of one run
    smtp_backend._smtp.sock.close()  # and the server goes away meanwhile
    _queue(session, "bob@example.com")

    assert send_queued(session, smtp_backend).sent == 1
    assert len(smtp_server.received) == 2


def test_a_subject_no_mail_header_can_carry_fails_alone(session, smtp_server, smtp_backend):
    # A subject saved before subjects had to be one line: the header cannot be written.
    _queue(session, "ada@example.com", "bob@example.com", "cy@example.com", "di@example.com")
    [_ada, bob, *_rest] = _rows(session)
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == bob.id)
        .values(subject="Reminder\r\nBcc: everyone@example.com")
    )
    session.commit()

    report = send_queued(session, smtp_backend)

    assert (report.sent, report.failed) == (3, 1)
    rows = {row.recipient: row for row in _rows(session)}
    assert rows["bob@example.com"].status == "failed"
    assert "cannot be sent as it is" in rows["bob@example.com"].last_error
    assert rows["bob@example.com"].failed_dt is not None
    assert {e: r.status for e, r in rows.items() if e != "bob@example.com"} == {
        "ada@example.com": "sent",
        "cy@example.com": "sent",
        "di@example.com": "sent",
    }
    assert sorted(m["To"] for m in smtp_server.received) == [
        "ada@example.com",
        "cy@example.com",
        "di@example.com",
    ]
    assert all(m["Bcc"] is None for m in smtp_server.received)


class _BreaksOnOne(SmtpBackend):
    """The SMTP backend, with a fault no backend foresaw on one recipient's message."""

    def send(self, message):
        if message.recipient == "bob@example.com":
            raise RuntimeError("the mail library fell over")
        return super().send(message)


def test_any_error_sending_one_message_is_recorded_and_the_run_goes_on(session, smtp_server):
    _queue(session, "ada@example.com", "bob@example.com", "cy@example.com")
    backend = _BreaksOnOne(host=smtp_server.host, port=smtp_server.port, mail_from="r@t.test")

    report = send_queued(session, backend)

    assert (report.sent, report.failed) == (2, 1)
    rows = {row.recipient: row for row in _rows(session)}
    assert rows["bob@example.com"].status == "failed"
    assert rows["bob@example.com"].last_error == "RuntimeError: the mail library fell over"
    assert rows["bob@example.com"].lease_owner is None
    assert sorted(m["To"] for m in smtp_server.received) == ["ada@example.com", "cy@example.com"]
