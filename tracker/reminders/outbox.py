"""The outbox: every reminder is written here first, then sent from here exactly once.

Queueing writes a row whose key (rule, recipient, subject, period) is unique in the
database, in the same transaction as whatever caused it; a reminder queued twice, by
two processes at once or on two days, is one row (``INSERT ... ON CONFLICT DO NOTHING``).

Sending claims one row at a time with a conditional UPDATE: ``status='queued'`` and
due, or ``status='sending'`` with an expired lease. Only one sender's UPDATE can match,
on SQLite and on PostgreSQL alike, so two senders never send the same message. The
claim is committed before the message is sent and the result after, so a sender killed
half way leaves at most the one message it was sending; that message is claimed again
once its lease expires (it may then arrive twice: the one duplicate a mail protocol
without transactions cannot rule out).

Queueing flushes and never commits. ``send_queued`` is the exception: it is a job's
edge, and commits each claim and each result so that none is lost.
"""

import functools
import logging
import string
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from tracker.database import is_sqlite
from tracker.errors import DomainError
from tracker.formats import long_date
from tracker.models import Claim, OutboxMessage, OutboxStatus, Participant
from tracker.models.base import utcnow
from tracker.reminders.audience import Directory, Recipient
from tracker.reminders.backends import MailBackend, PermanentFailure, TemporaryFailure
from tracker.reminders.defaults import (
    CLAIM_RELEASED,
    DFE,
    PLACE_OFFERED,
    RuleSettings,
    rule_for,
)
from tracker.reminders.tokens import make_unsubscribe_token

logger = logging.getLogger(__name__)

# A temporary failure is retried after 1, 2, 4 ... minutes, at most 6 hours apart,
# and given up after MAX_ATTEMPTS (about two days).
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=6)
MAX_ATTEMPTS = 12
DEFAULT_LEASE = timedelta(minutes=5)
_INSERT_BATCH = 500


@dataclass(frozen=True)
class Due:
    """One reminder that is due: to whom, about what, for which period, and its words."""

    rule: RuleSettings
    recipient: Recipient
    subject_key: str
    period: str
    values: dict[str, Any] = field(default_factory=dict, compare=False)
    programme_id: int | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.rule.code, self.recipient.email, self.subject_key, self.period)

    @functools.cached_property
    def personalisation(self) -> dict[str, Any]:
        values = {"recipient_name": self.recipient.name, **self.values}
        if self.recipient.participant_id is not None and not self.rule.is_essential:
            token = make_unsubscribe_token(self.recipient.participant_id)
            if token:
                values["unsubscribe_token"] = token
        return values

    @property
    def subject(self) -> str:
        return render(self.rule.subject, self.personalisation)

    @property
    def body(self) -> str:
        text = render(self.rule.body, self.personalisation)
        token = self.personalisation.get("unsubscribe_token")
        if token:
            text += f"\n\nTo stop reminders like this one, go to {unsubscribe_url(token)}"
        return text


def unsubscribe_url(token: str) -> str:
    """The address of the page where a participant stops non-essential reminders."""
    return f"{current_app.config['SERVICE_URL'].rstrip('/')}/reminders/stop/{token}"


def render(template: str, values: dict[str, Any]) -> str:
    """Fill ${placeholders}; an unknown one is left as written rather than failing a run."""
    return string.Template(template).safe_substitute({k: str(v) for k, v in values.items()})


def _insert(session: Session):
    if is_sqlite(session.get_bind()):
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert(OutboxMessage)


