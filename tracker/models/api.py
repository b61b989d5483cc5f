"""What the JSON API keeps: bearer tokens, and the answers it gave to idempotent requests."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, utcnow
from tracker.models.user import User


class ApiToken(Base):
    """A bearer token acting as its user; only a hash of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # SHA-256 of the token: tokens are long random strings, so a fast hash is enough.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters of the token, so people can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_dt: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_dt: Mapped[datetime | None]
    revoked_dt: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_revoked(self) -> bool:
        return self.revoked_dt is not None


class IdempotencyRecord(Base):
    """The first answer to a POST sent with an Idempotency-Key, replayed on a retry."""

    __tablename__ = "idempotency_records"
    __table_args__ = (sa.UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(sa.ForeignKey("api_tokens.id"))
    key: Mapped[str] = mapped_column(sa.String(255))
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(500))
    # SHA-256 of the request body: the same key with another body is refused.
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    response_body: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    response_headers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_dt: Mapped[datetime] = mapped_column(default=utcnow, index=True)
