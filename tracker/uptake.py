"""Uptake against target: what DfE watches, assembled from the figures in ``tracker.figures``.

Every count comes from ``tracker.figures``, which reads the claim counts the database keeps
(or, for claims made between two dates, counts those claims); what Python loops over here
is one row per programme, region, local authority, provider, cohort, reason or week, never
per claim, so the number of queries a page makes does not grow with the number of claims.

A ``Scope`` narrows the claims counted: to one programme, to claims made between two dates
(Europe/London calendar dates), and to a local authority or region. Caps (targets,
allocations, cohort places) are counted as they stand now, whatever the dates.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import figures
from tracker.access import SETTING_AREA
from tracker.figures import ALL, LONDON, Figures, Scope, week_of
from tracker.formats import long_date
from tracker.models import (
    Allocation,
    Cohort,
    LocalAuthority,
    Programme,
    ProgrammeTarget,
    Provider,
    Region,
    Setting,
    SettingClaimCount,
    SettingKind,
)
from tracker.places import london_today, target_in_force

__all__ = ["LONDON", "Figures", "Scope", "week_of"]

# The current rate is the mean of places funded per week over this many recent weeks.
RATE_WEEKS = 8
NOT_KNOWN = "Not known"


def _area_figures(session: Session, scope: Scope) -> dict[tuple, Figures]:
    counted = figures.by_area(session, scope)
    claiming = figures.settings_claiming(session, scope)
    return {
        key: replace(counted.get(key, Figures()), settings_claiming=claiming.get(key, 0))
        for key in set(counted) | set(claiming)
    }


def totals(session: Session, scope: Scope = ALL) -> Figures:
    """Return the figures for every claim in scope."""
    return sum(_area_figures(session, scope).values(), Figures())


# -- per programme -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProgrammeUptake(Figures):
    """One programme's figures, with its target now and the date it ends."""

    programme: Programme
    target: int | None
    ends_on: date | None = None

    @property
    def places_left(self) -> int | None:
        """Funded places the target still allows (``figures.places_left``)."""
        return figures.places_left(self.target, self.funded) if self.target is not None else None

    @property
    def share_of_target(self) -> float | None:
        return self.funded / self.target if self.target else None


def _target_now(on: date) -> sa.ScalarSelect:
    return target_in_force(sa.select(ProgrammeTarget.places), Programme.id, on).scalar_subquery()


def _last_cohort_end() -> sa.ScalarSelect:
    return (
        sa.select(sa.func.max(Cohort.ends_on))
        .where(Cohort.programme_id == Programme.id)
        .scalar_subquery()
    )


def programme_uptake(
    session: Session, scope: Scope = ALL, *, on: date | None = None
) -> list[ProgrammeUptake]:
    """Return every programme's uptake against its current target, in code order."""
    on = on or london_today()
    counted = figures.by_programme(session, scope)
    claiming = figures.settings_claiming_by_programme(session, scope)
    query = sa.select(
        Programme,
        _target_now(on).label("target"),
        sa.func.coalesce(Programme.ends_on, _last_cohort_end()).label("ends_on"),
    ).order_by(Programme.code)
    if scope.programme_id is not None:
        query = query.where(Programme.id == scope.programme_id)
    result = []
    for row in session.execute(query):
        ends_on = row.ends_on
        if isinstance(ends_on, str):  # SQLite gives back max() of dates as text
            ends_on = date.fromisoformat(ends_on)
        programme_figures = replace(
            counted.get(row.Programme.id, Figures()),
            settings_claiming=claiming.get(row.Programme.id, 0),
        )
        result.append(
            ProgrammeUptake(
                programme=row.Programme,
                target=row.target,
                ends_on=ends_on,
                **programme_figures.__dict__,
            )
        )
    return result


# -- breakdowns --------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaRow:
    """A region's, local authority's or kind of setting's figures, with its settings."""

    key: int | str | None
    name: str
    figures: Figures
    settings: int = 0  # settings there (of that kind)
    region: str = ""

    @property
    def settings_reached(self) -> float | None:
        """Share of the settings that have made at least one claim."""
        return self.figures.settings_claiming / self.settings if self.settings else None


def area_figures(session: Session, scope: Scope = ALL) -> dict[tuple, Figures]:
    """Figures by the local authority a claim counts in and its setting's kind.

    Regions, local authorities and kinds of setting are unions of these groups, and a
    setting is in one area and of one kind, so every figure, settings claiming included,
    adds up from them.
    """
    return _area_figures(session, scope)


