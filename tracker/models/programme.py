"""Programmes, their milestone schedules, targets over time and region quotas."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, utcnow
from tracker.models.reference import Region

programme_priority_regions = sa.Table(
    "programme_priority_regions",
    Base.metadata,
    sa.Column("programme_id", sa.ForeignKey("programmes.id"), primary_key=True),
    sa.Column("region_id", sa.ForeignKey("regions.id"), primary_key=True),
)

region_quota_regions = sa.Table(
    "region_quota_regions",
    Base.metadata,
    sa.Column("region_quota_id", sa.ForeignKey("region_quotas.id"), primary_key=True),
    sa.Column("region_id", sa.ForeignKey("regions.id"), primary_key=True),
)


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # Setting kinds whose staff may claim a place; empty means claims carry no setting
    # (EP trainees are recruited by universities, not claimed by a setting).
    eligible_setting_kinds: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # How many funded places one setting may hold at once; None means no limit.
    places_per_setting: Mapped[int | None]
    # Years a qualified EP must work in an English local authority (sources say 2 or 3).
    commitment_years: Mapped[int | None]
    ends_on: Mapped[date | None]
    # Bumped by every ledger operation: the row lock it takes serialises place
    # decisions for the programme, and its value orders the waiting list.
    ledger_seq: Mapped[int] = mapped_column(default=0, server_default="0")

    milestones: Mapped[list["Milestone"]] = relationship(
        back_populates="programme", order_by="Milestone.position"
    )
    targets: Mapped[list["ProgrammeTarget"]] = relationship(
        back_populates="programme",
        order_by=lambda: [ProgrammeTarget.effective_on, ProgrammeTarget.id],
    )
    priority_regions: Mapped[list[Region]] = relationship(secondary=programme_priority_regions)
    region_quotas: Mapped[list["RegionQuota"]] = relationship(back_populates="programme")

    def __repr__(self) -> str:
        return f"<Programme {self.code}>"


class Milestone(Base):
    __tablename__ = "milestones"
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "code"),
        sa.UniqueConstraint("programme_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"))
    code: Mapped[str] = mapped_column(sa.String(30))
    name: Mapped[str] = mapped_column(sa.String(120))
    # Declarations must come in this order; the first records the start of training
    # and the last its completion.
    position: Mapped[int]
    # When the milestone falls due, counted from the cohort's start date.
    due_after_days: Mapped[int]

    programme: Mapped[Programme] = relationship(back_populates="milestones")

    def __repr__(self) -> str:
        return f"<Milestone {self.code}>"


class ProgrammeTarget(Base):
    """The national number of funded places, as set on a date: the history is kept."""

    __tablename__ = "programme_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    places: Mapped[int]
    effective_on: Mapped[date]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(default=utcnow)

    programme: Mapped[Programme] = relationship(back_populates="targets")
    created_by: Mapped["User | None"] = relationship()  # noqa: F821


class RegionQuota(Base):
    """Funded places reserved for a group of regions, over the programme or per cohort."""

    __tablename__ = "region_quotas"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    places: Mapped[int]
    per_cohort: Mapped[bool] = mapped_column(default=False)

    programme: Mapped[Programme] = relationship(back_populates="region_quotas")
    regions: Mapped[list[Region]] = relationship(secondary=region_quota_regions)
