"""The place ledger: who gets a funded place, who waits, and in what order.

Every decision about places goes through this module: the pages, the CSV import, the
API and the commands all call it. A claim is funded only when every cap that applies
has room:

- the programme's national target (the current ``ProgrammeTarget``),
- the provider's allocation on the programme,
- the cohort's places,
- each region quota covering the claim's region (over the programme, or per cohort),
- the places one setting may hold at once.

Otherwise it waits. The waiting list is ordered by priority region first, then by the
order of claims; a place given back before training starts goes to the first waiting
claim that fits, at once.

Concurrency: before it decides anything, each operation bumps ``programmes.ledger_seq``
with an UPDATE. On PostgreSQL that takes the programme's row lock until commit, so
decisions about one programme happen one at a time, on any number of machines; on SQLite
the transaction already holds the database's write lock (see ``tracker.database``). The
counts are read after the lock is held, so they are never stale. A claim finds and adds
the people it names first, as that decides no places, so the lock is held only while the
places are decided and written; a claim for the same person made meanwhile is caught by
the database's one-live-claim-per-programme index. If the database reports a deadlock, a
serialisation failure or such a clash, the operation is rolled back to its savepoint and
retried here, never shown to a user.

Functions flush; they never commit. The caller commits once, at the edge.
"""

import functools
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from tracker.audit import record_created
from tracker.database import IN_CHUNK, insert_one, insert_rows, one_of
from tracker.errors import DomainError
from tracker.models import (
    LIVE_CLAIM_INDEX,
    LIVE_STATUSES,
    ONE_FUNDED_PLACE_INDEX,
    Allocation,
    AreaClaimCount,
    Claim,
    ClaimStatus,
    Cohort,
    CohortClaimCount,
    CohortStatus,
    LocalAuthority,
    Programme,
    ProgrammeTarget,
    ProviderClaimCount,
    RegionQuota,
    Role,
    Setting,
    User,
)
from tracker.models.base import utcnow
from tracker.models.programme import programme_priority_regions
from tracker.participants import (
    Person,
    add_conflicts,
    add_participants,
    differences,
    match_participants,
)
from tracker.reminders.outbox import queue_claim_released, queue_place_offered
from tracker.reminders.time import london_date

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Claims that count against the places one setting may hold at once: funded and not yet
# finished. A participant deferred during training keeps their place for their return.
SETTING_HOLDING_STATUSES = (ClaimStatus.FUNDED, ClaimStatus.STARTED, ClaimStatus.DEFERRED)


def held_at_setting(claim=Claim) -> sa.ColumnElement[bool]:
    """Claims that count against their setting's limit of places held at once."""
    return sa.and_(claim.holds_place.is_(True), claim.status.in_(SETTING_HOLDING_STATUSES))


# The cap levels, named as a waiting claim's reason.
PROGRAMME = "programme"
ALLOCATION = "allocation"
COHORT = "cohort"
REGION_QUOTA = "region-quota"
SETTING = "setting"
# Not a cap: the claims waiting in a cohort, counted with the places used.
WAITING = "waiting"
# In the order a claim is checked against them.
CAP_LEVELS = (PROGRAMME, ALLOCATION, COHORT, REGION_QUOTA, SETTING)

WAITING_REASONS = {
    PROGRAMME: "The programme's funded places are all taken",
    ALLOCATION: "The provider's allocation is used up",
    COHORT: "The cohort is full",
    REGION_QUOTA: "The places for this region are all taken",
    SETTING: "The setting holds as many funded places as it may",
}


@dataclass
class LedgerOutcome:
    """What an operation did: the claim it was about, and any waiting claims it funded."""

    claim: Claim
    promoted: list[Claim] = field(default_factory=list)
    # Where a claim just made waits (1 is next), when the operation knows it; else ask
    # ``waiting_position``.
    waiting_position: int | None = None


@dataclass(frozen=True)
class NewClaim:
    """A claim ``claim_places`` made, as the ledger decided it, without loading the Claim.

    A batch may make thousands of claims: a caller that needs a Claim loads it by ``id``.
    """

    id: int
    cohort_id: int
    participant_id: int
    status: ClaimStatus
    waiting_reason: str | None
    queue_seq: int
    # Its place on the cohort's waiting list when made (1 is next), if it waits.
    waiting_position: int | None = None


def london_today() -> date:
    """Today's date in England: targets take effect, and cohorts start, on London dates."""
    return london_date(utcnow())


# -- retries -----------------------------------------------------------------------------

_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}  # serialisation, deadlock, lock not available


