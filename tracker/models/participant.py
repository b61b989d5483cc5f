"""A person in training: one record per email address and per TRN, the ledger's own.

Organisations never see this record: each claim keeps the person's details as the
organisation that made it gave them (``Claim.full_name``, ``email``, ``trn``). Where a
claim's details differ from the record, the difference is kept as a conflict for DfE.
"""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, enum_column, utcnow


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    # As first given: details given later, by any organisation, never change it.
    full_name: Mapped[str] = mapped_column(sa.String(200))
    # Stored lower-cased, so one address is one person whatever its capitals.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    # Added when first given, so that the TRN is caught with another email address.
    trn: Mapped[str | None] = mapped_column(sa.String(7), unique=True)
    # Set when the person asks to stop non-essential reminders.
    reminders_opted_out_dt: Mapped[datetime | None]
    created_dt: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Participant {self.id}>"


class ConflictField(enum.StrEnum):
    FULL_NAME = "full_name"
    TRN = "trn"

    @property
    def label(self) -> str:
        return {"full_name": "Full name", "trn": "TRN"}[self.value]


class ParticipantConflict(Base):
    """A claim naming a known person with details that differ from the ledger's record.

    Neither copy is changed: DfE finds out which is right, from the organisations
    involved, and marks the conflict resolved with a note of what was done.
    """

    __tablename__ = "participant_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    field: Mapped[ConflictField] = mapped_column(enum_column(ConflictField))
    # The record's value when the claim was made, and the claim's (None: not given).
    recorded: Mapped[str | None] = mapped_column(sa.String(200))
    given: Mapped[str | None] = mapped_column(sa.String(200))
    created_dt: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    resolved_dt: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(sa.Text)

    participant: Mapped[Participant] = relationship()
    claim: Mapped["Claim"] = relationship()  # noqa: F821

    @property
    def is_resolved(self) -> bool:
        return self.resolved_dt is not None

    def __repr__(self) -> str:
        return f"<ParticipantConflict {self.id} {self.field}>"
