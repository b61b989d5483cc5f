"""Mail backends: how a queued reminder leaves the service, chosen by MAIL_BACKEND.

- ``outbox``: keeps the message and logs it (development);
- ``smtp``: sends through a mail server (SMTP_HOST, SMTP_PORT, SMTP_USERNAME,
  SMTP_PASSWORD, SMTP_STARTTLS, MAIL_FROM);
- ``notify``: sends through GOV.UK Notify (NOTIFY_API_KEY, and a template id on the rule
  or NOTIFY_TEMPLATE_ID).

Every backend answers a message in one of three ways: a delivery reference (sent), a
``TemporaryFailure`` (try again later), or a ``PermanentFailure`` (never try again).
A failure of the backend itself, such as a wrong password, is temporary: the message is
not at fault, and it goes out once the backend is put right.
"""

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from tracker.models import OutboxMessage

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The message was not sent; the reason is fit to record."""


class TemporaryFailure(DeliveryError):
    """The message may go through later: a 4xx reply, a dropped connection, a timeout."""


class PermanentFailure(DeliveryError):
    """The message will never go through as it is: a 5xx reply to it."""


class MailBackend(Protocol):
    name: str

    def send(self, message: OutboxMessage) -> str:
        """Send the message and return a delivery reference, or raise a DeliveryError."""

    def close(self) -> None:
        """Let go of any connection held between messages."""


class OutboxOnlyBackend:
    """Keep messages in the outbox and log them; nothing leaves the machine."""

    name = "outbox"

    def send(self, message: OutboxMessage) -> str:
        logger.info(
            "Reminder %s kept in the outbox for %s: %s",
            message.id,
            message.recipient,
            message.subject,
        )
        return f"outbox-{message.id}"

    def close(self) -> None:
        pass


class SmtpBackend:
    """Send through an SMTP server, reusing one connection for a run of messages."""

    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        mail_from: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.mail_from = mail_from
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            # A connection kept from the last message may have been closed by the server
            # since; find out now rather than fail this message for it.
            try:
                self._smtp.noop()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
                self._smtp = None
        if self._smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def _email(self, message: OutboxMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        domain = self.mail_from.rpartition("@")[2] or None
        email["Message-ID"] = make_msgid(idstring=f"reminder-{message.id}", domain=domain)
        # The outbox row, for support to trace a message that bounced or arrived twice.
        email["X-Tracker-Reminder"] = str(message.id)
        email.set_content(message.body)
        return email

    def send(self, message: OutboxMessage) -> str:
        try:
            email = self._email(message)
            # Rendered now, so that a header the message cannot carry fails it here, alone.
            email.as_bytes()
        except (ValueError, TypeError) as exc:
            raise PermanentFailure(f"The message cannot be sent as it is: {exc}") from exc
        try:
            self._connection().send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            code, reply = next(iter(exc.recipients.values()))
            raise _by_code(code, reply) from exc
        except smtplib.SMTPAuthenticationError as exc:
            # The account is wrong, not the message: keep it for when the account is fixed.
            self.close()
            logger.error("The mail server refused the SMTP login: %s", exc)
            reason = f"SMTP login refused: {exc.smtp_code} {_text(exc.smtp_error)}"
            raise TemporaryFailure(reason) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise _by_code(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Dropped connections, refused connections and timeouts (socket.timeout is
            # an OSError) say nothing about the message: try again later.
            self.close()
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        return email["Message-ID"]

    def close(self) -> None:
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _by_code(code: int, reply: bytes | str) -> DeliveryError:
    reason = f"{code} {_text(reply)}"
    if 400 <= code < 500:
        return TemporaryFailure(reason)
    if 500 <= code < 600:
        return PermanentFailure(reason)
    return TemporaryFailure(f"unexpected reply {reason}")


class NotifyBackend:
    """Send through GOV.UK Notify, with the message's template or the default one."""

    name = "notify"

    def __init__(self, *, api_key: str, default_template_id: str | None, client=None) -> None:
        if client is None:
            from notifications_python_client.notifications import NotificationsAPIClient

            client = NotificationsAPIClient(api_key)
        self.client = client
        self.default_template_id = default_template_id

    def send(self, message: OutboxMessage) -> str:
        from notifications_python_client.errors import APIError

        template_id = message.notify_template_id or self.default_template_id
        if not template_id:
            raise PermanentFailure("No Notify template: set NOTIFY_TEMPLATE_ID or the rule's")
        personalisation = {
            **{k: str(v) for k, v in message.personalisation.items()},
            "subject": message.subject,
            "body": message.body,
        }
        try:
            response = self.client.send_email_notification(
                email_address=message.recipient,
                template_id=template_id,
                personalisation=personalisation,
                reference=f"outbox-{message.id}",
            )
        except APIError as exc:
            # Notify answers 400 to a message it will never accept; 403 (a bad key),
            # 429 (rate limit) and 5xx are the service's state, not the message's.
            if exc.status_code == 400:
                raise PermanentFailure(f"Notify 400: {exc.message}") from exc
            raise TemporaryFailure(f"Notify {exc.status_code}: {exc.message}") from exc
        except OSError as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        return str(response.get("id", ""))

    def close(self) -> None:
        pass


def backend_from_config(config) -> MailBackend:
    """Build the backend MAIL_BACKEND names, from the application's settings."""
    name = (config.get("MAIL_BACKEND") or "outbox").lower()
    if name == "outbox":
        return OutboxOnlyBackend()
    if name == "smtp":
        return SmtpBackend(
            host=config["SMTP_HOST"],
            port=int(config["SMTP_PORT"]),
            mail_from=config["MAIL_FROM"],
            username=config.get("SMTP_USERNAME"),
            password=config.get("SMTP_PASSWORD"),
            starttls=bool(config.get("SMTP_STARTTLS")),
            timeout=float(config.get("SMTP_TIMEOUT_SECONDS", 30)),
        )
    if name == "notify":
        if not config.get("NOTIFY_API_KEY"):
            raise RuntimeError("MAIL_BACKEND=notify needs NOTIFY_API_KEY")
        return NotifyBackend(
            api_key=config["NOTIFY_API_KEY"], default_template_id=config.get("NOTIFY_TEMPLATE_ID")
        )
    raise RuntimeError(f"MAIL_BACKEND={name!r} is not one of outbox, smtp, notify")
