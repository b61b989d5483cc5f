"""Every count the service shows, defined once, and read from the counts the database keeps.

A claim's raw state is its status, whether it holds a funded place and whether its
training ever started. The database keeps how many claims are in each raw state at each
grain the pages read (``tracker.models.figures``, kept by triggers on ``claims``), so a
page reads a few hundred rows however many claims there are. What a figure means
("funded", "ever started", "withdrawn during training") is a test of a raw state, written
here once (``DEFINITIONS``) and applied both to the kept counts and, by
``flask tracker figures check``, to the claims themselves.

Claims made between two dates are not kept by date: a view filtered by the date claims
were made counts those claims (a grouped scan, one query per table as for the kept
counts), and says so.
"""

import functools
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from tracker import access
from tracker.formats import LONDON, london_midnight
from tracker.models import (
    AreaClaimCount,
    Claim,
    ClaimStatus,
    Cohort,
    CohortClaimCount,
    CohortStatus,
    LocalAuthority,
    ProviderClaimCount,
    ReasonClaimCount,
    Setting,
    SettingClaimCount,
    WeeklyClaimCount,
)
from tracker.models.figures import NO_AREA, NO_SETTING, REASON_LENGTH

logger = logging.getLogger(__name__)


# -- definitions -------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """A claim's raw state: all that a count of claims depends on."""

    status: ClaimStatus
    holds_place: bool
    has_started: bool


ENDED = (ClaimStatus.WITHDRAWN, ClaimStatus.DEFERRED)


@dataclass(frozen=True)
class Definition:
    """A count of claims: its name in code, its words on pages, and which states it counts."""

    name: str
    label: str
    meaning: str
    counts: Callable[[State], bool]


DEFINITIONS: dict[str, Definition] = {
    d.name: d
    for d in (
        Definition("claimed", "Claimed", "every claim made, whatever became of it", lambda s: True),
        Definition(
            "waiting",
            "Waiting",
            "claims waiting for a funded place now: the unmet demand",
            lambda s: s.status == ClaimStatus.WAITING,
        ),
        Definition(
            "funded",
            "Funded",
            "claims using a funded place: not yet started, in training, completed, or"
            " withdrawn or deferred after training started (the funding is then spent)",
            lambda s: s.holds_place,
        ),
        Definition(
            "funded_not_started",
            "Funded, not yet started",
            "claims holding a funded place whose training has not started",
            lambda s: s.status == ClaimStatus.FUNDED,
        ),
        Definition(
            "ever_started",
            "Ever started",
            "claims whose training started, whatever happened since: in training,"
            " completed, or withdrawn or deferred during training",
            lambda s: s.has_started,
        ),
        Definition(
            "in_training",
            "In training",
            "claims in training now: started, and not yet completed, withdrawn or deferred",
            lambda s: s.status == ClaimStatus.STARTED,
        ),
        Definition(
            "completed",
            "Completed",
            "claims whose training was completed",
            lambda s: s.status == ClaimStatus.COMPLETED,
        ),
        Definition(
            "withdrawn",
            "Withdrawn",
            "claims withdrawn, before or during training",
            lambda s: s.status == ClaimStatus.WITHDRAWN,
        ),
        Definition(
            "withdrawn_before_training",
            "Withdrawn before training",
            "claims withdrawn before their training started",
            lambda s: s.status == ClaimStatus.WITHDRAWN and not s.has_started,
        ),
        Definition(
            "withdrawn_during_training",
            "Withdrawn during training",
            "claims withdrawn after their training started",
            lambda s: s.status == ClaimStatus.WITHDRAWN and s.has_started,
        ),
        Definition(
            "deferred",
            "Deferred",
            "claims deferred, before or during training",
            lambda s: s.status == ClaimStatus.DEFERRED,
        ),
        Definition(
            "ended_before_training",
            "Withdrawn or deferred before training",
            "claims withdrawn or deferred before training started: their places were given back",
            lambda s: s.status in ENDED and not s.holds_place,
        ),
        Definition(
            "ended_during_training",
            "Withdrawn or deferred during training",
            "claims withdrawn or deferred after training started: their funding is spent",
            lambda s: s.status in ENDED and s.holds_place,
        ),
        Definition(
            "live",
            "Live claims",
            "claims waiting, funded and not yet started, or in training: a person holds at"
            " most one on a programme",
            lambda s: s.status in (ClaimStatus.WAITING, ClaimStatus.FUNDED, ClaimStatus.STARTED),
        ),
    )
}
SETTINGS_CLAIMING = Definition(
    "settings_claiming",
    "Settings with a claim",
    "settings that have made at least one claim",
    lambda s: True,
)
PLACES_LEFT = (
    "Places left",
    "a cap's places less the funded places counted against it; below nought when the cap"
    " was cut below the places already funded",
)
# The count that each status on its own is, for tables of claims by status.
STATUS_FIGURES = {
    ClaimStatus.WAITING: "waiting",
    ClaimStatus.FUNDED: "funded_not_started",
    ClaimStatus.STARTED: "in_training",
    ClaimStatus.COMPLETED: "completed",
    ClaimStatus.WITHDRAWN: "withdrawn",
    ClaimStatus.DEFERRED: "deferred",
}
# Every raw state a claim can be in: a definition is the set of those it counts.
STATES = tuple(
    State(status, holds_place, has_started)
    for status in ClaimStatus
    for holds_place in (False, True)
    for has_started in (False, True)
)