def _sum_by(counts: dict[tuple, Figures], key) -> dict:
    summed: dict = {}
    for group, counted in counts.items():
        k = key(group)
        summed[k] = summed[k] + counted if k in summed else counted
    return summed


def by_region(
    session: Session, scope: Scope = ALL, counts: dict[tuple, Figures] | None = None
) -> list[AreaRow]:
    """Return figures for each of England's regions, and for claims with no known area.

    ``counts`` are ``area_figures`` for the same scope, when already read.
    """
    if counts is None:
        counts = area_figures(session, scope)
    region_of = dict(session.execute(sa.select(LocalAuthority.id, LocalAuthority.region_id)).all())
    by_region_id = _sum_by(counts, lambda group: region_of.get(group[0]))
    settings = dict(
        session.execute(
            sa.select(LocalAuthority.region_id, sa.func.count(Setting.id))
            .join(Setting, LocalAuthority.id == SETTING_AREA)
            .group_by(LocalAuthority.region_id)
        ).all()
    )
    rows = [
        AreaRow(
            region.id,
            region.name,
            by_region_id.get(region.id, Figures()),
            settings.get(region.id, 0),
        )
        for region in session.scalars(sa.select(Region).order_by(Region.name))
    ]
    if None in by_region_id:
        rows.append(AreaRow(None, NOT_KNOWN, by_region_id[None]))
    return rows


def by_local_authority(
    session: Session, scope: Scope = ALL, counts: dict[tuple, Figures] | None = None
) -> list[AreaRow]:
    """Return figures for each local authority (in scope), and for claims with no known area.

    ``counts`` are ``area_figures`` for the same scope, when already read.
    """
    if counts is None:
        counts = area_figures(session, scope)
    by_la = _sum_by(counts, lambda group: group[0])
    settings = dict(
        session.execute(
            sa.select(SETTING_AREA, sa.func.count())
            .where(*scope.setting_conditions())
            .group_by(SETTING_AREA)
        ).all()
    )
    query = (
        sa.select(LocalAuthority.id, LocalAuthority.la_code, LocalAuthority.name, Region.name)
        .join(Region, LocalAuthority.region_id == Region.id)
        .order_by(LocalAuthority.name)
    )
    if scope.local_authority_id is not None:
        query = query.where(LocalAuthority.id == scope.local_authority_id)
    if scope.region_id is not None:
        query = query.where(LocalAuthority.region_id == scope.region_id)
    rows = [
        AreaRow(la_code, name, by_la.get(la_id, Figures()), settings.get(la_id, 0), region)
        for la_id, la_code, name, region in session.execute(query)
    ]
    if None in by_la:
        rows.append(AreaRow(None, NOT_KNOWN, by_la[None]))
    return rows


def by_setting_kind(
    session: Session, scope: Scope = ALL, counts: dict[tuple, Figures] | None = None
) -> list[AreaRow]:
    """Return figures for each kind of setting; claims with no setting (EP trainees) last.

    ``counts`` are ``area_figures`` for the same scope, when already read.
    """
    if counts is None:
        counts = area_figures(session, scope)
    by_kind = _sum_by(counts, lambda group: group[1])
    settings = dict(
        session.execute(
            sa.select(Setting.kind, sa.func.count())
            .where(*scope.setting_conditions())
            .group_by(Setting.kind)
        ).all()
    )
    rows = [
        AreaRow(kind.value, kind.label, by_kind.get(kind, Figures()), settings.get(kind, 0))
        for kind in SettingKind
    ]
    if None in by_kind:
        rows.append(AreaRow(None, "No setting (recruited by a provider)", by_kind[None]))
    return rows


@dataclass(frozen=True)
class ProviderRow:
    """A provider's allocation on a programme: how much of it is used, and its figures."""

    provider_name: str
    ukprn: str
    programme_code: str
    programme_name: str
    allocation: int
    used: int  # funded places held now, whatever the dates in scope
    figures: Figures

    @property
    def left(self) -> int:
        return self.allocation - self.used

    @property
    def share_used(self) -> float | None:
        return self.used / self.allocation if self.allocation else None


