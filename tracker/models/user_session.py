"""A signed-in session, kept on the server: the cookie holds only its random id."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import Base, utcnow


class UserSession(Base):
    """One browser signed in as one account, until sign-out, a new password or deactivation."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the id the cookie carries: a stolen database row signs no one in.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_dt: Mapped[datetime] = mapped_column(default=utcnow)
