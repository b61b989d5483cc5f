"""Keyword-only factories for the records tests need; each flushes, none commits."""

import itertools
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import (
    Allocation,
    Cohort,
    CohortStatus,
    LocalAuthority,
    Programme,
    ProgrammeTarget,
    Provider,
    Setting,
    SettingKind,
)

_numbers = itertools.count(1)


def programme(session: Session, code: str = "ey-senco-l3") -> Programme:
    return session.scalar(sa.select(Programme).where(Programme.code == code))


def local_authority(session: Session, la_code: str = "201") -> LocalAuthority:
    return session.scalar(sa.select(LocalAuthority).where(LocalAuthority.la_code == la_code))


def set_programme_places(session: Session, prog: Programme, places: int | None) -> None:
    """Make ``places`` the programme's target in force today (None: no national cap)."""
    session.execute(sa.delete(ProgrammeTarget).where(ProgrammeTarget.programme_id == prog.id))
    if places is not None:
        session.add(
            ProgrammeTarget(
                programme=prog, places=places, effective_on=date(2023, 1, 1), note="test"
            )
        )
    session.flush()


def create_provider(session: Session, *, name: str | None = None, ukprn: str | None = None):
    n = next(_numbers)
    provider = Provider(ukprn=ukprn or f"1{n:07d}", name=name or f"Provider {n}")
    session.add(provider)
    session.flush()
    return provider


def create_allocation(session: Session, *, provider: Provider, prog: Programme, places: int):
    allocation = Allocation(provider=provider, programme=prog, places=places)
    session.add(allocation)
    session.flush()
    return allocation


def create_setting(
    session: Session,
    *,
    kind: SettingKind = SettingKind.GROUP_BASED,
    la_code: str = "201",
    urn: str | None = None,
    name: str | None = None,
) -> Setting:
    n = next(_numbers)
    setting = Setting(
        urn=urn or f"EY{n:06d}",
        name=name or f"Setting {n}",
        kind=kind,
        local_authority=local_authority(session, la_code),
    )
    session.add(setting)
    session.flush()
    return setting


def create_cohort(
    session: Session,
    *,
    prog: Programme | None = None,
    provider: Provider | None = None,
    places: int = 10,
    allocation: int | None = None,
    programme_places: int | None = ...,  # type: ignore[assignment]
    starts_on: date | None = None,
    status: CohortStatus = CohortStatus.OPEN,
    name: str | None = None,
) -> Cohort:
    """A cohort; unless told otherwise its provider's allocation and the programme's target
    are made large enough not to get in the way."""
    prog = prog or programme(session)
    if programme_places is not ...:
        set_programme_places(session, prog, programme_places)
    if provider is None:
        provider = create_provider(session)
    if allocation is not None or not session.scalar(
        sa.select(Allocation).where(
            Allocation.provider_id == provider.id, Allocation.programme_id == prog.id
        )
    ):
        create_allocation(
            session, provider=provider, prog=prog, places=allocation if allocation else 10_000
        )
    starts_on = starts_on or date.today() + timedelta(days=30)  # noqa: DTZ011
    cohort = Cohort(
        programme=prog,
        provider=provider,
        name=name or f"Cohort {next(_numbers)}",
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=180),
        places=places,
        status=status,
    )
    session.add(cohort)
    session.flush()
    return cohort