def by_provider(session: Session, scope: Scope = ALL) -> list[ProviderRow]:
    """Return each provider's allocation on each programme and the claims in its cohorts."""
    counts = figures.by_provider(session, scope)
    # Funded places held now count against the allocation, whatever the dates in scope.
    held = counts if not scope.by_claim_date else figures.by_provider(session, Scope())
    used = {key: f.funded for key, f in held.items()}
    query = (
        sa.select(Allocation, Provider, Programme)
        .join(Provider, Allocation.provider_id == Provider.id)
        .join(Programme, Allocation.programme_id == Programme.id)
        .order_by(Programme.code, Provider.name)
    )
    if scope.programme_id is not None:
        query = query.where(Allocation.programme_id == scope.programme_id)
    return [
        ProviderRow(
            provider.name,
            provider.ukprn,
            programme.code,
            programme.name,
            allocation.places,
            used.get((provider.id, programme.id), 0),
            counts.get((provider.id, programme.id), Figures()),
        )
        for allocation, provider, programme in session.execute(query)
    ]


def providers_behind(rows: list[ProviderRow], *, fraction: float = 0.75) -> set[tuple[str, str]]:
    """Name the providers whose allocation is used well below their programme's average.

    Behind: the share of the allocation used is below ``fraction`` of the share used by all
    the programme's providers together. Returns (UKPRN, programme code) pairs.
    """
    allocated: dict[str, int] = defaultdict(int)
    used: dict[str, int] = defaultdict(int)
    for row in rows:
        allocated[row.programme_code] += row.allocation
        used[row.programme_code] += row.used
    behind = set()
    for row in rows:
        if not allocated[row.programme_code] or not row.allocation:
            continue
        average = used[row.programme_code] / allocated[row.programme_code]
        if row.used / row.allocation < fraction * average:
            behind.add((row.ukprn, row.programme_code))
    return behind


@dataclass(frozen=True)
class CohortRow:
    provider_name: str
    programme_code: str
    name: str
    starts_on: date
    status: str
    places: int
    used: int
    waiting: int

    @property
    def left(self) -> int:
        return self.places - self.used


def cohort_places(session: Session, scope: Scope = ALL) -> list[CohortRow]:
    """Return every cohort's places, the funded places it holds now and its waiting claims."""
    # Places held and claims waiting now, whatever the dates in scope.
    counted = figures.by_cohort(session, Scope(programme_id=scope.programme_id))
    query = (
        sa.select(
            Cohort.id,
            Provider.name,
            Programme.code,
            Cohort.name,
            Cohort.starts_on,
            Cohort.status,
            Cohort.places,
        )
        .join(Provider, Cohort.provider_id == Provider.id)
        .join(Programme, Cohort.programme_id == Programme.id)
        .order_by(Programme.code, Provider.name, Cohort.starts_on, Cohort.name)
    )
    if scope.programme_id is not None:
        query = query.where(Cohort.programme_id == scope.programme_id)
    rows = []
    for cohort_id, provider, code, name, starts_on, status, places in session.execute(query):
        cohort_figures = counted.get(cohort_id, Figures())
        rows.append(
            CohortRow(
                provider,
                code,
                name,
                starts_on,
                status.value,
                places,
                cohort_figures.funded,
                cohort_figures.waiting,
            )
        )
    return rows


@dataclass(frozen=True)
class ReasonRow:
    programme_code: str
    status: str
    reason: str
    count: int


def end_reasons(session: Session, scope: Scope = ALL) -> list[ReasonRow]:
    """Return how many claims were withdrawn or deferred for each reason, most common first."""
    codes = dict(session.execute(sa.select(Programme.id, Programme.code)).all())
    rows = [
        ReasonRow(codes[programme_id], status.value, text or "No reason given", n)
        for programme_id, status, text, n in figures.end_reasons(session, scope)
    ]
    return sorted(rows, key=lambda r: (r.programme_code, r.status, -r.count, r.reason))


def settings_without_claim(session: Session, scope: Scope) -> list[Setting]:
    """Return the settings in the area that have made no claim (on the programme in scope)."""
    claims = sa.select(SettingClaimCount.setting_id).where(
        SettingClaimCount.setting_id == Setting.id, SettingClaimCount.n > 0
    )
    if scope.programme_id is not None:
        claims = claims.where(SettingClaimCount.programme_id == scope.programme_id)
    return list(
        session.scalars(
            sa.select(Setting)
            .where(*scope.setting_conditions(), ~sa.exists(claims))
            .order_by(Setting.name, Setting.urn)
        )
    )


def settings_count(session: Session, scope: Scope) -> int:
    return session.scalar(sa.select(sa.func.count(Setting.id)).where(*scope.setting_conditions()))


