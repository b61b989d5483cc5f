"""Training providers with their allocations, and early years settings and schools."""

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, enum_column
from tracker.models.programme import Programme
from tracker.models.reference import LocalAuthority


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    ukprn: Mapped[str] = mapped_column(sa.String(8), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))

    allocations: Mapped[list["Allocation"]] = relationship(back_populates="provider")

    def __repr__(self) -> str:
        return f"<Provider {self.ukprn} {self.name}>"


class Allocation(Base):
    """The places a provider may fill on a programme."""

    __tablename__ = "allocations"
    __table_args__ = (sa.UniqueConstraint("provider_id", "programme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"))
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    places: Mapped[int]

    provider: Mapped[Provider] = relationship(back_populates="allocations")
    programme: Mapped[Programme] = relationship()


class SettingKind(enum.StrEnum):
    CHILDMINDER = "childminder"
    GROUP_BASED = "group-based"
    MAINTAINED_NURSERY = "maintained-nursery"
    SCHOOL = "school"
    SIXTEEN_TO_NINETEEN = "16-19"

    @property
    def label(self) -> str:
        return {
            "childminder": "Childminder",
            "group-based": "Group-based early years setting",
            "maintained-nursery": "Maintained nursery school",
            "school": "School",
            "16-19": "16 to 19 institution",
        }[self.value]


class Setting(Base):
    """An early years setting or school, identified by its URN."""

    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    urn: Mapped[str] = mapped_column(sa.String(8), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[SettingKind] = mapped_column(enum_column(SettingKind))
    local_authority_id: Mapped[int] = mapped_column(
        sa.ForeignKey("local_authorities.id"), index=True
    )

    local_authority: Mapped[LocalAuthority] = relationship()

    def __repr__(self) -> str:
        return f"<Setting {self.urn} {self.name}>"