@functools.cache
def counted_by(state: State) -> frozenset[str]:
    """The names of the definitions that count a claim in this state."""
    return frozenset(d.name for d in DEFINITIONS.values() if d.counts(state))


def states_counted(name: str) -> tuple[State, ...]:
    """The raw states the named definition counts."""
    return tuple(s for s in STATES if name in counted_by(s))


def places_left(places: int, funded: int) -> int:
    """Places a cap still allows: below nought when the cap was cut below the funded places."""
    return places - funded


def room(places: int, funded: int) -> int:
    """Places a cap can still offer: its places left, never below nought."""
    return max(places - funded, 0)


@dataclass(frozen=True, kw_only=True)
class Figures:
    """The counts of a set of claims, each as ``DEFINITIONS`` says, and the settings claiming."""

    claimed: int = 0
    waiting: int = 0
    funded: int = 0
    funded_not_started: int = 0
    ever_started: int = 0
    in_training: int = 0
    completed: int = 0
    withdrawn: int = 0
    withdrawn_before_training: int = 0
    withdrawn_during_training: int = 0
    deferred: int = 0
    ended_before_training: int = 0
    ended_during_training: int = 0
    live: int = 0
    settings_claiming: int = 0

    @classmethod
    def of(cls, counts: dict[State, int], settings_claiming: int = 0) -> "Figures":
        """The figures of claims counted by raw state."""
        totals = dict.fromkeys(DEFINITIONS, 0)
        for state, n in counts.items():
            for name in counted_by(state):
                totals[name] += n
        return cls(**totals, settings_claiming=settings_claiming)

    @property
    def unmet_demand(self) -> int:
        return self.waiting

    @property
    def completion_rate(self) -> float | None:
        """Share of the claims that ever started training that completed it."""
        return self.completed / self.ever_started if self.ever_started else None

    @property
    def withdrawal_rate(self) -> float | None:
        """Share of the claims that ever started training that were withdrawn during it."""
        return self.withdrawn_during_training / self.ever_started if self.ever_started else None

    def by_status(self) -> dict[ClaimStatus, int]:
        """The claims counted by status alone."""
        return {status: getattr(self, name) for status, name in STATUS_FIGURES.items()}

    def __add__(self, other: "Figures") -> "Figures":
        """The figures of two sets of claims with no setting in common."""
        return Figures(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in FIELDS})


FIELDS = fields(Figures)


