"""Claims for funded places (enrolments once funded) and the declarations made on them."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import NOT_AUDITED, Base, enum_column, utcnow
from tracker.models.cohort import Cohort
from tracker.models.organisation import Setting
from tracker.models.participant import Participant
from tracker.models.programme import Milestone, Programme
from tracker.models.reference import LocalAuthority


class ClaimStatus(enum.StrEnum):
    WAITING = "waiting"
    FUNDED = "funded"
    STARTED = "started"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    DEFERRED = "deferred"


# A person may hold one live claim per programme: waiting, funded or in training.
LIVE_STATUSES = (ClaimStatus.WAITING, ClaimStatus.FUNDED, ClaimStatus.STARTED)
# One live claim per person and programme: the database keeps to it, whatever runs at once.
LIVE_CLAIM_INDEX = "uq_claims_live_participant_programme"
_LIVE_SQL = sa.text("status IN ('waiting', 'funded', 'started')")
_WAITING_SQL = sa.text("status = 'waiting'")
ONE_FUNDED_PLACE_INDEX = "uq_claims_one_funded_place"
# As each database writes "holds a place" in a query, so that it uses the index below.
_HOLDING_SQLITE, _HOLDING_POSTGRESQL = sa.text("holds_place = 1"), sa.text("holds_place")


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        sa.Index(
            LIVE_CLAIM_INDEX,
            "programme_id",
            "participant_id",
            unique=True,
            sqlite_where=_LIVE_SQL,
            postgresql_where=_LIVE_SQL,
        ),
        sa.Index("ix_claims_cohort_status", "cohort_id", "status"),
        sa.Index("ix_claims_programme_status_queue", "programme_id", "status", "queue_seq"),
        sa.Index("ix_claims_programme_holds_place", "programme_id", "holds_place"),
        # The ledger counts the places each cohort holds, under its lock: from this index
        # alone, however many claims have ended or wait.
        # One funded place per person and programme, ever: a deferral resumes on its claim.
        sa.Index(
            ONE_FUNDED_PLACE_INDEX,
            "programme_id",
            "participant_id",
            unique=True,
            sqlite_where=_HOLDING_SQLITE,
            postgresql_where=_HOLDING_POSTGRESQL,
        ),
        # The ledger asks whether claims wait for the programme's places, on every claim.
        sa.Index(
            "ix_claims_waiting_reason",
            "programme_id",
            "waiting_reason",
            sqlite_where=_WAITING_SQL,
            postgresql_where=_WAITING_SQL,
        ),
        sa.Index(
            "ix_claims_holding_cohort",
            "cohort_id",
            sqlite_where=_HOLDING_SQLITE,
            postgresql_where=_HOLDING_POSTGRESQL,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"))
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id"))
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    setting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("settings.id"), index=True)
    # Where the place counts: the setting's area, or for EP trainees their placement area.
    local_authority_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("local_authorities.id"), index=True
    )
    # The person as the organisation making the claim named them: what that organisation,
    # and those sharing the claim (the cohort's provider, the setting), see and are sent.
    # Another organisation's claim for the same person keeps its own copy; the ledger
    # matches the person through ``participant`` and never shows one copy to another.
    full_name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254))
    trn: Mapped[str | None] = mapped_column(sa.String(7))
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus))
    # True while the claim uses a funded place. A place is given back only when the
    # claim ends before training starts; once training starts the funding is spent.
    holds_place: Mapped[bool] = mapped_column(default=False)
    # In a priority region of the programme: waits ahead of other claims.
    is_priority: Mapped[bool] = mapped_column(default=False)
    # Position on the waiting list: taken from the programme's ledger sequence.
    queue_seq: Mapped[int]
    # Which cap was full when the claim last had to wait.
    waiting_reason: Mapped[str | None] = mapped_column(sa.String(30))
    end_reason: Mapped[str | None] = mapped_column(sa.Text)
    claimed_dt: Mapped[datetime] = mapped_column(default=utcnow)
    funded_dt: Mapped[datetime | None]
    started_dt: Mapped[datetime | None]
    completed_dt: Mapped[datetime | None]
    ended_dt: Mapped[datetime | None]
    # When the claim or its progress last changed, for the API's updated_since. Bookkeeping:
    # each audit event has its own time, and a declaration its own event.
    updated_dt: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, index=True, info=NOT_AUDITED
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    programme: Mapped[Programme] = relationship()
    cohort: Mapped[Cohort] = relationship()
    participant: Mapped[Participant] = relationship()
    setting: Mapped[Setting | None] = relationship()
    local_authority: Mapped[LocalAuthority | None] = relationship()
    declarations: Mapped[list["Declaration"]] = relationship(
        back_populates="claim", order_by="Declaration.id"
    )

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    def __repr__(self) -> str:
        return f"<Claim {self.id} {self.status}>"


_NOT_VOIDED_SQL = sa.text("voided_dt IS NULL")


class Declaration(Base):
    """A provider's statement that a participant reached a milestone."""

    __tablename__ = "declarations"
    __table_args__ = (
        sa.Index(
            "uq_declarations_claim_milestone_not_voided",
            "claim_id",
            "milestone_id",
            unique=True,
            sqlite_where=_NOT_VOIDED_SQL,
            postgresql_where=_NOT_VOIDED_SQL,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    milestone_id: Mapped[int] = mapped_column(sa.ForeignKey("milestones.id"))
    declared_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(default=utcnow)
    voided_dt: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(sa.Text)

    claim: Mapped[Claim] = relationship(back_populates="declarations")
    milestone: Mapped[Milestone] = relationship()

    @property
    def is_voided(self) -> bool:
        return self.voided_dt is not None
