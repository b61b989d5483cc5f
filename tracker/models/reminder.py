"""Reminders: the rules DfE can change, and the outbox every message passes through."""

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import NOT_AUDITED, Base, enum_column, utcnow
from tracker.models.programme import Programme


class ReminderRule(Base):
    """How one kind of reminder works on one programme: its days, audience and wording.

    Rows override the defaults in ``tracker.reminders.defaults``; a programme without a
    row for a rule uses the default, so a reminder is never lost for want of a row.
    """

    __tablename__ = "reminder_rules"
    __table_args__ = (sa.UniqueConstraint("programme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"))
    # Which rule: one of tracker.reminders.defaults.RULE_CODES.
    code: Mapped[str] = mapped_column(sa.String(40))
    # The rule's number of days: ahead of a date, after it, or without progress.
    days: Mapped[int | None]
    # For a weekly rule the ISO weekday (1 is Monday), for a monthly one the day of the month.
    day_of_period: Mapped[int | None]
    # Who is told: any of participant, setting, provider, dfe.
    audience: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    subject: Mapped[str] = mapped_column(sa.String(200))
    # Plain text with ${placeholders}; see tracker.reminders.rules for the names each rule fills.
    body: Mapped[str] = mapped_column(sa.Text)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # Essential reminders are sent even to participants who opted out of reminders.
    is_essential: Mapped[bool] = mapped_column(default=False)
    # The GOV.UK Notify template, when the Notify backend is used; else the default one.
    notify_template_id: Mapped[str | None] = mapped_column(sa.String(36))
    # Bookkeeping: each audit event has its own time.
    updated_dt: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, info=NOT_AUDITED)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    programme: Mapped[Programme] = relationship()

    def __repr__(self) -> str:
        return f"<ReminderRule {self.code} programme={self.programme_id}>"


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting to be sent, now or at next_attempt_dt
    SENDING = "sending"  # claimed by a sender until lease_expires_dt
    SENT = "sent"
    FAILED = "failed"  # refused for good, or given up on; last_error says why
    CANCELLED = "cancelled"  # not sent: the person opted out after it was queued


class OutboxMessage(Base):
    """One reminder to one person, written before it is sent and kept after.

    The key (rule, recipient, subject, period) is unique, so a reminder computed twice,
    by two processes at once or on two days, is queued once.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.UniqueConstraint("rule_code", "recipient", "subject_key", "period"),
        sa.Index("ix_outbox_messages_status_next_attempt", "status", "next_attempt_dt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_code: Mapped[str] = mapped_column(sa.String(40))
    recipient: Mapped[str] = mapped_column(sa.String(254), index=True)
    # What the reminder is about, e.g. "claim:12:milestone:3", and for which period,
    # e.g. the date a milestone falls due, "2026-W48" or "2026-11".
    subject_key: Mapped[str] = mapped_column(sa.String(120))
    period: Mapped[str] = mapped_column(sa.String(40))
    programme_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    participant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    is_essential: Mapped[bool] = mapped_column(default=False)
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    personalisation: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    notify_template_id: Mapped[str | None] = mapped_column(sa.String(36))
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_dt: Mapped[datetime] = mapped_column(default=utcnow)
    # Who holds the message while sending it, and until when: a sender killed half way
    # leaves its message to be claimed again once the lease expires.
    lease_owner: Mapped[str | None] = mapped_column(sa.String(32))
    lease_expires_dt: Mapped[datetime | None]
    last_attempt_dt: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # The mail server's Message-ID or Notify's notification id.
    delivery_reference: Mapped[str | None] = mapped_column(sa.String(200))
    created_dt: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_dt: Mapped[datetime | None]
    failed_dt: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.rule_code} {self.status}>"