def queue(session: Session, dues: Iterable[Due], *, now: datetime | None = None) -> int:
    """Write each due reminder to the outbox unless it is there already; return how many are new."""
    now = now or utcnow()
    # The same order in every process, so two runs inserting at once cannot deadlock.
    unique = {due.key: due for due in dues}
    rows = [
        {
            "rule_code": due.rule.code,
            "recipient": due.recipient.email,
            "subject_key": due.subject_key,
            "period": due.period,
            "programme_id": due.programme_id,
            "participant_id": due.recipient.participant_id,
            "is_essential": due.rule.is_essential,
            # One line: a mail header cannot hold a line break a placeholder's value brought.
            "subject": " ".join(due.subject.split())[:300],
            "body": due.body,
            "personalisation": due.personalisation,
            "notify_template_id": due.rule.notify_template_id,
            "status": OutboxStatus.QUEUED.value,
            "attempts": 0,
            "next_attempt_dt": now,
            "created_dt": now,
        }
        for _key, due in sorted(unique.items())
    ]
    added = 0
    for start in range(0, len(rows), _INSERT_BATCH):
        statement = (
            _insert(session)
            .values(rows[start : start + _INSERT_BATCH])
            .on_conflict_do_nothing()
            .returning(OutboxMessage.id)
        )
        added += len(session.execute(statement).all())
    if added:
        logger.info("Queued %d reminders (%d were queued already)", added, len(rows) - added)
    return added


def queue_place_offered(session: Session, claim: Claim) -> int:
    """Queue the message that a waiting claim got a funded place, in the caller's transaction."""
    funded = claim.funded_dt or utcnow()
    return _queue_about_claim(session, claim, PLACE_OFFERED, funded)


def queue_claim_released(session: Session, claim: Claim) -> int:
    """Queue the message that a waiting claim was released because its cohort stopped taking
    claims, in the caller's transaction."""
    return _queue_about_claim(
        session, claim, CLAIM_RELEASED, claim.ended_dt or utcnow(), reason=claim.end_reason or ""
    )


def _queue_about_claim(
    session: Session, claim: Claim, code: str, when: datetime, **extra: str
) -> int:
    rule = rule_for(session, claim.programme, code)
    if not rule.is_enabled:
        return 0
    cohort = claim.cohort
    values = {
        "participant_name": claim.full_name,
        "programme": claim.programme.name,
        "provider": cohort.provider.name,
        "cohort": cohort.name,
        "starts_on": long_date(cohort.starts_on),
        "setting": claim.setting.name if claim.setting else "",
        **extra,
    }
    dues = [
        Due(
            rule,
            recipient,
            subject_key=f"claim:{claim.id}",
            period=when.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            values=values,
            programme_id=claim.programme_id,
        )
        for recipient in Directory(
            session,
            setting_ids=[claim.setting_id] if claim.setting_id else [],
            provider_ids=[cohort.provider_id],
            dfe=DFE in rule.audience,
        ).for_claim(rule, claim)
    ]
    return queue(session, dues)


# -- sending -----------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    lost_lease: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed + self.cancelled + self.lost_lease