# -- which claims ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which claims to count: by programme, by when they were made, and by area (a local
    authority's or a region's, as ``tracker.access`` defines an area)."""

    programme_id: int | None = None
    claimed_from: date | None = None
    claimed_to: date | None = None
    local_authority_id: int | None = None
    region_id: int | None = None

    @property
    def by_claim_date(self) -> bool:
        """Whether the claims must be counted one by one: the kept counts have no claim date."""
        return self.claimed_from is not None or self.claimed_to is not None

    def claim_conditions(self) -> list[sa.ColumnElement[bool]]:
        conditions = self._area_conditions(access.CLAIM_AREA)
        if self.programme_id is not None:
            conditions.append(Claim.programme_id == self.programme_id)
        if self.claimed_from is not None:
            conditions.append(Claim.claimed_dt >= london_midnight(self.claimed_from))
        if self.claimed_to is not None:
            conditions.append(
                Claim.claimed_dt < london_midnight(self.claimed_to + timedelta(days=1))
            )
        return conditions

    def kept_conditions(self, table) -> list[sa.ColumnElement[bool]]:
        """The same conditions over a kept count table with programme and area columns."""
        conditions = self._area_conditions(table.local_authority_id)
        if self.programme_id is not None:
            conditions.append(table.programme_id == self.programme_id)
        return conditions

    def setting_conditions(self) -> list[sa.ColumnElement[bool]]:
        return self._area_conditions(access.SETTING_AREA)

    @property
    def has_area(self) -> bool:
        return self.local_authority_id is not None or self.region_id is not None

    def _area_conditions(self, column) -> list[sa.ColumnElement[bool]]:
        conditions = []
        if self.local_authority_id is not None:
            conditions.append(column == self.local_authority_id)
        if self.region_id is not None:
            conditions.append(
                column.in_(
                    sa.select(LocalAuthority.id).where(LocalAuthority.region_id == self.region_id)
                )
            )
        return conditions


ALL = Scope()

# -- reading the kept counts (or, filtered by claim date, the claims) ----------------------


class _Columns:
    """Where a query finds a raw state: a kept count table's columns, or a claim's."""

    def __init__(self, status, holds_place, has_started, n):
        self.status, self.holds_place, self.n = status, holds_place, n
        self.has_started = has_started

    def state_is(self, states: Iterable[State]) -> sa.ColumnElement[bool]:
        """SQL: the raw state is one of ``states``."""
        by_status: dict[ClaimStatus, set] = defaultdict(set)
        for state in states:
            by_status[state.status].add((state.holds_place, state.has_started))
        # Statuses whose every held/started combination is in: one IN test for them all.
        whole = [status for status, combos in by_status.items() if len(combos) == 4]
        parts = [self.status.in_(whole)] if whole else []
        for status, combos in by_status.items():
            if len(combos) < 4:
                parts.append(
                    sa.and_(
                        self.status == status,
                        sa.or_(*(self._held_started(h, st) for h, st in sorted(combos))),
                    )
                )
        return sa.or_(*parts) if parts else sa.false()

    def _held_started(self, holds_place: bool, has_started: bool) -> sa.ColumnElement[bool]:
        return sa.and_(self.holds_place.is_(holds_place), self.has_started(has_started))

    @functools.cached_property
    def _sums(self) -> tuple[sa.ColumnElement[int], ...]:
        # Built once: the expressions are immutable and serve every query.
        columns = []
        for name in DEFINITIONS:
            states = states_counted(name)
            if len(states) == len(STATES):
                total = sa.func.sum(self.n)
            else:
                total = sa.func.sum(sa.case((self.state_is(states), self.n), else_=0))
            columns.append(sa.func.coalesce(total, 0).label(name))
        return tuple(columns)

    def sums(self) -> tuple[sa.ColumnElement[int], ...]:
        """SQL: every definition's count of the grouped claims, labelled with its name."""
        return self._sums


@functools.cache
def _kept(table) -> _Columns:
    return _Columns(
        table.status,
        table.holds_place,
        lambda started: table.has_started.is_(started),
        table.n,
    )


