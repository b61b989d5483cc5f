"""The sign-in history: every attempt to sign in, successful or not, kept apart from the
audit trail (a sign-in changes none of the service's records)."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import Base, enum_column, utcnow


class SignInOutcome(enum.StrEnum):
    # Outcomes, not passwords (the linter takes names with "password" in them for secrets).
    SIGNED_IN = "signed-in"
    UNKNOWN_EMAIL = "unknown-email"
    NO_PASSWORD_YET = "no-password-yet"  # noqa: S105
    WRONG_PASSWORD = "wrong-password"  # noqa: S105
    # The password was right, but the account may no longer sign in.
    DEACTIVATED = "deactivated"


class SignInAttempt(Base):
    """One attempt to sign in with an email address and a password, and how it ended.

    The person trying was told only whether they signed in; the outcome here says why not,
    for DfE's eyes. Nothing secret is kept: no password, and nothing typed where the email
    address goes unless it is an email address (it could be a password typed in the wrong box).
    """

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempted_dt: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The account whose email address was typed, if there is one. A plain value, as in the
    # audit trail: the history outlives the accounts it names.
    user_id: Mapped[int | None]
    # The email address typed, normalised; empty when what was typed was not one.
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    outcome: Mapped[SignInOutcome] = mapped_column(enum_column(SignInOutcome))
    # Where the attempt came from: the client's address as the app sees it (behind a load
    # balancer, ProxyFix makes it the client's own) and what its browser said it was.
    address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
