"""People who sign in, each acting for one organisation with one role."""

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import NOT_AUDITED, SECRET, Base, enum_column, utcnow
from tracker.models.organisation import Provider, Setting
from tracker.models.reference import LocalAuthority


class Role(enum.StrEnum):
    DFE = "dfe"
    PROVIDER = "provider"
    SETTING = "setting"
    LOCAL_AUTHORITY = "local-authority"


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        # A user belongs to exactly the organisation its role calls for, and DfE to none.
        sa.CheckConstraint(
            "(role = 'dfe' AND provider_id IS NULL AND setting_id IS NULL"
            " AND local_authority_id IS NULL)"
            " OR (role = 'provider' AND provider_id IS NOT NULL)"
            " OR (role = 'setting' AND setting_id IS NOT NULL)"
            " OR (role = 'local-authority' AND local_authority_id IS NOT NULL)",
            name="organisation_matches_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200), default="")
    # Secret: the audit trail never records it.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255), info=SECRET)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    setting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("settings.id"), index=True)
    local_authority_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("local_authorities.id"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    created_dt: Mapped[datetime] = mapped_column(default=utcnow)
    # Bookkeeping, not a change to the account: the sign-in history records each sign-in.
    last_sign_in_dt: Mapped[datetime | None] = mapped_column(info=NOT_AUDITED)

    provider: Mapped[Provider | None] = relationship()
    setting: Mapped[Setting | None] = relationship()
    local_authority: Mapped[LocalAuthority | None] = relationship()

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
