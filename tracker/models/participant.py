"""A person in training: one record per email address and per TRN."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import Base, utcnow


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    # Stored lower-cased, so one address is one person whatever its capitals.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    trn: Mapped[str | None] = mapped_column(sa.String(7), unique=True)
    # Set when the person asks to stop non-essential reminders.
    reminders_opted_out_dt: Mapped[datetime | None]
    created_dt: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Participant {self.id}>"