def retry_delay(attempts: int) -> timedelta:
    """How long to wait before the next attempt, after ``attempts`` attempts."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_MAX)


def _claimable(now: datetime):
    return sa.or_(
        sa.and_(
            OutboxMessage.status == OutboxStatus.QUEUED,
            OutboxMessage.next_attempt_dt <= now,
        ),
        sa.and_(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.lease_expires_dt < now,
            OutboxMessage.attempts < MAX_ATTEMPTS,
        ),
    )


def count_sendable(session: Session, now: datetime) -> int:
    """Count the messages a sender could claim now."""
    return session.scalar(sa.select(sa.func.count()).where(_claimable(now)))


def claim_next(
    session: Session, *, now: datetime, lease: timedelta = DEFAULT_LEASE
) -> tuple[OutboxMessage, str] | None:
    """Claim the next message to send, committed, with the lease token; None when none is due."""
    candidates = session.scalars(
        sa.select(OutboxMessage.id)
        .where(_claimable(now))
        .order_by(OutboxMessage.next_attempt_dt, OutboxMessage.id)
        .limit(20)
    ).all()
    for message_id in candidates:
        token = uuid.uuid4().hex
        result = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _claimable(now))
            .values(
                status=OutboxStatus.SENDING,
                lease_owner=token,
                lease_expires_dt=now + lease,
                last_attempt_dt=now,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            session.commit()
            message = session.get(OutboxMessage, message_id, populate_existing=True)
            # A detached copy: sending reads it without opening a transaction, so no
            # lock (SQLite's write lock above all) is held while the mail goes out.
            session.expunge(message)
            session.commit()
            return message, token
        # Another sender claimed it first: try the next one.
    session.commit()  # end the transaction, releasing SQLite's write lock
    return None


def _finish(session: Session, message: OutboxMessage, token: str, **values) -> bool:
    """Record a result if the lease is still ours; False if another sender took the message."""
    result = session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.lease_owner == token,
        )
        .values(lease_owner=None, lease_expires_dt=None, **values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if result.rowcount != 1:
        logger.warning(
            "Reminder %s: the lease expired while sending; another sender has it", message.id
        )
        return False
    return True


def _give_up_on_abandoned(session: Session, now: datetime) -> None:
    """Fail messages whose every attempt ended with the sender gone: they may be what kills it."""
    session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.lease_expires_dt < now,
            OutboxMessage.attempts >= MAX_ATTEMPTS,
        )
        .values(
            status=OutboxStatus.FAILED,
            failed_dt=now,
            lease_owner=None,
            lease_expires_dt=None,
            last_error=f"Given up: the sender stopped during each of {MAX_ATTEMPTS} attempts",
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _has_opted_out(session: Session, message: OutboxMessage) -> bool:
    if message.is_essential or message.participant_id is None:
        return False
    opted_out = session.scalar(
        sa.select(Participant.reminders_opted_out_dt).where(
            Participant.id == message.participant_id
        )
    )
    return opted_out is not None


def _close_quietly(backend: MailBackend) -> None:
    try:
        backend.close()
    except Exception:
        logger.warning("Could not close the %s mail backend", backend.name, exc_info=True)


def send_one(
    session: Session,
    backend: MailBackend,
    message: OutboxMessage,
    token: str,
    *,
    now: datetime,
    report: SendReport,
) -> None:
    """Send one claimed message and record what happened."""
    if _has_opted_out(session, message):
        reason = "The participant opted out of reminders"
        if _finish(session, message, token, status=OutboxStatus.CANCELLED, last_error=reason):
            report.cancelled += 1
        else:
            report.lost_lease += 1
        return
    session.commit()  # hold no transaction (nor SQLite's write lock) while the mail goes out
    try:
        reference = backend.send(message)
    except TemporaryFailure as exc:
        if message.attempts >= MAX_ATTEMPTS:
            values = {
                "status": OutboxStatus.FAILED,
                "failed_dt": utcnow(),
                "last_error": f"Given up after {message.attempts} attempts: {exc}",
            }
            counter = "failed"
        else:
            values = {
                "status": OutboxStatus.QUEUED,
                "next_attempt_dt": now + retry_delay(message.attempts),
                "last_error": str(exc),
            }
            counter = "retrying"
        logger.warning("Reminder %s not sent (attempt %d): %s", message.id, message.attempts, exc)
    except PermanentFailure as exc:
        values = {"status": OutboxStatus.FAILED, "failed_dt": utcnow(), "last_error": str(exc)}
        counter = "failed"
        logger.warning("Reminder %s refused for good: %s", message.id, exc)
    except Exception as exc:
        # Whatever else went wrong is this message's failure, recorded against it: the run
        # goes on to the next message. The backend starts afresh, in case it was left broken.
        logger.exception("Reminder %s failed unexpectedly", message.id)
        _close_quietly(backend)
        values = {
            "status": OutboxStatus.FAILED,
            "failed_dt": utcnow(),
            "last_error": f"{type(exc).__name__}: {exc}"[:1000],
        }
        counter = "failed"
    else:
        values = {
            "status": OutboxStatus.SENT,
            "sent_dt": utcnow(),
            "delivery_reference": reference[:200],
            "last_error": None,
        }
        counter = "sent"
    if _finish(session, message, token, **values):
        setattr(report, counter, getattr(report, counter) + 1)
    else:
        report.lost_lease += 1


def send_queued(
    session: Session,
    backend: MailBackend,
    *,
    clock: Callable[[], datetime] = utcnow,
    lease: timedelta = DEFAULT_LEASE,
    limit: int | None = None,
    on_message: Callable[[], None] | None = None,
) -> SendReport:
    """Send every message due now, one claim at a time, until none is left (or ``limit``)."""
    report = SendReport()
    _give_up_on_abandoned(session, clock())
    try:
        while limit is None or report.attempted < limit:
            now = clock()
            claimed = claim_next(session, now=now, lease=lease)
            if claimed is None:
                break
            message, token = claimed
            send_one(session, backend, message, token, now=now, report=report)
            if on_message is not None:
                on_message()
    finally:
        backend.close()
    if report.attempted:
        logger.info(
            "Reminders sent: %d, to retry: %d, failed: %d, cancelled: %d",
            report.sent,
            report.retrying,
            report.failed,
            report.cancelled,
        )
    return report


def send_again(session: Session, message: OutboxMessage) -> None:
    """Queue a failed or cancelled message to be sent again, as soon as a sender is free."""
    if message.status not in (OutboxStatus.FAILED, OutboxStatus.CANCELLED):
        raise DomainError(f"A {message.status.value} message cannot be sent again", field="status")
    message.status = OutboxStatus.QUEUED
    message.attempts = 0
    message.next_attempt_dt = utcnow()
    message.failed_dt = None
    session.flush()
    logger.info("Reminder %s queued to be sent again", message.id)


# -- what a page needs -------------------------------------------------------------------


def list_messages(
    session: Session,
    *,
    status: OutboxStatus | str | None = None,
    rule_code: str | None = None,
    recipient: str | None = None,
    programme_id: int | None = None,
    participant_id: int | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[OutboxMessage]:
    """List outbox messages, newest first, filtered by any of the arguments."""
    query = sa.select(OutboxMessage)
    if status is not None:
        query = query.where(OutboxMessage.status == OutboxStatus(status))
    if rule_code is not None:
        query = query.where(OutboxMessage.rule_code == rule_code)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient.strip().lower())
    if programme_id is not None:
        query = query.where(OutboxMessage.programme_id == programme_id)
    if participant_id is not None:
        query = query.where(OutboxMessage.participant_id == participant_id)
    if created_from is not None:
        query = query.where(OutboxMessage.created_dt >= created_from)
    if created_to is not None:
        query = query.where(OutboxMessage.created_dt < created_to)
    query = query.order_by(OutboxMessage.created_dt.desc(), OutboxMessage.id.desc())
    return list(session.scalars(query.limit(limit).offset(offset)))


def count_by_status(session: Session) -> dict[str, int]:
    """Count outbox messages in each status."""
    rows = session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = {s.value: 0 for s in OutboxStatus}
    counts.update({status.value: n for status, n in rows})
    return counts


def queued_keys(session: Session, keys: Iterable[tuple[str, str, str, str]]) -> set[tuple]:
    """Return which of these (rule, recipient, subject, period) keys are in the outbox already."""
    keys = list(set(keys))
    columns = (
        OutboxMessage.rule_code,
        OutboxMessage.recipient,
        OutboxMessage.subject_key,
        OutboxMessage.period,
    )
    found: set[tuple] = set()
    for start in range(0, len(keys), _INSERT_BATCH):
        chunk = keys[start : start + _INSERT_BATCH]
        rows = session.execute(sa.select(*columns).where(sa.tuple_(*columns).in_(chunk)))
        found.update(tuple(row) for row in rows)
    return found