def _is_transient(exc: sa.exc.DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _TRANSIENT_SQLSTATES:
        return True
    message = str(exc.orig).lower()
    return "database is locked" in message or "database is busy" in message


class _RetryOperation(Exception):
    """Raised inside an operation to roll it back to its savepoint and run it again."""


def retrying(operation):
    """Run a ledger operation in a savepoint, retrying it on deadlock or serialisation failure."""

    @functools.wraps(operation)
    def wrapper(session: Session, *args, **kwargs):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            savepoint = session.begin_nested()
            try:
                result = operation(session, *args, **kwargs)
                savepoint.commit()
                return result
            except (sa.exc.DBAPIError, _RetryOperation) as exc:
                savepoint.rollback()
                if attempt == MAX_ATTEMPTS or not (
                    isinstance(exc, _RetryOperation) or _is_transient(exc)
                ):
                    raise
                logger.warning(
                    "Retrying %s after a transient database error (attempt %d): %s",
                    operation.__name__,
                    attempt,
                    getattr(exc, "orig", exc),
                )
                time.sleep(0.01 * 2**attempt)
            except BaseException:
                savepoint.rollback()
                raise
        raise AssertionError("unreachable")

    return wrapper


def lock_programme(session: Session, programme_id: int, count: int = 1) -> int:
    """Take the programme's ledger lock and reserve ``count`` sequence numbers; return the last."""
    return session.scalar(
        sa.update(Programme)
        .where(Programme.id == programme_id)
        .values(ledger_seq=Programme.ledger_seq + count)
        .returning(Programme.ledger_seq)
        .execution_options(synchronize_session=False)
    )


# -- the caps ----------------------------------------------------------------------------


def target_in_force(query: sa.Select, programme_id, on) -> sa.Select:
    """Narrow a query of targets to the one in force on a date: the latest set to take
    effect by then. ``programme_id`` may be a column, to correlate with a query of
    programmes."""
    return (
        query.where(
            ProgrammeTarget.programme_id == programme_id, ProgrammeTarget.effective_on <= on
        )
        .order_by(ProgrammeTarget.effective_on.desc(), ProgrammeTarget.id.desc())
        .limit(1)
    )


def current_target(
    session: Session, programme_id: int, on: date | None = None
) -> ProgrammeTarget | None:
    """Return the target in force on a date (today by default): the latest set before it."""
    on = on or london_today()
    return session.scalar(target_in_force(sa.select(ProgrammeTarget), programme_id, on))


class Placement(NamedTuple):
    """Where a claim counts against the caps: a claim, or one about to be made, has these."""

    cohort_id: int
    setting_id: int | None
    local_authority_id: int | None


@functools.cache
def _cohorts_statement(named_cohorts: bool) -> sa.Select:
    """Each cohort of a programme (or those named) with its provider's allocation and the
    programme's target in force, in one statement built once for each shape. Its
    parameters: programme_id, today, and cohort_ids (named_cohorts)."""
    programme_id = sa.bindparam("programme_id")
    target = target_in_force(sa.select(ProgrammeTarget.places), programme_id, sa.bindparam("today"))
    query = (
        sa.select(
            Cohort.id,
            Cohort.provider_id,
            Cohort.places,
            Cohort.status,
            sa.func.coalesce(Allocation.places, 0).label("allocation"),
            target.scalar_subquery().label("target"),
        )
        .outerjoin(
            Allocation,
            sa.and_(
                Allocation.provider_id == Cohort.provider_id,
                Allocation.programme_id == programme_id,
            ),
        )
        .where(Cohort.programme_id == programme_id)
    )
    if named_cohorts:
        query = query.where(Cohort.id.in_(sa.bindparam("cohort_ids")))
    return query


@dataclass
class _Quota:
    id: int
    region_ids: frozenset[int]
    places: int
    per_cohort: bool


def on_the_list() -> sa.ColumnElement[bool]:
    """Waiting claims that have a place on their cohort's waiting list.

    A claim waiting only because its setting holds as many funded places as it may is not
    in the queue for the cohort's places: it is funded when one of its setting's places
    ends, whoever else waits, so it has no position and no one waits behind it.
    """
    return sa.or_(Claim.waiting_reason.is_(None), Claim.waiting_reason != SETTING)


@functools.cache
def _places_used_statement(
    named_cohorts: bool, named_settings: bool, settings_capped: bool
) -> sa.CompoundSelect:
    """The statement ``_places_used`` runs, built once for each shape: building one costs
    more than running it. Its parameters: programme_id, and cohort_ids and provider_ids
    (named_cohorts), setting_ids (named_settings); settings are counted only when the
    programme limits the places a setting holds (settings_capped)."""
    count = sa.func.count().label("used")
    programme_id = sa.bindparam("programme_id")
    if named_cohorts:
        in_cohorts = Claim.cohort_id.in_(sa.bindparam("cohort_ids"))
    # Places held by the programme, each provider and each cohort come from the counts the
    # database keeps per provider and per cohort (``ProviderClaimCount``,
    # ``CohortClaimCount``, written with every claim): a few rows, however many cohorts
    # and claims there are. Every write of a claim on this programme holds the lock this
    # operation holds, so they are exact.
    by_provider = ProviderClaimCount
    of_programme = sa.and_(
        by_provider.programme_id == programme_id, by_provider.holds_place.is_(True)
    )
    providers = (
        sa.select(sa.literal(ALLOCATION), by_provider.provider_id, sa.func.sum(by_provider.n))
        .where(of_programme)
        .group_by(by_provider.provider_id)
    )
    if named_cohorts:
        providers = providers.where(by_provider.provider_id.in_(sa.bindparam("provider_ids")))
    kept = CohortClaimCount
    parts = [
        sa.select(
            sa.literal(PROGRAMME).label("level"),
            sa.null().label("key"),
            sa.func.coalesce(sa.func.sum(by_provider.n), 0).label("used"),
        ).where(of_programme),
        providers,
        sa.select(sa.literal(COHORT), kept.cohort_id, sa.func.sum(kept.n))
        .where(
            kept.holds_place.is_(True),
            kept.cohort_id.in_(
                sa.bindparam("cohort_ids")
                if named_cohorts
                else sa.select(Cohort.id).where(Cohort.programme_id == programme_id)
            ),
        )
        .group_by(kept.cohort_id),
    ]
    if settings_capped:
        at_settings = Claim.setting_id.is_not(None)
        if named_settings:
            at_settings = Claim.setting_id.in_(sa.bindparam("setting_ids"))
        parts.append(
            # Written as the index's condition is (``Claim.holds_place``, not ``IS true``).
            sa.select(sa.literal(SETTING), Claim.setting_id, count)
            .where(
                Claim.programme_id == programme_id,
                Claim.holds_place,
                Claim.status.in_(SETTING_HOLDING_STATUSES),
                at_settings,
            )
            .group_by(Claim.setting_id)
        )
    if named_cohorts:
        # The claims waiting in each cohort named, priority ones apart (key: cohort id,
        # negative for the priority ones): where a claim made now joins the list.
        key = sa.case((Claim.is_priority, -Claim.cohort_id), else_=Claim.cohort_id)
        parts.append(
            sa.select(sa.literal(WAITING), key, count)
            .where(in_cohorts, Claim.status == ClaimStatus.WAITING, on_the_list())
            .group_by(key)
        )
    return sa.union_all(*parts)


def _places_used(
    session: Session,
    programme: Programme,
    *,
    cohort_ids: list[int] | None,
    provider_ids: list[int] | None,
    setting_ids: list[int] | None,
) -> dict[str, Counter]:
    """The places used now at each level, in one statement: by the programme, by each
    provider and cohort (every one, or those of the cohorts named), by each setting (named,
    or all) when the programme limits settings' places, and the claims waiting in each
    cohort named.

    The programme, providers and cohorts are read from the counts kept per provider and
    per cohort; settings count the places held and not yet finished, as the per-setting
    limit does (``held_at_setting``), from their claims.
    """
    named_cohorts = cohort_ids is not None
    named_settings = setting_ids is not None and len(setting_ids) <= IN_CHUNK
    params: dict = {"programme_id": programme.id}
    if named_cohorts:
        params.update(cohort_ids=cohort_ids, provider_ids=provider_ids)
    if named_settings:
        params["setting_ids"] = setting_ids
    used: dict[str, Counter] = {
        level: Counter() for level in (PROGRAMME, ALLOCATION, COHORT, SETTING, WAITING)
    }
    statement = _places_used_statement(
        named_cohorts, named_settings, programme.places_per_setting is not None
    )
    for level, of, n in session.execute(statement, params):
        used[level][of] = n
    return used


def _quota_places_used(
    session: Session, programme_id: int, quotas: list[_Quota], cohort_ids: list[int] | None
) -> Counter:
    """Places held under each region quota of one programme, keyed by (quota id, cohort id)
    for a quota counted per cohort (the cohorts named, or all), by (quota id, None) for one
    counted over the programme (from the counts kept per local authority)."""
    used: Counter = Counter()
    if any(quota.per_cohort for quota in quotas):
        query = (
            sa.select(Claim.cohort_id, LocalAuthority.region_id, sa.func.count())
            .join(LocalAuthority, Claim.local_authority_id == LocalAuthority.id)
            .where(Claim.programme_id == programme_id, Claim.holds_place)
            .group_by(Claim.cohort_id, LocalAuthority.region_id)
        )
        if cohort_ids is not None:
            query = query.where(Claim.cohort_id.in_(cohort_ids))
        for cohort_id, region_id, n in session.execute(query):
            for quota in quotas:
                if quota.per_cohort and region_id in quota.region_ids:
                    used[(quota.id, cohort_id)] += n
    if not all(quota.per_cohort for quota in quotas):
        kept = AreaClaimCount
        query = (
            sa.select(LocalAuthority.region_id, sa.func.sum(kept.n))
            .join(LocalAuthority, kept.local_authority_id == LocalAuthority.id)
            .where(kept.programme_id == programme_id, kept.holds_place.is_(True))
            .group_by(LocalAuthority.region_id)
        )
        for region_id, n in session.execute(query):
            for quota in quotas:
                if not quota.per_cohort and region_id in quota.region_ids:
                    used[(quota.id, None)] += n
    return used


@dataclass
class Capacity:
    """Places used and allowed at every cap level of one programme, read under its lock."""

    programme_cap: int | None
    programme_used: int
    allocation_cap: dict[int, int]
    allocation_used: Counter
    cohort_cap: dict[int, int]
    cohort_provider: dict[int, int]
    cohort_status: dict[int, CohortStatus]
    cohort_used: Counter
    setting_cap: int | None
    setting_used: Counter
    quotas: list[_Quota]
    quota_used: Counter  # keyed by (quota id, cohort id or None)
    region_of_la: dict[int, int]
    # Claims waiting by cohort id (negative for priority ones), for the cohorts named.
    waiting: Counter = field(default_factory=Counter)

    @classmethod
    def load(
        cls,
        session: Session,
        programme: Programme,
        *,
        cohort_ids: list[int] | None = None,
        setting_ids: list[int] | None = None,
    ) -> "Capacity":
        """Read the counts, for every cohort and setting or only the ones named."""
        pid = programme.id
        today = london_today()
        params = {"programme_id": pid, "today": today}
        if cohort_ids is not None:
            params["cohort_ids"] = cohort_ids
        cohorts = session.execute(_cohorts_statement(cohort_ids is not None), params).all()
        if cohorts:
            target_places = cohorts[0].target
        else:  # no cohort to decide for; the target is asked for on its own
            target = current_target(session, pid, today)
            target_places = target.places if target else None
        used = _places_used(
            session,
            programme,
            cohort_ids=cohort_ids,
            provider_ids=None if cohort_ids is None else sorted({c.provider_id for c in cohorts}),
            setting_ids=setting_ids,
        )

        quotas = [
            _Quota(q.id, frozenset(r.id for r in q.regions), q.places, q.per_cohort)
            for q in session.scalars(sa.select(RegionQuota).where(RegionQuota.programme_id == pid))
        ]
        quota_used: Counter = Counter()
        region_of_la: dict[int, int] = {}
        if quotas:
            region_of_la = dict(
                session.execute(sa.select(LocalAuthority.id, LocalAuthority.region_id)).all()
            )
            quota_used = _quota_places_used(session, pid, quotas, cohort_ids)

        return cls(
            programme_cap=target_places,
            programme_used=used[PROGRAMME][None],
            allocation_cap={c.provider_id: c.allocation for c in cohorts},
            allocation_used=used[ALLOCATION],
            cohort_cap={c.id: c.places for c in cohorts},
            cohort_provider={c.id: c.provider_id for c in cohorts},
            cohort_status={c.id: c.status for c in cohorts},
            cohort_used=used[COHORT],
            setting_cap=programme.places_per_setting,
            setting_used=used[SETTING],
            quotas=quotas,
            quota_used=quota_used,
            region_of_la=region_of_la,
            waiting=used[WAITING],
        )

    def _quota_keys(self, claim: Claim | Placement) -> list[tuple[_Quota, tuple[int, int | None]]]:
        region_id = self.region_of_la.get(claim.local_authority_id)
        return [
            (quota, (quota.id, claim.cohort_id if quota.per_cohort else None))
            for quota in self.quotas
            if region_id in quota.region_ids
        ]

    def room(self, claim: Claim | Placement, *, levels=CAP_LEVELS) -> dict[str, int | None]:
        """The places left for this claim at each cap level (None: that level has no cap)."""
        provider_id = self.cohort_provider[claim.cohort_id]
        left: dict[str, int | None] = {
            PROGRAMME: None
            if self.programme_cap is None
            else self.programme_cap - self.programme_used,
            ALLOCATION: self.allocation_cap.get(provider_id, 0) - self.allocation_used[provider_id],
            COHORT: self.cohort_cap[claim.cohort_id] - self.cohort_used[claim.cohort_id],
            REGION_QUOTA: min(
                (quota.places - self.quota_used[key] for quota, key in self._quota_keys(claim)),
                default=None,
            ),
            SETTING: None
            if self.setting_cap is None or claim.setting_id is None
            else self.setting_cap - self.setting_used[claim.setting_id],
        }
        return {level: left[level] for level in levels}

    def blocker(self, claim: Claim | Placement, *, levels=CAP_LEVELS) -> str | None:
        """Name the first cap level with no room for this claim, or None when all have room."""
        for level, left in self.room(claim, levels=levels).items():
            if left is not None and left <= 0:
                return level
        return None

    def places_left(self, claim: Claim | Placement) -> int:
        """Funded places this claim's cohort could still give it: the least room at any cap
        but its setting's own limit (told apart, as the setting's)."""
        room = self.room(claim, levels=CAP_LEVELS[:-1])
        return max(0, min(left for left in room.values() if left is not None))

    def queue(self, cohort_id: int, is_priority: bool) -> int:
        """Put a claim made now on its cohort's waiting list; return its place (1 is next).

        The order is the one ``waiting_positions`` gives: priority regions first, then
        the order of claims, and a claim made now comes after every claim made before it.
        """
        if is_priority:
            self.waiting[-cohort_id] += 1
            return self.waiting[-cohort_id]
        self.waiting[cohort_id] += 1
        return self.waiting[-cohort_id] + self.waiting[cohort_id]

    def take(self, claim: Claim | Placement, n: int = 1) -> None:
        """Count a place taken by this claim (or, with ``n=-1``, given back) at every level."""
        self.programme_used += n
        self.allocation_used[self.cohort_provider[claim.cohort_id]] += n
        self.cohort_used[claim.cohort_id] += n
        for _quota, key in self._quota_keys(claim):
            self.quota_used[key] += n
        if claim.setting_id is not None:
            self.setting_used[claim.setting_id] += n


def _funded(now: datetime) -> dict:
    """A claim's values once it is funded: what funding a claim means, in one place."""
    return {
        "status": ClaimStatus.FUNDED,
        "holds_place": True,
        "waiting_reason": None,
        "funded_dt": now,
    }


def _fund(claim: Claim) -> None:
    for key, value in _funded(utcnow()).items():
        setattr(claim, key, value)


# -- operations --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRequest:
    """One claim in a batch: a named person, and their setting or (for EP) their area."""

    full_name: str
    email: str
    trn: str | None = None
    setting: Setting | None = None
    local_authority: LocalAuthority | None = None


class ClaimsRefused(DomainError):
    """Some claims in a batch broke a rule, so none was made; ``errors`` maps index to reason."""

    def __init__(self, errors: dict[int, DomainError]) -> None:
        first = errors[min(errors)]
        super().__init__(first.message, field=first.field)
        self.errors = dict(sorted(errors.items()))


def uses_settings(programme: Programme) -> bool:
    """Whether a claim on this programme names a setting; if not (EP), it names an area."""
    return bool(programme.eligible_setting_kinds)


def check_place(
    programme: Programme, setting: Setting | None, local_authority: LocalAuthority | None
) -> Placement:
    """Check where a claim's place would count, and return it (the cohort not yet known).

    On a programme with settings the place counts in the setting's area, and only staff
    of the eligible kinds of setting may claim; on one without (EP), the trainee's
    placement local authority must be named, so that the place counts in a region and
    under any region quota, however the claim arrives.
    """
    if uses_settings(programme):
        if local_authority is not None:
            raise DomainError(
                f"Leave the local authority empty: on {programme.name} the place counts"
                " in the setting's area",
                field="local_authority",
            )
        if setting is None:
            raise DomainError(
                "Enter the URN of the setting the participant works at", field="setting"
            )
        if setting.kind.value not in programme.eligible_setting_kinds:
            raise DomainError(
                f"Staff of a {setting.kind.label.lower()} cannot claim a place on {programme.name}",
                field="setting",
            )
        return Placement(0, setting.id, setting.local_authority_id)
    if setting is not None:
        raise DomainError(
            f"Leave the setting empty: claims on {programme.name} name the local authority"
            " the trainee is placed in",
            field="setting",
        )
    if local_authority is None:
        raise DomainError(
            "Enter the 3-digit code of the local authority the trainee is placed in",
            field="local_authority",
        )
    return Placement(0, None, local_authority.id)


def _standing(claim) -> sa.ColumnElement[bool]:
    """Claims that stop a person claiming again on their programme: a live one, a deferred
    one (it resumes instead), or one that used a funded place (funding is given once)."""
    return sa.or_(
        claim.status.in_(LIVE_STATUSES),
        claim.status == ClaimStatus.DEFERRED,
        claim.holds_place.is_(True),
    )


class Standing(NamedTuple):
    """A claim that stops its person claiming again, and whose it is."""

    status: ClaimStatus
    holds_place: bool
    provider_id: int
    setting_id: int | None


def _standing_claims(
    session: Session, programme_id: int, participant_ids: list[int]
) -> dict[int, Standing]:
    """Each person's claim that stops them claiming again: the one that says most."""
    found: dict[int, Standing] = {}
    for condition in one_of(session.get_bind(), Claim.participant_id, participant_ids):
        rows = session.execute(
            sa.select(
                Claim.participant_id,
                Claim.status,
                Claim.holds_place,
                Cohort.provider_id,
                Claim.setting_id,
            )
            .join(Cohort, Claim.cohort_id == Cohort.id)
            .where(Claim.programme_id == programme_id, condition, _standing(Claim))
        )
        for participant_id, *standing in rows:
            # A live claim says most; then a deferred one, which can resume.
            known = found.get(participant_id)
            if known is None or _rank(standing[0]) < _rank(known.status):
                found[participant_id] = Standing(*standing)
    return found


def sees_claim(by: User | None, provider_id: int, setting_id: int | None) -> bool:
    """Whether the one acting may see a claim: the service itself and DfE see every one, a
    provider those in its cohorts, a setting those for its staff."""
    if by is None or by.role == Role.DFE:
        return True
    if by.provider_id is not None and by.provider_id == provider_id:
        return True
    return by.setting_id is not None and by.setting_id == setting_id


def _rank(status: ClaimStatus) -> int:
    return 0 if status in LIVE_STATUSES else 1 if status == ClaimStatus.DEFERRED else 2


def _refusal(email: str, programme: Programme, standing: Standing, by: User | None) -> DomainError:
    """Why a person cannot claim again. Only to one who may see the claim in the way does
    it say what the claim is; to anyone else, only that the person has a place already,
    naming no organisation, cohort, status or detail of that claim."""
    status = standing.status
    if not sees_claim(by, standing.provider_id, standing.setting_id):
        message = (
            f"{email} already has a place on {programme.name}: one person may hold one"
            " place on a programme"
        )
    elif status in LIVE_STATUSES:
        message = f"{email} already has a {status.value} claim on {programme.name}"
    elif status == ClaimStatus.DEFERRED:
        message = (
            f"{email} has a deferred claim on {programme.name}: resume that claim"
            " rather than making a new one"
        )
    else:
        message = (
            f"{email} has already had a funded place on {programme.name}, which is funded"
            " once for each person"
        )
    return DomainError(message, field="email")


def _programme_room_unused(session: Session, capacity: Capacity, programme_id: int) -> bool:
    """Whether the programme has room while claims still wait for the programme's places."""
    if capacity.programme_cap is None or capacity.programme_used >= capacity.programme_cap:
        return False
    return session.scalar(
        sa.select(
            sa.exists().where(
                Claim.programme_id == programme_id,
                Claim.status == ClaimStatus.WAITING,
                Claim.waiting_reason == PROGRAMME,
            )
        )
    )


def _priority_local_authorities(session: Session, programme_id: int) -> set[int]:
    return set(
        session.scalars(
            sa.select(LocalAuthority.id).join(
                programme_priority_regions,
                sa.and_(
                    programme_priority_regions.c.region_id == LocalAuthority.region_id,
                    programme_priority_regions.c.programme_id == programme_id,
                ),
            )
        )
    )


def _insert_claims(session: Session, rows: list[dict]) -> None:
    """Insert new claims of one programme, with their audit trail; set each row's ``id``.

    In bulk, not through the unit of work: a batch can be thousands of claims. The ids are
    read back by participant: each participant has one live claim on a programme, and
    these are new. One claim's id comes back as it is inserted.
    """
    connection = session.connection()
    if len(rows) == 1:
        rows[0]["id"] = insert_one(connection, Claim.__table__, rows[0])
        record_created(session, Claim, rows)
        return
    insert_rows(connection, Claim.__table__, rows)
    programme_id = rows[0]["programme_id"]
    ids = {}
    for condition in one_of(connection, Claim.participant_id, [r["participant_id"] for r in rows]):
        ids.update(
            connection.execute(
                sa.select(Claim.participant_id, Claim.id).where(
                    Claim.programme_id == programme_id,
                    condition,
                    Claim.status.in_(LIVE_STATUSES),
                )
            ).all()
        )
    for row in rows:
        row["id"] = ids[row["participant_id"]]
    record_created(session, Claim, rows)


@retrying
def claim_places(
    session: Session, cohort: Cohort, requests: list[ClaimRequest], *, by: User | None = None
) -> list[NewClaim]:
    """Claim places in a cohort for many people at once, in order: all are made, or none.

    Each claim is funded if every cap has room when its turn comes, else it waits. If
    any request breaks a rule, ClaimsRefused reports every one that does and nothing
    changes. One claim is a batch of one (see ``claim_place``): the rules live here only.
    New people and claims are written in bulk with their audit trail, not as ORM objects,
    so a file of thousands is quick; each is returned as a NewClaim.
    """
    if not requests:
        return []
    programme = cohort.programme
    if cohort.status != CohortStatus.OPEN:
        raise DomainError(f"{cohort.name} is not taking claims", field="cohort")

    # Who the people are, before the lock: it decides no places. A claim made meanwhile
    # for one of them is caught by the database (one live claim per person and programme),
    # and the operation then runs again.
    errors: dict[int, DomainError] = {}
    people: dict[int, Person] = {}
    placements: dict[int, Placement] = {}
    for index, request in enumerate(requests):
        try:
            people[index] = Person.clean(
                full_name=request.full_name, email=request.email, trn=request.trn
            )
            placements[index] = check_place(programme, request.setting, request.local_authority)
        except DomainError as error:
            errors[index] = error
    indexes = list(people)
    matches, conflicts = match_participants(session, [people[i] for i in indexes])
    errors.update({indexes[i]: error for i, error in conflicts.items()})
    participants = {indexes[i]: match for i, match in enumerate(matches) if match is not None}
    standing = _standing_claims(session, programme.id, [p.id for p in participants.values()])
    for index, participant in participants.items():
        if participant.id in standing and index not in errors:
            errors[index] = _refusal(people[index].email, programme, standing[participant.id], by)
    if errors:
        raise ClaimsRefused(errors)

    new = [i for i in indexes if i not in participants]
    # Details that differ from a known person's record stay this claim's own copy, and
    # are kept as conflicts for DfE: nobody's record or claim is changed by them.
    conflicts = {
        index: found
        for index, participant in participants.items()
        if (found := differences(participant, people[index]))
    }
    try:
        added = add_participants(session, [people[i] for i in new])
        for index, participant in participants.items():
            if people[index].trn and participant.trn is None:
                # The ledger's record only, never shown: a TRN first given is caught later
                # with another email address. Each claim shows the TRN its maker gave.
                participant.trn = people[index].trn
        session.flush()  # a TRN added to someone's record is written before the lock
    except sa.exc.IntegrityError:
        # The same new person (or TRN) was added at this moment by another claim: run
        # again, from this operation's savepoint, to match them.
        raise _RetryOperation from None
    participant_ids = {index: participant.id for index, participant in participants.items()}
    participant_ids.update(zip(new, added, strict=True))
    priority = _priority_local_authorities(session, programme.id)

    # The decisions, under the lock: the cohort's status and every cap as they are now.
    last_seq = lock_programme(session, programme.id, count=len(requests))
    settings = {r.setting.id for r in requests if r.setting is not None}
    capacity = Capacity.load(
        session, programme, cohort_ids=[cohort.id], setting_ids=sorted(settings)
    )
    if _programme_room_unused(session, capacity, programme.id):
        # The programme's cap rose (a target took effect today) since claims waited for it:
        # they are funded first, in their order, before anyone new.
        fund_waiting_claims(session, programme)
        capacity = Capacity.load(
            session, programme, cohort_ids=[cohort.id], setting_ids=sorted(settings)
        )
    if capacity.cohort_status.get(cohort.id) != CohortStatus.OPEN:
        raise DomainError(f"{cohort.name} is not taking claims", field="cohort")

    now = utcnow()
    programme_id, cohort_id, created_by_id = programme.id, cohort.id, by.id if by else None
    first_seq = last_seq - len(requests) + 1
    rows = []
    positions: dict[int, int] = {}
    for index in range(len(requests)):
        place = placements[index]._replace(cohort_id=cohort_id)
        row = {
            "programme_id": programme_id,
            "cohort_id": cohort_id,
            "participant_id": participant_ids[index],
            "full_name": people[index].full_name,
            "email": people[index].email,
            "trn": people[index].trn,
            "setting_id": place.setting_id,
            "local_authority_id": place.local_authority_id,
            "status": ClaimStatus.WAITING,
            "holds_place": False,
            "is_priority": place.local_authority_id in priority,
            "queue_seq": first_seq + index,
            "waiting_reason": None,
            "end_reason": None,
            "claimed_dt": now,
            "funded_dt": None,
            "started_dt": None,
            "completed_dt": None,
            "ended_dt": None,
            "updated_dt": now,
            "created_by_id": created_by_id,
        }
        blocker = capacity.blocker(place)
        if blocker is None:
            row.update(_funded(now))
            capacity.take(place)
        else:
            row["waiting_reason"] = blocker
            if blocker != SETTING:  # such a claim waits for its setting, not on the list
                positions[index] = capacity.queue(cohort_id, row["is_priority"])
        rows.append(row)
    try:
        _insert_claims(session, rows)
    except sa.exc.IntegrityError as error:
        if LIVE_CLAIM_INDEX not in str(error.orig) and ONE_FUNDED_PLACE_INDEX not in str(
            error.orig
        ):
            raise
        # Someone named here was given a live claim, or a place, on the programme
        # meanwhile: run again, to say so.
        raise _RetryOperation from None
    add_conflicts(
        session,
        [
            {
                "participant_id": rows[index]["participant_id"],
                "claim_id": rows[index]["id"],
                "field": field_,
                "recorded": recorded,
                "given": given,
            }
            for index, found in conflicts.items()
            for field_, recorded, given in found
        ],
    )
    made = [
        NewClaim(
            row["id"],
            row["cohort_id"],
            row["participant_id"],
            row["status"],
            row["waiting_reason"],
            row["queue_seq"],
            positions.get(index),
        )
        for index, row in enumerate(rows)
    ]
    logger.info(
        "%d claims for cohort %s: %d funded",
        len(made),
        cohort.id,
        sum(claim.status == ClaimStatus.FUNDED for claim in made),
    )
    return made


def claim_place(
    session: Session,
    cohort: Cohort,
    *,
    full_name: str,
    email: str,
    trn: str | None = None,
    setting: Setting | None = None,
    local_authority: LocalAuthority | None = None,
    by: User | None = None,
) -> LedgerOutcome:
    """Claim a place in a cohort for a named person: funded if every cap has room, else waiting."""
    request = ClaimRequest(full_name, email, trn, setting, local_authority)
    try:
        [made] = claim_places(session, cohort, [request], by=by)
    except ClaimsRefused as refused:
        raise DomainError(refused.message, field=refused.field) from None
    # Loaded with its participant and area, which callers show next; a claim made this
    # moment has no declarations, so none are asked for.
    claim = session.get_one(
        Claim,
        made.id,
        options=[joinedload(Claim.participant), joinedload(Claim.local_authority)],
    )
    set_committed_value(claim, "declarations", [])
    return LedgerOutcome(claim, waiting_position=made.waiting_position)


def fund_waiting_claims(session: Session, programme: Programme) -> list[Claim]:
    """Fund waiting claims, in waiting-list order, while they fit; the lock must be held."""
    waiting = session.scalars(
        sa.select(Claim)
        .join(Cohort, Claim.cohort_id == Cohort.id)
        .where(
            Claim.programme_id == programme.id,
            Claim.status == ClaimStatus.WAITING,
            Cohort.status == CohortStatus.OPEN,
        )
        .order_by(Claim.is_priority.desc(), Claim.queue_seq, Claim.id)
    ).all()
    if not waiting:
        return []
    capacity = Capacity.load(session, programme)
    promoted = []
    for claim in waiting:
        if capacity.programme_cap is not None and capacity.programme_used >= capacity.programme_cap:
            break
        blocker = capacity.blocker(claim)
        if blocker is None:
            _fund(claim)
            capacity.take(claim)
            promoted.append(claim)
        elif claim.waiting_reason != blocker:
            claim.waiting_reason = blocker
    session.flush()
    for claim in promoted:
        logger.info("Claim %s funded from the waiting list of cohort %s", claim.id, claim.cohort_id)
        queue_place_offered(session, claim)  # in this transaction: the setting is told at once
    return promoted


@retrying
def promote_waiting(session: Session, programme: Programme) -> list[Claim]:
    """Fund every waiting claim that now fits, after a cap was raised or a date passed."""
    lock_programme(session, programme.id)
    return fund_waiting_claims(session, programme)


_ENDING_NOUN = {ClaimStatus.WITHDRAWN: "withdrawal", ClaimStatus.DEFERRED: "deferral"}


def _end(
    session: Session, claim: Claim, status: ClaimStatus, reason: str, by: User | None
) -> LedgerOutcome:
    lock_programme(session, claim.programme_id)
    session.refresh(claim)
    if not claim.is_live:
        raise DomainError(f"This claim is already {claim.status.value}", field="claim")
    reason = reason.strip()
    if not reason:
        raise DomainError(f"Enter the reason for the {_ENDING_NOUN[status]}", field="reason")
    gives_back_place = claim.status == ClaimStatus.FUNDED
    claim.status = status
    claim.end_reason = reason
    claim.ended_dt = utcnow()
    if gives_back_place:
        # Training has not started, so the funding is not spent: the place goes back.
        claim.holds_place = False
    session.flush()
    # A place given back, or a setting's slot freed by a withdrawal, may let someone in.
    promoted = fund_waiting_claims(session, claim.programme)
    logger.info("Claim %s %s by %s", claim.id, status.value, by.email if by else "system")
    return LedgerOutcome(claim, promoted)


@retrying
def withdraw(
    session: Session, claim: Claim, *, reason: str, by: User | None = None
) -> LedgerOutcome:
    """Withdraw a claim; a place not yet in training goes to the next waiting claim."""
    return _end(session, claim, ClaimStatus.WITHDRAWN, reason, by)


@retrying
def defer(session: Session, claim: Claim, *, reason: str, by: User | None = None) -> LedgerOutcome:
    """Defer a claim; a place not yet in training goes to the next waiting claim."""
    return _end(session, claim, ClaimStatus.DEFERRED, reason, by)


@retrying
def move_claim(
    session: Session, claim: Claim, to_cohort: Cohort, *, by: User | None = None
) -> LedgerOutcome:
    """Move a claim that has not started training to another cohort of the same programme.

    The claim gives back any place it held and joins the back of the new cohort's
    waiting list, so it is funded there only if no one is waiting ahead of it.
    """
    seq = lock_programme(session, claim.programme_id)
    session.refresh(claim)
    session.refresh(to_cohort, ["status", "places"])
    if claim.status not in (ClaimStatus.WAITING, ClaimStatus.FUNDED):
        raise DomainError(
            f"A {claim.status.value} claim cannot move to another cohort", field="claim"
        )
    if to_cohort.programme_id != claim.programme_id:
        raise DomainError("Choose a cohort on the same programme", field="cohort")
    if to_cohort.id == claim.cohort_id:
        raise DomainError("The claim is already in this cohort", field="cohort")
    if to_cohort.status != CohortStatus.OPEN:
        raise DomainError(f"{to_cohort.name} is not taking claims", field="cohort")

    claim.status = ClaimStatus.WAITING
    claim.holds_place = False
    claim.funded_dt = None
    claim.cohort = to_cohort
    claim.queue_seq = seq
    session.flush()
    promoted = fund_waiting_claims(session, claim.programme)
    if claim.status == ClaimStatus.WAITING and claim.waiting_reason is None:
        # fund_waiting_claims stops looking once the programme is full, before reaching this claim.
        claim.waiting_reason = PROGRAMME
    logger.info("Claim %s moved to cohort %s: %s", claim.id, to_cohort.id, claim.status.value)
    return LedgerOutcome(claim, [c for c in promoted if c is not claim])


@retrying
def resume(
    session: Session, claim: Claim, *, to_cohort: Cohort | None = None, by: User | None = None
) -> LedgerOutcome:
    """Resume a deferred claim: the same claim, its declarations kept.

    If training had started, the participant goes back into training on the place they
    held (in their cohort, or a later one with room); if not, the claim goes to the back
    of a cohort's waiting list, and is funded at once if it fits with no one ahead.
    """
    seq = lock_programme(session, claim.programme_id)
    session.refresh(claim)
    to_cohort = to_cohort or claim.cohort
    session.refresh(to_cohort, ["status", "places"])
    if claim.status != ClaimStatus.DEFERRED:
        raise DomainError(
            f"Only a deferred claim can resume: this one is {claim.status.value}", field="claim"
        )
    if to_cohort.programme_id != claim.programme_id:
        raise DomainError("Choose a cohort on the same programme", field="cohort")
    other = session.execute(
        sa.select(Claim.status, Claim.holds_place, Cohort.provider_id, Claim.setting_id)
        .join(Cohort, Claim.cohort_id == Cohort.id)
        .where(
            Claim.programme_id == claim.programme_id,
            Claim.participant_id == claim.participant_id,
            Claim.id != claim.id,
            _standing(Claim),
        )
    ).first()
    if other is not None:
        refusal = _refusal(claim.email, claim.programme, Standing(*other), by)
        raise DomainError(refusal.message, field="claim")
    programme = claim.programme
    if claim.started_dt is not None:
        # The place was kept through the deferral: it goes on, perhaps in a later cohort.
        if to_cohort.status == CohortStatus.CANCELLED:
            raise DomainError(f"{to_cohort.name} has been cancelled", field="cohort")
        if to_cohort.id != claim.cohort_id:
            capacity = Capacity.load(
                session, programme, cohort_ids=sorted({claim.cohort_id, to_cohort.id})
            )
            held = Placement(claim.cohort_id, claim.setting_id, claim.local_authority_id)
            capacity.take(held, -1)
            # Neither the programme's places nor the setting's limit are asked for: the
            # place kept through the deferral is counted in both already.
            blocker = capacity.blocker(
                held._replace(cohort_id=to_cohort.id), levels=(ALLOCATION, COHORT, REGION_QUOTA)
            )
            if blocker is not None:
                raise DomainError(
                    f"{to_cohort.name} has no room for a returning participant:"
                    f" {WAITING_REASONS[blocker].lower()}",
                    field="cohort",
                )
            claim.cohort = to_cohort
        claim.status = ClaimStatus.STARTED
    else:
        if to_cohort.status != CohortStatus.OPEN:
            raise DomainError(f"{to_cohort.name} is not taking claims", field="cohort")
        claim.cohort = to_cohort
        claim.status = ClaimStatus.WAITING
        claim.funded_dt = None
        claim.queue_seq = seq
        claim.waiting_reason = None
    claim.end_reason = None
    claim.ended_dt = None
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        if LIVE_CLAIM_INDEX not in str(error.orig):
            raise
        raise _RetryOperation from None  # a claim for the person was made meanwhile: say so
    promoted = fund_waiting_claims(session, programme)
    if claim.status == ClaimStatus.WAITING and claim.waiting_reason is None:
        claim.waiting_reason = PROGRAMME  # the funding stopped at the programme's cap
    logger.info("Claim %s resumed in cohort %s: %s", claim.id, to_cohort.id, claim.status.value)
    return LedgerOutcome(
        claim,
        [c for c in promoted if c is not claim],
        waiting_position(session, claim) if claim.status == ClaimStatus.WAITING else None,
    )


def release_waiting(session: Session, cohort: Cohort, *, reason: str) -> list[Claim]:
    """End the claims waiting in a cohort that no longer takes claims; the lock must be held.

    They would otherwise wait for ever and be counted as unmet demand for ever. Each is
    withdrawn with the reason, and the setting, participant and provider are told, so that
    they can claim in another cohort.
    """
    released = list(
        session.scalars(
            sa.select(Claim)
            .where(Claim.cohort_id == cohort.id, Claim.status == ClaimStatus.WAITING)
            .order_by(Claim.is_priority.desc(), Claim.queue_seq, Claim.id)
        )
    )
    now = utcnow()
    for claim in released:
        claim.status = ClaimStatus.WITHDRAWN
        claim.end_reason = reason
        claim.ended_dt = now
    session.flush()
    for claim in released:
        queue_claim_released(session, claim)
    if released:
        logger.info("%d waiting claims released from cohort %s", len(released), cohort.id)
    return released


def fund_when_due(session: Session) -> dict[str, int]:
    """Fund waiting claims on every programme where they now fit: run daily, and safe to repeat.

    A target that takes effect on a date raises the cap on that date, with no operation on
    the programme to notice it: this is the one that does, in the scheduler.
    """
    funded = {}
    for programme in session.scalars(sa.select(Programme).order_by(Programme.id)):
        funded[programme.code] = len(promote_waiting(session, programme))
    return funded


def waiting_positions(session: Session, claims: Sequence[Claim | NewClaim]) -> dict[int, int]:
    """Each waiting claim's place on its cohort's waiting list (1 is next), in one query.

    The order is the one ``fund_waiting_claims`` funds in: priority regions first, then
    the order of claims. A claim waiting for its own setting's limit has no position.
    """
    wanted = [c.id for c in claims if c.status == ClaimStatus.WAITING]
    if not wanted:
        return {}
    cohort_ids = sorted({c.cohort_id for c in claims if c.status == ClaimStatus.WAITING})
    position = (
        sa.func.row_number()
        .over(
            partition_by=Claim.cohort_id,
            order_by=[Claim.is_priority.desc(), Claim.queue_seq, Claim.id],
        )
        .label("position")
    )
    ranked = (
        sa.select(Claim.id, position)
        .where(Claim.cohort_id.in_(cohort_ids), Claim.status == ClaimStatus.WAITING, on_the_list())
        .subquery()
    )
    rows = session.execute(sa.select(ranked.c.id, ranked.c.position).where(ranked.c.id.in_(wanted)))
    return dict(rows.all())


def waiting_position(session: Session, claim: Claim | NewClaim) -> int | None:
    """Return the claim's place on its cohort's waiting list (1 is next), or None if not waiting."""
    return waiting_positions(session, [claim]).get(claim.id)
