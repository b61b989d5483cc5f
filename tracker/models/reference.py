"""England's regions and local authorities: reference data loaded by a migration."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)

    local_authorities: Mapped[list["LocalAuthority"]] = relationship(back_populates="region")

    def __repr__(self) -> str:
        return f"<Region {self.name}>"


class LocalAuthority(Base):
    __tablename__ = "local_authorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    la_code: Mapped[str] = mapped_column(sa.String(3), unique=True)
    ons_code: Mapped[str] = mapped_column(sa.String(9), unique=True)
    # The ONS code used before a boundary change (Barnsley and Sheffield, April 2025):
    # older data still carries it, so lookups accept both.
    former_ons_code: Mapped[str | None] = mapped_column(sa.String(9), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)

    region: Mapped[Region] = relationship(back_populates="local_authorities")

    def __repr__(self) -> str:
        return f"<LocalAuthority {self.la_code} {self.name}>"