def _claims(*keys: sa.ColumnElement, where=(), outer_setting: bool = False, join_cohort=False):
    """Claims grouped by ``keys`` and raw state, as a subquery, and its state's columns.

    Grouping by state first leaves the definitions' tests a handful of rows per key.
    """
    started = Claim.started_dt.is_not(None)
    query = sa.select(
        *keys,
        Claim.status.label("status"),
        Claim.holds_place.label("holds_place"),
        started.label("has_started"),
        sa.func.count().label("n"),
    ).select_from(Claim)
    if outer_setting:
        query = query.outerjoin(Setting, Claim.setting_id == Setting.id)
    if join_cohort:
        query = query.join(Cohort, Claim.cohort_id == Cohort.id)
    grouped = (
        query.where(*where).group_by(*keys, Claim.status, Claim.holds_place, started).subquery()
    )
    columns = _Columns(
        grouped.c.status,
        grouped.c.holds_place,
        lambda value: grouped.c.has_started.is_(value),
        grouped.c.n,
    )
    return grouped, columns


def _figures(rows, key_length: int = 1) -> dict:
    """Rows of (key..., one count per definition) as figures per key."""
    result = {}
    for row in rows:
        key = row[0] if key_length == 1 else tuple(row[:key_length])
        result[key] = Figures(
            **{name: int(value) for name, value in zip(DEFINITIONS, row[key_length:], strict=True)}
        )
    return result


def by_programme(session: Session, scope: Scope = ALL) -> dict[int, Figures]:
    """Each programme's figures for the claims in scope."""
    if scope.by_claim_date:
        grouped, state = _claims(Claim.programme_id, where=scope.claim_conditions())
        query = sa.select(grouped.c.programme_id, *state.sums()).group_by(grouped.c.programme_id)
    else:
        # Kept by programme, area and kind of setting: a few thousand rows at most, however
        # many cohorts and claims there are.
        t = AreaClaimCount
        query = (
            sa.select(t.programme_id, *_kept(t).sums())
            .where(*scope.kept_conditions(t))
            .group_by(t.programme_id)
        )
    return _figures(session.execute(query))


def by_cohort(
    session: Session, scope: Scope = ALL, *, cohort_ids: Iterable[int] | None = None
) -> dict[int, Figures]:
    """Each cohort's figures (of the cohorts named, or of the programme in scope)."""
    if cohort_ids is not None:
        cohort_ids = list(cohort_ids)
        if not cohort_ids:
            return {}
    if scope.by_claim_date or scope.has_area:
        conditions = scope.claim_conditions()
        if cohort_ids is not None:
            conditions.append(Claim.cohort_id.in_(cohort_ids))
        grouped, state = _claims(Claim.cohort_id, where=conditions)
        query = sa.select(grouped.c.cohort_id, *state.sums()).group_by(grouped.c.cohort_id)
    else:
        t = CohortClaimCount
        query = sa.select(t.cohort_id, *_kept(t).sums()).group_by(t.cohort_id)
        if scope.programme_id is not None:
            query = query.where(
                t.cohort_id.in_(
                    sa.select(Cohort.id).where(Cohort.programme_id == scope.programme_id)
                )
            )
        if cohort_ids is not None:
            query = query.where(t.cohort_id.in_(cohort_ids))
    return _figures(session.execute(query))


@dataclass(frozen=True)
class CohortSummary:
    """A programme's cohorts in one row. Cancelled cohorts are left out of all but
    ``every``; places left count only in cohorts open for claims."""

    every: int = 0
    cohorts: int = 0
    open: int = 0
    open_and_full: int = 0
    with_waiting: int = 0
    places: int = 0
    funded: int = 0
    places_left_open: int = 0
    waiting: int = 0