# -- week by week ------------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    starts_on: date  # a Monday, Europe/London
    funded: int  # places funded that week (still held now)
    cumulative: int


def weekly_funded(session: Session, scope: Scope = ALL) -> dict[int, list[Week]]:
    """Return, per programme, the funded places held now by the week they were funded.

    Weeks run Monday to Sunday in Europe/London. Weeks with no places funded are filled
    in, so the weeks run without a gap from the first to the last.
    """
    result = {}
    for programme_id, counts in figures.weekly_funded(session, scope).items():
        weeks, total = [], 0
        monday, last = min(counts), max(counts)
        while monday <= last:
            total += counts.get(monday, 0)
            weeks.append(Week(monday, counts.get(monday, 0), total))
            monday += timedelta(days=7)
        result[programme_id] = weeks
    return result


@dataclass(frozen=True)
class Projection:
    """Where the current rate of funding leads, against the target.

    reached_on: the week the target was reached, if it was; expected_on: the week it will
    be reached at the current rate, if before the programme ends; otherwise shortfall: the
    places short of the target at the programme's end (or for ever, at a rate of nought).
    """

    rate_per_week: float
    reached_on: date | None = None
    expected_on: date | None = None
    ends_on: date | None = None
    projected_at_end: int | None = None
    shortfall: int | None = None

    def sentence(self, target: int | None) -> str:
        if target is None:
            return "The programme has no target."
        if self.reached_on:
            reached = long_date(self.reached_on)
            return f"The target of {target:,} was reached in the week of {reached}."
        rate = f"{self.rate_per_week:,.1f} places a week"
        if self.expected_on:
            return (
                f"At the current rate ({rate} over the last {RATE_WEEKS} weeks) the target of"
                f" {target:,} will be reached in the week of {long_date(self.expected_on)}."
            )
        if self.ends_on and self.projected_at_end is not None:
            return (
                f"At the current rate ({rate} over the last {RATE_WEEKS} weeks) the programme"
                f" will end on {long_date(self.ends_on)} with {self.projected_at_end:,} places"
                f" funded: {self.shortfall:,} short of the target of {target:,}."
            )
        return (
            f"No places were funded in the last {RATE_WEEKS} weeks: at this rate the target"
            f" of {target:,} will not be reached ({self.shortfall:,} places short)."
        )


def project(
    weeks: list[Week], target: int | None, ends_on: date | None, today: date
) -> Projection | None:
    """Project the cumulative funded places at the mean rate of the last ``RATE_WEEKS`` weeks."""
    if target is None:
        return None
    funded = weeks[-1].cumulative if weeks else 0
    this_week = week_of(today)
    recent_start = this_week - timedelta(weeks=RATE_WEEKS - 1)
    recent = sum(w.funded for w in weeks if recent_start <= w.starts_on <= this_week)
    rate = recent / RATE_WEEKS
    if funded >= target:
        reached = next(w.starts_on for w in weeks if w.cumulative >= target) if weeks else today
        return Projection(rate, reached_on=reached)
    if rate <= 0:
        return Projection(rate, ends_on=ends_on, shortfall=target - funded)
    expected = this_week + timedelta(weeks=math.ceil((target - funded) / rate))
    if ends_on is None or expected <= ends_on:
        return Projection(rate, expected_on=expected, ends_on=ends_on)
    at_end = funded + math.floor(rate * max((ends_on - this_week).days, 0) / 7)
    return Projection(
        rate, ends_on=ends_on, projected_at_end=at_end, shortfall=max(target - at_end, 0)
    )


@dataclass
class Comparison:
    """An area's figures beside its region's and England's."""

    rows: list[tuple[str, Figures, int]] = field(default_factory=list)  # name, figures, settings


def compare_areas(session: Session, scope: Scope, local_authority: LocalAuthority) -> Comparison:
    """Return the figures of a local authority, its region and England (three queries each)."""
    comparison = Comparison()
    areas = [
        (local_authority.name, Scope(local_authority_id=local_authority.id)),
        (local_authority.region.name, Scope(region_id=local_authority.region_id)),
        ("England", Scope()),
    ]
    for name, area in areas:
        area_scope = Scope(
            programme_id=scope.programme_id,
            claimed_from=scope.claimed_from,
            claimed_to=scope.claimed_to,
            local_authority_id=area.local_authority_id,
            region_id=area.region_id,
        )
        comparison.rows.append(
            (name, totals(session, area_scope), settings_count(session, area_scope))
        )
    return comparison
