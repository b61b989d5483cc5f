"""Claims counted by their raw state at each grain the pages read, kept by the database.

Each table holds, for one grain (cohort; provider; area and kind of setting; week funded;
setting; reason given), how many claims are in each raw state. Triggers on ``claims``
(migrations 0006 and 0012) change them in the same transaction as the claim, whatever code
writes it: the ORM, the CSV import's COPY, set-based SQL. The triggers know no definitions,
only states; what "funded" or "started" means is said once, in ``tracker.figures``.

No dimension is NULL, so that each key is one row: 0 stands for "no local authority",
"" for "no setting" or "no reason". They carry no foreign keys: they are derived data,
checked against the claims by ``flask tracker figures check``.
"""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import Base, enum_column
from tracker.models.claim import ClaimStatus

NO_AREA = 0
NO_SETTING = ""
# Reasons are grouped by their first characters, so that a key stays short.
REASON_LENGTH = 200


class CohortClaimCount(Base):
    """Claims in a cohort by status, whether they hold a place and whether training started."""

    __tablename__ = "cohort_claim_counts"

    cohort_id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus), primary_key=True)
    holds_place: Mapped[bool] = mapped_column(primary_key=True)
    has_started: Mapped[bool] = mapped_column(primary_key=True)
    n: Mapped[int]


class ProviderClaimCount(Base):
    """Claims on a programme in each provider's cohorts, in each raw state: the place ledger
    reads the places held by a programme and against a provider's allocation from these, and
    the dashboards each provider's figures, a few rows however many cohorts there are."""

    __tablename__ = "provider_claim_counts"

    programme_id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus), primary_key=True)
    holds_place: Mapped[bool] = mapped_column(primary_key=True)
    has_started: Mapped[bool] = mapped_column(primary_key=True)
    n: Mapped[int]


class AreaClaimCount(Base):
    """Claims on a programme by local authority and kind of setting, in each raw state."""

    __tablename__ = "area_claim_counts"

    programme_id: Mapped[int] = mapped_column(primary_key=True)
    local_authority_id: Mapped[int] = mapped_column(primary_key=True)
    setting_kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus), primary_key=True)
    holds_place: Mapped[bool] = mapped_column(primary_key=True)
    has_started: Mapped[bool] = mapped_column(primary_key=True)
    n: Mapped[int]


class WeeklyClaimCount(Base):
    """Claims with a funded date by programme, local authority and the week they were funded.

    Weeks run Monday to Sunday, Europe/London.
    """

    __tablename__ = "weekly_claim_counts"

    programme_id: Mapped[int] = mapped_column(primary_key=True)
    local_authority_id: Mapped[int] = mapped_column(primary_key=True)
    funded_week: Mapped[date] = mapped_column(primary_key=True)
    holds_place: Mapped[bool] = mapped_column(primary_key=True)
    n: Mapped[int]


class SettingClaimCount(Base):
    """Claims each setting has made on each programme."""

    __tablename__ = "setting_claim_counts"

    setting_id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int]


class ReasonClaimCount(Base):
    """Claims with an end reason by programme, local authority, status and reason."""

    __tablename__ = "reason_claim_counts"

    programme_id: Mapped[int] = mapped_column(primary_key=True)
    local_authority_id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus), primary_key=True)
    reason: Mapped[str] = mapped_column(sa.String(REASON_LENGTH), primary_key=True)
    n: Mapped[int]


COUNT_TABLES = (
    CohortClaimCount,
    ProviderClaimCount,
    AreaClaimCount,
    WeeklyClaimCount,
    SettingClaimCount,
    ReasonClaimCount,
)