def cohort_summary(session: Session, programme_id: int | None = None) -> dict[int, CohortSummary]:
    """Each programme's cohorts summed (or the one programme's), as the database works them
    out: one row a programme, whatever the number of cohorts."""
    t = CohortClaimCount
    kept = _kept(t)

    def count_of(name: str) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((kept.state_is(states_counted(name)), t.n), else_=0))

    per_cohort = sa.select(
        t.cohort_id, count_of("funded").label("funded"), count_of("waiting").label("waiting")
    ).group_by(t.cohort_id)
    if programme_id is not None:
        per_cohort = per_cohort.where(
            t.cohort_id.in_(sa.select(Cohort.id).where(Cohort.programme_id == programme_id))
        )
    per_cohort = per_cohort.subquery()
    funded = sa.func.coalesce(per_cohort.c.funded, 0)
    waiting = sa.func.coalesce(per_cohort.c.waiting, 0)
    is_open = Cohort.status == CohortStatus.OPEN
    counted = Cohort.status != CohortStatus.CANCELLED

    def total(value, when=None) -> sa.ColumnElement[int]:
        value = sa.case((counted if when is None else sa.and_(counted, when), value), else_=0)
        return sa.func.coalesce(sa.func.sum(value), 0)

    query = (
        sa.select(
            Cohort.programme_id,
            sa.func.count(),
            total(1),
            total(1, is_open),
            total(1, sa.and_(is_open, Cohort.places <= funded)),
            total(1, waiting > 0),
            total(Cohort.places),
            total(funded),
            total(Cohort.places - funded, sa.and_(is_open, Cohort.places > funded)),
            total(waiting),
        )
        .outerjoin(per_cohort, per_cohort.c.cohort_id == Cohort.id)
        .group_by(Cohort.programme_id)
    )
    if programme_id is not None:
        query = query.where(Cohort.programme_id == programme_id)
    return {
        row[0]: CohortSummary(*(int(value) for value in row[1:])) for row in session.execute(query)
    }


def by_provider(
    session: Session, scope: Scope = ALL, *, provider_id: int | None = None
) -> dict[tuple[int, int], Figures]:
    """Figures of each provider's cohorts (or one provider's) on each programme."""
    if scope.by_claim_date or scope.has_area:
        conditions = scope.claim_conditions()
        if provider_id is not None:
            conditions.append(Cohort.provider_id == provider_id)
        grouped, state = _claims(
            Cohort.provider_id, Claim.programme_id, where=conditions, join_cohort=True
        )
        keys = (grouped.c.provider_id, grouped.c.programme_id)
        query = sa.select(*keys, *state.sums()).group_by(*keys)
        return _figures(session.execute(query), 2)
    t = ProviderClaimCount
    query = sa.select(t.provider_id, t.programme_id, *_kept(t).sums()).group_by(
        t.provider_id, t.programme_id
    )
    if scope.programme_id is not None:
        query = query.where(t.programme_id == scope.programme_id)
    if provider_id is not None:
        query = query.where(t.provider_id == provider_id)
    return _figures(session.execute(query), 2)


def by_setting(session: Session, setting_ids: Iterable[int]) -> dict[int, Figures]:
    """Each named setting's figures: for a page of settings, from their claims."""
    setting_ids = list(setting_ids)
    if not setting_ids:
        return {}
    grouped, state = _claims(Claim.setting_id, where=[Claim.setting_id.in_(setting_ids)])
    return _figures(
        session.execute(
            sa.select(grouped.c.setting_id, *state.sums()).group_by(grouped.c.setting_id)
        )
    )


def by_area(session: Session, scope: Scope = ALL) -> dict[tuple[int | None, str | None], Figures]:
    """Figures by local authority and kind of setting (None: none known)."""
    if scope.by_claim_date:
        grouped, state = _claims(
            Claim.local_authority_id,
            Setting.kind.label("kind"),
            where=scope.claim_conditions(),
            outer_setting=True,
        )
        keys = (grouped.c.local_authority_id, grouped.c.kind)
        rows = session.execute(sa.select(*keys, *state.sums()).group_by(*keys))
    else:
        t = AreaClaimCount
        rows = session.execute(
            sa.select(t.local_authority_id, t.setting_kind, *_kept(t).sums())
            .where(*scope.kept_conditions(t))
            .group_by(t.local_authority_id, t.setting_kind)
        )
    return {(_area(la), _kind(kind)): f for (la, kind), f in _figures(rows, 2).items()}


