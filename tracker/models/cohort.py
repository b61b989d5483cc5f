"""A provider's cohort: the places it offers on a programme, starting on a date."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, enum_column, utcnow
from tracker.models.organisation import Provider
from tracker.models.programme import Programme


class CohortStatus(enum.StrEnum):
    OPEN = "open"  # taking claims
    CLOSED = "closed"  # no new claims; training goes on
    CANCELLED = "cancelled"


class Cohort(Base):
    __tablename__ = "cohorts"
    __table_args__ = (
        sa.UniqueConstraint("provider_id", "programme_id", "name"),
        sa.CheckConstraint("places >= 0", name="places_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    places: Mapped[int]
    status: Mapped[CohortStatus] = mapped_column(
        enum_column(CohortStatus), default=CohortStatus.OPEN
    )
    created_dt: Mapped[datetime] = mapped_column(default=utcnow)

    programme: Mapped[Programme] = relationship()
    provider: Mapped[Provider] = relationship()

    def __repr__(self) -> str:
        return f"<Cohort {self.id} {self.name}>"