def _area(local_authority_id: int | None) -> int | None:
    return None if local_authority_id in (None, NO_AREA) else local_authority_id


def _kind(kind) -> str | None:
    return None if kind in (None, NO_SETTING) else str(getattr(kind, "value", kind))


def settings_claiming(
    session: Session, scope: Scope = ALL
) -> dict[tuple[int | None, str | None], int]:
    """Settings with at least one claim in scope, by their local authority and kind."""
    if scope.by_claim_date:
        query = (
            sa.select(
                Setting.local_authority_id, Setting.kind, sa.func.count(sa.distinct(Setting.id))
            )
            .join(Claim, Claim.setting_id == Setting.id)
            .where(*scope.claim_conditions())
        )
    else:
        t = SettingClaimCount
        query = (
            sa.select(
                Setting.local_authority_id, Setting.kind, sa.func.count(sa.distinct(Setting.id))
            )
            .join(t, t.setting_id == Setting.id)
            .where(t.n > 0, *scope.setting_conditions())
        )
        if scope.programme_id is not None:
            query = query.where(t.programme_id == scope.programme_id)
    query = query.group_by(Setting.local_authority_id, Setting.kind)
    return {(la, _kind(kind)): n for la, kind, n in session.execute(query)}


def settings_claiming_by_programme(session: Session, scope: Scope = ALL) -> dict[int, int]:
    """Settings with at least one claim in scope on each programme."""
    if scope.by_claim_date:
        query = (
            sa.select(Claim.programme_id, sa.func.count(sa.distinct(Claim.setting_id)))
            .where(Claim.setting_id.is_not(None), *scope.claim_conditions())
            .group_by(Claim.programme_id)
        )
    else:
        t = SettingClaimCount
        query = (
            sa.select(t.programme_id, sa.func.count(t.setting_id))
            .where(t.n > 0)
            .group_by(t.programme_id)
        )
        if scope.has_area:
            query = query.join(Setting, Setting.id == t.setting_id).where(
                *scope.setting_conditions()
            )
        if scope.programme_id is not None:
            query = query.where(t.programme_id == scope.programme_id)
    return dict(session.execute(query).all())


def weekly_funded(session: Session, scope: Scope = ALL) -> dict[int, dict[date, int]]:
    """Funded places held now, per programme, by the Europe/London week they were funded."""
    per_week: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    if scope.by_claim_date:
        rows = _funded_days(session, scope.claim_conditions(), Claim.holds_place.is_(True))
        for programme_id, _, week, _, n in rows:
            per_week[programme_id][week] += n
    else:
        t = WeeklyClaimCount
        rows = session.execute(
            sa.select(t.programme_id, t.funded_week, sa.func.sum(t.n))
            .where(t.holds_place.is_(True), *scope.kept_conditions(t))
            .group_by(t.programme_id, t.funded_week)
        )
        for programme_id, week, n in rows:
            if n:
                per_week[programme_id][_as_date(week)] += int(n)
    return {p: dict(weeks) for p, weeks in per_week.items()}


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def end_reasons(session: Session, scope: Scope = ALL) -> list[tuple[int, ClaimStatus, str, int]]:
    """Claims withdrawn or deferred, by programme, status and the reason given."""
    if scope.by_claim_date:
        reason = sa.func.coalesce(Claim.end_reason, "")
        rows = session.execute(
            sa.select(Claim.programme_id, Claim.status, reason, sa.func.count())
            .where(Claim.status.in_(ENDED), *scope.claim_conditions())
            .group_by(Claim.programme_id, Claim.status, reason)
        )
        counts: Counter = Counter()
        for programme_id, status, text, n in rows:
            counts[(programme_id, ClaimStatus(status), text[:REASON_LENGTH])] += n
    else:
        t = ReasonClaimCount
        rows = session.execute(
            sa.select(t.programme_id, t.status, t.reason, sa.func.sum(t.n))
            .where(t.status.in_(ENDED), *scope.kept_conditions(t))
            .group_by(t.programme_id, t.status, t.reason)
        )
        counts = Counter({(p, ClaimStatus(s), r): int(n) for p, s, r, n in rows if n})
    return [(*key, n) for key, n in counts.items() if n]


# -- checking the kept counts against the claims ----------------------------------------


class _UtcDate(sa.sql.expression.FunctionElement):
    """The UTC calendar date of a stored timestamp, as ISO text, on SQLite and PostgreSQL."""

    type = sa.String()
    inherit_cache = True


class _UtcHour(sa.sql.expression.FunctionElement):
    """The UTC hour (0 to 23) of a stored timestamp."""

    type = sa.Integer()
    inherit_cache = True


@compiles(_UtcDate)
def _utc_date_default(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(_UtcDate, "postgresql")
def _utc_date_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(_UtcHour)
def _utc_hour_default(element, compiler, **kw):
    return f"CAST(strftime('%H', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(_UtcHour, "postgresql")
def _utc_hour_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(HOUR FROM ({column}) AT TIME ZONE 'UTC') AS INTEGER)"


def week_of(day: date) -> date:
    """The Monday of the week a date falls in."""
    return day - timedelta(days=day.weekday())


def _london_week(utc_day: date, late: bool) -> date:
    """London's week for a UTC date; only 23:00-23:59 UTC can fall on London's next day."""
    if late:
        utc_day = datetime.combine(utc_day, time(23, 30), UTC).astimezone(LONDON).date()
    return week_of(utc_day)


def _funded_days(session: Session, conditions, *more) -> list[tuple]:
    """Claims with a funded date by programme, area, London week and whether they hold a place.

    The database groups by UTC day and whether the hour is 23 (the only hour that can be
    London's next day), so Python sees at most two rows a day for each group.
    """
    utc_day = _UtcDate(Claim.funded_dt)
    late = sa.case((_UtcHour(Claim.funded_dt) == 23, 1), else_=0)
    rows = session.execute(
        sa.select(
            Claim.programme_id,
            Claim.local_authority_id,
            utc_day,
            late,
            Claim.holds_place,
            sa.func.count(),
        )
        .where(Claim.funded_dt.is_not(None), *conditions, *more)
        .group_by(Claim.programme_id, Claim.local_authority_id, utc_day, late, Claim.holds_place)
    )
    counts: Counter = Counter()
    for programme_id, la, day, is_late, holds_place, n in rows:
        week = _london_week(date.fromisoformat(str(day)[:10]), bool(is_late))
        counts[(programme_id, la or NO_AREA, week, bool(holds_place))] += n
    return [(*key, n) for key, n in counts.items()]


def _recount(session: Session) -> dict[str, Counter]:
    """Every kept count worked out again from the claims themselves."""
    started = Claim.started_dt.is_not(None)
    kind = sa.func.coalesce(sa.type_coerce(Setting.kind, sa.String), NO_SETTING)
    area = sa.func.coalesce(Claim.local_authority_id, NO_AREA)

    def grouped(*key, where=(), join_setting=False, join_cohort=False):
        query = sa.select(*key, sa.func.count()).select_from(Claim)
        if join_cohort:
            query = query.join(Cohort, Claim.cohort_id == Cohort.id)
        if join_setting:
            query = query.outerjoin(Setting, Claim.setting_id == Setting.id)
        return session.execute(query.where(*where).group_by(*key))

    recounted: dict[str, Counter] = {}
    recounted["cohort_claim_counts"] = Counter(
        {
            (cohort, ClaimStatus(status), bool(held), bool(s)): n
            for cohort, status, held, s, n in grouped(
                Claim.cohort_id, Claim.status, Claim.holds_place, started
            )
        }
    )
    recounted["provider_claim_counts"] = Counter(
        {
            (programme, provider, ClaimStatus(status), bool(held), bool(s)): n
            for programme, provider, status, held, s, n in grouped(
                Claim.programme_id,
                Cohort.provider_id,
                Claim.status,
                Claim.holds_place,
                started,
                join_cohort=True,
            )
        }
    )
    recounted["area_claim_counts"] = Counter(
        {
            (programme, la, str(k), ClaimStatus(status), bool(held), bool(s)): n
            for programme, la, k, status, held, s, n in grouped(
                Claim.programme_id,
                area,
                kind,
                Claim.status,
                Claim.holds_place,
                started,
                join_setting=True,
            )
        }
    )
    recounted["weekly_claim_counts"] = Counter(
        {tuple(row[:-1]): row[-1] for row in _funded_days(session, [])}
    )
    recounted["setting_claim_counts"] = Counter(
        {
            (setting, programme): n
            for setting, programme, n in grouped(
                Claim.setting_id, Claim.programme_id, where=[Claim.setting_id.is_not(None)]
            )
        }
    )
    reasons: Counter = Counter()
    for programme, la, status, reason, n in grouped(
        Claim.programme_id,
        area,
        Claim.status,
        Claim.end_reason,
        where=[Claim.end_reason.is_not(None)],
    ):
        reasons[(programme, la, ClaimStatus(status), reason[:REASON_LENGTH])] += n
    recounted["reason_claim_counts"] = reasons
    return recounted


_KEYS = {
    CohortClaimCount: ("cohort_id", "status", "holds_place", "has_started"),
    ProviderClaimCount: ("programme_id", "provider_id", "status", "holds_place", "has_started"),
    AreaClaimCount: (
        "programme_id",
        "local_authority_id",
        "setting_kind",
        "status",
        "holds_place",
        "has_started",
    ),
    WeeklyClaimCount: ("programme_id", "local_authority_id", "funded_week", "holds_place"),
    SettingClaimCount: ("setting_id", "programme_id"),
    ReasonClaimCount: ("programme_id", "local_authority_id", "status", "reason"),
}


def _normal(value):
    if isinstance(value, ClaimStatus):
        return value
    if isinstance(value, bool | int | date):
        return value
    return str(value)


def _kept_rows(session: Session, model) -> Counter:
    columns = [getattr(model, name) for name in _KEYS[model]]
    kept: Counter = Counter()
    for *key, n in session.execute(sa.select(*columns, model.n)):
        if n:
            if model is WeeklyClaimCount:
                key[2] = _as_date(key[2])
            kept[tuple(_normal(k) for k in key)] += n
    return kept


@dataclass(frozen=True)
class Drift:
    """A kept count that differs from the claims: the table, its key, kept and recounted."""

    table: str
    key: tuple
    kept: int
    recounted: int

    def __str__(self) -> str:
        key = ", ".join(f"{name}={value}" for name, value in self.key)
        return f"{self.table} ({key}): kept {self.kept}, counted from claims {self.recounted}"


def check(session: Session) -> list[Drift]:
    """Every kept count that differs from the same count worked out from the claims."""
    recounted = _recount(session)
    drift = []
    for model, names in _KEYS.items():
        table = model.__tablename__
        kept, fresh = _kept_rows(session, model), recounted[table]
        for key in sorted(set(kept) | set(fresh), key=repr):
            if kept.get(key, 0) != fresh.get(key, 0):
                drift.append(
                    Drift(table, tuple(zip(names, key, strict=True)), kept[key], fresh[key])
                )
    return drift


def rebuild(session: Session) -> None:
    """Write every kept count again from the claims (a repair: ``check`` says when it is needed)."""
    if session.get_bind().dialect.name == "postgresql":
        # Claims written meanwhile would be counted twice or not at all.
        session.execute(sa.text("LOCK TABLE claims IN SHARE MODE"))
    recounted = _recount(session)
    for model, names in _KEYS.items():
        session.execute(sa.delete(model))
        rows = [
            {**dict(zip(names, key, strict=True)), "n": n}
            for key, n in recounted[model.__tablename__].items()
            if n
        ]
        if rows:
            session.execute(sa.insert(model), rows)
    logger.info("Claim counts rebuilt from the claims")
