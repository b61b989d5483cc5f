"""Demo data: a realistic, repeatable picture of the three programmes, loaded once.

Providers, settings, accounts and what DfE sets on the programmes (targets, priority
regions, a region quota) are plain records and are added directly. Everything that decides a
funded place goes through the ledger (``tracker.places``) and every milestone through
``tracker.progress``, so the demo obeys every cap exactly as real claims would.

Dates are relative to today: some cohorts are over, some are running and some have not
started, so every status of a claim makes sense. The ledger stamps what it does with
the current time; once it is done, the claims and declarations are stamped with the
dates they were simulated on, so that uptake week by week looks like a real history.

The load commits in batches (see ``_DemoLoader._ledger_operation_done``). The demo
accounts can sign in only once everything is loaded: a second load then only prints the
sign-ins, and a load that stopped part way is recognised and not taken for a finished one.
"""

import contextlib
import itertools
import logging
import math
import random
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session
from tqdm import tqdm

from tracker import cohorts as cohort_ops
from tracker import places, publication
from tracker import programmes as programme_ops
from tracker.accounts import create_user
from tracker.demo.names import (
    FIRST_NAMES_F,
    FIRST_NAMES_M,
    NURSERY_NOUNS,
    NURSERY_PREFIXES,
    PERSON_DOMAINS,
    PLACES,
    SCHOOL_KINDS,
    SURNAMES,
)
from tracker.demo.plan import (
    BEFORE_START_REASONS,
    EP,
    EP_QUOTA_PLACES,
    EP_QUOTA_REGIONS,
    EY,
    EY_PRIORITY_REGIONS,
    HAZARDS,
    NO_SHOW_REASON,
    NPQ,
    PROVIDERS,
    SHOWCASE_LA_CODE,
    SHOWCASE_PROVIDER,
    CohortPlan,
    cohort_terms,
    la_weight,
    plan_cohorts,
    round_up,
    setting_counts,
    spread_over,
)
from tracker.errors import DomainError
from tracker.models import (
    Claim,
    ClaimStatus,
    Cohort,
    CohortStatus,
    Declaration,
    LocalAuthority,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Programme,
    ProgrammeTarget,
    Provider,
    Region,
    RegionQuota,
    Role,
    Setting,
    SettingKind,
    User,
)
from tracker.progress import record_declaration

DEMO_PASSWORD = "demo-password-2023"  # noqa: S105  (printed for everyone: it is the point)

LONDON = ZoneInfo("Europe/London")
COMMIT_EVERY = 250  # ledger operations

DEMO_ACCOUNTS = (
    (Role.DFE, "dfe@demo.example", "Morgan Ellis"),
    (Role.PROVIDER, "provider@demo.example", "Jordan Price"),
    (Role.SETTING, "setting@demo.example", "Casey Walsh"),
    (Role.LOCAL_AUTHORITY, "local-authority@demo.example", "Robin Ashworth"),
)


@dataclass
class _Sim:
    """The dates a claim's events happened on, in the demo's story."""

    claimed: date
    funded: date | None = None
    started: date | None = None
    completed: date | None = None
    ended: date | None = None


@dataclass
class _Person:
    full_name: str
    email: str
    trn: str | None
    setting: Setting | None
    local_authority: LocalAuthority | None


@contextlib.contextmanager
def _quiet_domain_logs() -> Iterator[None]:
    """Hold back the ledger's line per operation: thousands of them would bury the progress."""
    logger = logging.getLogger("tracker")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _objects_kept_loaded(session: Session) -> Iterator[None]:
    """Commit in batches without reloading every object after each commit.

    Nothing else writes the demo's rows while it loads, so what is in memory stays true.
    """
    target = session() if isinstance(session, scoped_session) else session
    previous = target.expire_on_commit
    target.expire_on_commit = False
    try:
        yield
    finally:
        target.expire_on_commit = previous


def _sign_ins(session: Session) -> list[tuple[str, str, str]]:
    rows = []
    for role, email, _name in DEMO_ACCOUNTS:
        user = session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            continue
        if role == Role.DFE:
            organisation = "Department for Education"
        elif role == Role.PROVIDER:
            organisation = f"{user.provider.name} (UKPRN {user.provider.ukprn})"
        elif role == Role.SETTING:
            setting = user.setting
            organisation = f"{setting.name}, {setting.local_authority.name} (URN {setting.urn})"
        else:
            la = user.local_authority
            organisation = f"{la.name} (local authority {la.la_code})"
        rows.append((role.value, email, organisation))
    return rows


def load_demo(
    session: Session,
    *,
    scale: float = 1.0,
    seed: int = 2023,
    echo: Callable[[str], object] = print,
) -> list[tuple[str, str, str]]:
    """Load the demo data once, commit it, and return the demo sign-ins (role, email, organisation).

    When the demo is already loaded nothing is done. A database that holds providers or
    settings but no demo is refused: the demo belongs in an empty one.
    """
    dfe = session.scalar(sa.select(User).where(User.email == DEMO_ACCOUNTS[0][1]))
    if dfe is not None and dfe.is_active:
        if publication.latest(session) is None:
            # Loaded before the public figures were published: publish them once.
            publication.publish(session, by="demo data")
            session.commit()
            echo("Demo data is already loaded; published the public uptake figures.")
        else:
            echo("Demo data is already loaded: nothing to do.")
        return _sign_ins(session)
    if dfe is not None:
        raise DomainError(
            "An earlier demo load stopped before it finished: load the demo into an empty database"
        )
    if scale <= 0:
        raise DomainError("The scale must be more than 0", field="scale")
    if session.scalar(sa.select(sa.func.count()).select_from(Provider)) or session.scalar(
        sa.select(sa.func.count()).select_from(Setting)
    ):
        raise DomainError(
            "This database already holds providers or settings: load the demo into an empty one"
        )
    started = clock.monotonic()
    loader = _DemoLoader(session, scale=scale, seed=seed, echo=echo)
    try:
        with _quiet_domain_logs(), _objects_kept_loaded(session):
            loader.load()
    except BaseException:
        session.rollback()
        raise
    echo(f"Loaded the demo data in {clock.monotonic() - started:.0f}s: {loader.summary()}")
    return _sign_ins(session)


class _DemoLoader:
    """One load of the demo: the plan, the organisations, then each cohort's story in order."""

    def __init__(self, session: Session, *, scale: float, seed: int, echo) -> None:
        self.session = session
        self.scale = scale
        self.seed = seed
        self.rng = random.Random(seed)
        self.started = clock.monotonic()
        self.echo = echo
        self.today = datetime.now(LONDON).date()
        self.now = datetime.now(UTC)
        self.programmes: dict[str, Programme] = {
            p.code: p for p in session.scalars(sa.select(Programme))
        }
        self.regions: dict[str, Region] = {r.name: r for r in session.scalars(sa.select(Region))}
        self.local_authorities: list[LocalAuthority] = list(
            session.scalars(sa.select(LocalAuthority).order_by(LocalAuthority.la_code))
        )
        self.providers: dict[str, Provider] = {}
        self.cohorts: dict[CohortPlan, Cohort] = {}
        self.settings: dict[SettingKind, list[Setting]] = {}
        self.settings_by_region: dict[tuple[SettingKind, str], list[Setting]] = defaultdict(list)
        self.users: dict[Role, User] = {}
        self.showcase_setting: Setting | None = None
        self.sim: dict[int, _Sim] = {}
        self.people: dict[int, _Person] = {}
        self.declarations: list[tuple[int, date]] = []
        self.used_emails: set[str] = set()
        self.used_trns: set[str] = set()
        self.rejoiners: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)
        self.childminder_queue: dict[str | None, list[Setting]] = {}
        self.kept_deferred: set[str] = set()
        self.owed = {code: {ClaimStatus.WITHDRAWN, ClaimStatus.DEFERRED} for code in (EY, NPQ, EP)}
        self._operations = 0

    # -- organisations and accounts ------------------------------------------------------

    def load(self) -> None:
        self.echo(f"Loading demo data (scale {self.scale:g}, seed {self.seed})")
        self._add_dfe_account()
        self._add_providers()
        self._add_settings()
        self._add_organisation_accounts()
        plans = self._plan_cohorts()
        self._configure_programmes(plans)
        self._add_allocations_and_cohorts(plans)
        total = sum(p.claims for p in plans)
        self._say(f"Claiming places for about {total:,} participants, through the place ledger")
        with tqdm(total=total, unit="claim", desc="Claims", disable=None) as bar:
            for code in (EY, NPQ, EP):
                mine = sorted((p for p in plans if p.code == code), key=lambda p: p.term.starts_on)
                name = self.programmes[code].name
                self._say(f"  {name}: {len(mine)} cohorts, {sum(p.claims for p in mine):,} claims")
                bar.set_postfix_str(code, refresh=False)
                for plan in mine:
                    self._run_cohort(plan, plans, bar)
        self._say("Dating the claims and declarations")
        self._backdate()
        # The places offered above were offered in the demo's simulated past: nobody is to
        # be told of them now, so they stay in the outbox as not sent.
        self.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.QUEUED)
            .values(status=OutboxStatus.CANCELLED, last_error="Demo data: offered in the past")
        )
        # The public page shows only published figures: publish the demo's, as they stand.
        self._say("Publishing the public uptake figures")
        publication.publish(self.session, by="demo data")
        # Last of all, so that a load that stops part way is never taken for a finished one.
        for user in self.users.values():
            user.is_active = True
        self.session.commit()

    def _ledger_operation_done(self, count: int = 1) -> None:
        """Commit every few hundred operations.

        One transaction for the whole load would keep every version of the programme row
        the ledger bumps, and every savepoint, until the end: PostgreSQL slows down with
        each one. SQLite also lets other connections in between batches.
        """
        self._operations += count
        if self._operations >= COMMIT_EVERY:
            self.session.commit()
            self._operations = 0

    def _say(self, message: str) -> None:
        self.echo(f"[{clock.monotonic() - self.started:4.0f}s] {message}")

    def _add_dfe_account(self) -> None:
        role, email, name = DEMO_ACCOUNTS[0]
        self.users[role] = create_user(
            self.session, email=email, role=role, password=DEMO_PASSWORD, full_name=name
        )

    def _add_providers(self) -> None:
        self._say(f"Adding {len(PROVIDERS)} training providers")
        ukprns = self.rng.sample(range(10_000_000, 10_099_999), len(PROVIDERS))
        for spec, ukprn in zip(PROVIDERS, ukprns, strict=True):
            provider = Provider(ukprn=str(ukprn), name=spec.name)
            self.session.add(provider)
            self.providers[spec.name] = provider
        self.session.flush()

    def _add_settings(self) -> None:
        counts = setting_counts(self.scale)
        self._say(
            f"Adding {sum(counts.values()):,} early years settings and schools "
            f"over all {len(self.local_authorities)} local authorities"
        )
        rng = self.rng
        weights = [la_weight(la) for la in self.local_authorities]
        showcase_la = next(la for la in self.local_authorities if la.la_code == SHOWCASE_LA_CODE)
        ey_urns = iter(
            rng.sample(
                range(300_000, 999_999),
                counts[SettingKind.GROUP_BASED] + counts[SettingKind.CHILDMINDER],
            )
        )
        school_kinds = (
            SettingKind.SCHOOL,
            SettingKind.MAINTAINED_NURSERY,
            SettingKind.SIXTEEN_TO_NINETEEN,
        )
        school_urns = iter(
            rng.sample(range(100_000, 150_000), sum(counts[k] for k in school_kinds))
        )
        school_names, school_weights = zip(*SCHOOL_KINDS, strict=True)
        for kind, count in counts.items():
            # Every local authority gets one of each kind before any gets two (at scale 1.0).
            las = spread_over(self.local_authorities, count, rng, weights)
            if kind == SettingKind.GROUP_BASED:
                las[0] = showcase_la
            settings = []
            for la in las:
                place = rng.choice(PLACES)
                if kind == SettingKind.GROUP_BASED:
                    name = f"{rng.choice(NURSERY_PREFIXES)} {rng.choice(NURSERY_NOUNS)}"
                    if rng.random() < 0.4:
                        name = f"{place} {name}"
                    urn = f"EY{next(ey_urns)}"
                elif kind == SettingKind.CHILDMINDER:
                    first, last = rng.choice(FIRST_NAMES_F), rng.choice(SURNAMES)
                    name = f"{first} {last} (childminder)"
                    urn = f"EY{next(ey_urns)}"
                elif kind == SettingKind.SCHOOL:
                    kind_name = rng.choices(school_names, weights=school_weights)[0]
                    name = f"{place} {kind_name}"
                    urn = str(next(school_urns))
                elif kind == SettingKind.MAINTAINED_NURSERY:
                    name = f"{place} Nursery School"
                    urn = str(next(school_urns))
                else:
                    name = f"{place} Sixth Form College"
                    urn = str(next(school_urns))
                settings.append(Setting(urn=urn, name=name, kind=kind, local_authority=la))
            if kind == SettingKind.GROUP_BASED:
                self.showcase_setting = settings[0]
                self.showcase_setting.name = "Ribble Valley Day Nursery"
            self.session.add_all(settings)
            self.settings[kind] = settings
            for setting in settings:
                self.settings_by_region[(kind, setting.local_authority.region.name)].append(setting)
        self.session.flush()

    def _add_organisation_accounts(self) -> None:
        organisations = {
            Role.PROVIDER: self.providers[SHOWCASE_PROVIDER].ukprn,
            Role.SETTING: self.showcase_setting.urn,
            Role.LOCAL_AUTHORITY: SHOWCASE_LA_CODE,
        }
        for role, email, name in DEMO_ACCOUNTS[1:]:
            self.users[role] = create_user(
                self.session,
                email=email,
                role=role,
                organisation=organisations[role],
                password=DEMO_PASSWORD,
                full_name=name,
            )
        for user in self.users.values():
            user.is_active = False  # until the whole demo is loaded
        self.session.commit()

    # -- programmes, allocations and cohorts ---------------------------------------------

    def _plan_cohorts(self) -> list[CohortPlan]:
        return plan_cohorts(self.rng, self.today, self.scale)

    def _configure_programmes(self, plans: list[CohortPlan]) -> None:
        self._say("Setting targets, priority regions and the region quota")
        session, dfe = self.session, self.users[Role.DFE]
        ey, npq, ep = self.programmes[EY], self.programmes[NPQ], self.programmes[EP]
        # Target changes are dated in the past, whatever today is.
        for places_, effective_on, note in (
            (
                7_000,
                date(2024, 1, 15),
                "Demo figure: raised to 7,000 places after strong early uptake "
                "(illustrative date, not an official announcement).",
            ),
            (
                8_000,
                date(2025, 2, 3),
                "Demo figure: 1,000 more places in the extension, with priority for settings "
                "in the North East and North West (illustrative date).",
            ),
        ):
            programme_ops.set_target(
                session,
                ey,
                places=places_,
                effective_on=min(effective_on, self.today),
                note=note,
                by=dfe,
            )
        for region in EY_PRIORITY_REGIONS:
            if self.regions[region] not in ey.priority_regions:
                ey.priority_regions.append(self.regions[region])

        npq_places = sum(p.places for p in plans if p.code == NPQ)
        npq_first = min(p.term.starts_on for p in plans if p.code == NPQ)
        programme_ops.set_target(
            session,
            npq,
            places=round_up(npq_places * 1.1, 500),
            effective_on=min(self.today, npq_first - timedelta(days=90)),
            note="Demo figure: the national number of funded SENCO NPQ places "
            "(not an official number).",
            by=dfe,
        )

        ep_terms = cohort_terms(EP, self.today)
        programme_ops.set_target(
            session,
            ep,
            places=max(
                round_up(sum(p.places for p in plans if p.code == EP), 50), 200 * len(ep_terms)
            ),
            effective_on=max(
                date(2023, 3, 3), min(self.today, ep_terms[0].starts_on - timedelta(days=180))
            ),
            note=f"Demo figure: about 200 trainees in each of the {len(ep_terms)} intakes from "
            f"{ep_terms[0].starts_on.year} to {ep_terms[-1].starts_on.year} "
            "(not an official number).",
            by=dfe,
        )
        quota = RegionQuota(
            programme=ep,
            name="London and the South East",
            places=max(1, round(EP_QUOTA_PLACES * self.scale)),
            per_cohort=True,
            regions=[self.regions[r] for r in EP_QUOTA_REGIONS],
        )
        session.add(quota)
        session.flush()

    def _add_allocations_and_cohorts(self, plans: list[CohortPlan]) -> None:
        self._say(f"Allocating places to providers and creating {len(plans)} cohorts")
        wanted: Counter = Counter()
        for plan in plans:
            wanted[(plan.spec.name, plan.code)] += plan.places
        for (name, code), places_ in wanted.items():
            spec = next(s for s in PROVIDERS if s.name == name)
            factor = 0.8 if spec.tight_allocation else 1.08
            programme_ops.set_allocation(
                self.session,
                self.providers[name],
                self.programmes[code],
                places=max(2, math.floor(places_ * factor)),
            )
        for plan in plans:
            self.cohorts[plan] = cohort_ops.create_cohort(
                self.session,
                self.providers[plan.spec.name],
                self.programmes[plan.code],
                name=f"{plan.term.name}",
                starts_on=plan.term.starts_on,
                ends_on=plan.term.ends_on,
                places=plan.places,
            )

    # -- one cohort's story ---------------------------------------------------------------

    def _run_cohort(self, plan: CohortPlan, plans: list[CohortPlan], bar: tqdm) -> None:
        rng, today, cohort = self.rng, self.today, self.cohorts[plan]
        starts_on = plan.term.starts_on
        has_started = starts_on <= today
        hazards = HAZARDS[plan.code]
        latest_started = plan.term.starts_on == max(
            p.term.starts_on for p in plans if p.code == plan.code and p.term.starts_on <= today
        )

        # Claims arrive in the weeks before the cohort starts (up to today for later ones).
        window_end = min(today, starts_on - timedelta(days=5))
        window_start = min(window_end - timedelta(days=30), starts_on - timedelta(days=100))
        newcomers = [self._new_person(plan) for _ in range(plan.claims)]
        if plan.code == EY and plan.spec.name == SHOWCASE_PROVIDER:
            # The demo setting sends two practitioners to each of the provider's cohorts.
            for person in newcomers[-2:]:
                person.setting = self.showcase_setting
        arrivals = [(_between(rng, window_start, window_end), p) for p in newcomers]
        arrivals.sort(key=lambda arrival: arrival[0])
        # The ledger takes the claims in the order they arrived, as one batch for each run
        # of claims made by the same account (the same rules as one by one, and faster).
        for by, run in itertools.groupby(arrivals, key=lambda a: self._claimed_by(plan, a[1])):
            run = list(run)
            requests = [
                places.ClaimRequest(p.full_name, p.email, p.trn, p.setting, p.local_authority)
                for _day, p in run
            ]
            made = places.claim_places(self.session, cohort, requests, by=by)
            for (day, person), claim in zip(run, made, strict=True):
                is_funded = claim.status == ClaimStatus.FUNDED
                self.sim[claim.id] = _Sim(claimed=day, funded=day if is_funded else None)
                self.people[claim.id] = person
            bar.update(len(run))
            self._ledger_operation_done(len(run))

        # People who deferred come back once they are ready, if the window is still open:
        # their own claims resume in this cohort (one person, one funded place).
        key = (plan.spec.name, plan.code)
        returning = [(d, c) for d, c in self.rejoiners[key] if d <= window_end]
        self.rejoiners[key] = [(d, c) for d, c in self.rejoiners[key] if d > window_end]
        resumed_in_training = []
        for ready_on, claim_id in returning:
            day = _between(rng, max(ready_on, window_start), window_end)
            claim = self.session.get(Claim, claim_id)
            try:
                outcome = places.resume(self.session, claim, to_cohort=cohort)
            except DomainError:
                continue  # no room for them here: they stay deferred
            self.sim[claim.id].ended = None
            if claim.status == ClaimStatus.STARTED:
                resumed_in_training.append(claim)
            self._note_funded([claim, *outcome.promoted], day)
            self._ledger_operation_done()

        # Some funded claims end before training starts, giving their place to the next in line.
        ending_by = min(today, starts_on - timedelta(days=1))
        scale_before = 1.0 if has_started else 0.5
        funded = self._claims_in(cohort, ClaimStatus.FUNDED)
        withdrawals = _binomial(rng, len(funded), hazards.withdraw_before * scale_before)
        deferrals = _binomial(rng, len(funded), hazards.defer_before * scale_before)
        # However small the demo, every programme shows a withdrawal and a deferral.
        owed = self.owed[plan.code]
        withdrawals = max(withdrawals, int(ClaimStatus.WITHDRAWN in owed))
        deferrals = max(deferrals, int(ClaimStatus.DEFERRED in owed))
        leaving = rng.sample(funded, min(len(funded), withdrawals + deferrals))
        leaving.sort(key=lambda c: self.sim[c.id].claimed)
        days = sorted(_between(rng, self.sim[c.id].claimed, ending_by) for c in leaving)
        for n, (claim, day) in enumerate(zip(leaving, days, strict=True)):
            sim = self.sim[claim.id]
            day = min(max(day, sim.funded or sim.claimed), ending_by)
            if n < withdrawals:
                self._end(claim, ClaimStatus.WITHDRAWN, rng.choice(BEFORE_START_REASONS), day)
            else:
                self._end(claim, ClaimStatus.DEFERRED, rng.choice(hazards.deferral_reasons), day)
                self._maybe_rejoin(plan, claim, day)

        if not has_started:
            return

        # The cohort closes as it starts. Whoever still waits is offered the next cohort when
        # that could fund them (it is not full yet); closing releases the rest.
        for claim in self._claims_in(cohort, ClaimStatus.WAITING):
            movable = claim.waiting_reason in (places.COHORT, places.REGION_QUOTA)
            if plan.next is not None and movable and rng.random() < 0.75:
                outcome = places.move_claim(self.session, claim, self.cohorts[plan.next])
                self._note_funded([outcome.claim, *outcome.promoted], starts_on - timedelta(days=1))
                self._ledger_operation_done()
        still_waiting = self._claims_in(cohort, ClaimStatus.WAITING)
        cohort_ops.update_cohort(
            self.session,
            cohort,
            name=cohort.name,
            starts_on=cohort.starts_on,
            ends_on=cohort.ends_on,
            places=cohort.places,
            status=CohortStatus.CLOSED,
        )
        for claim in still_waiting:
            self.sim[claim.id].ended = starts_on
        self._ledger_operation_done()

        # Training: declarations milestone by milestone, with people leaving on the way.
        # Participants back from a deferral carry on from the milestone they had reached.
        milestones = self.programmes[plan.code].milestones
        force_stall = latest_started
        reached = {
            c.id: len([d for d in c.declarations if not d.is_voided]) for c in resumed_in_training
        }
        for claim in [*self._claims_in(cohort, ClaimStatus.FUNDED), *resumed_in_training]:
            by = self.users[Role.PROVIDER] if plan.spec.name == SHOWCASE_PROVIDER else None
            if claim.id not in reached and rng.random() < hazards.no_show:
                if (today - starts_on).days > 45:
                    day = starts_on + timedelta(days=rng.randint(14, 40))
                    self._end(claim, ClaimStatus.WITHDRAWN, NO_SHOW_REASON, day)
                continue  # otherwise the provider has not declared the start yet
            previous = starts_on
            for position, milestone in enumerate(milestones):
                if position < reached.get(claim.id, 0):
                    continue
                due = starts_on + timedelta(days=milestone.due_after_days)
                if position == 0:
                    day = min(today, starts_on + timedelta(days=rng.randint(0, 10)))
                else:
                    late = (
                        rng.randint(0, 14)
                        if position == len(milestones) - 1
                        else rng.randint(-7, 21)
                    )
                    day = max(previous, due + timedelta(days=late))
                    if day > today:
                        break
                    if force_stall and position == 1:
                        force_stall = False  # at least one participant falls behind
                        break
                    roll = rng.random()
                    if roll < hazards.withdraw + hazards.defer:
                        status = (
                            ClaimStatus.WITHDRAWN
                            if roll < hazards.withdraw
                            else ClaimStatus.DEFERRED
                        )
                        reasons = (
                            hazards.withdrawal_reasons
                            if status == ClaimStatus.WITHDRAWN
                            else hazards.deferral_reasons
                        )
                        ended_on = _between(rng, previous, day)
                        self._end(claim, status, rng.choice(reasons), ended_on)
                        if status == ClaimStatus.DEFERRED:
                            self._maybe_rejoin(plan, claim, ended_on)
                        break
                    if roll < hazards.withdraw + hazards.defer + hazards.stall:
                        break
                declaration = record_declaration(
                    self.session,
                    claim,
                    milestone_code=milestone.code,
                    declared_on=day,
                    by=by,
                    today=today,
                )
                self.declarations.append((declaration.id, day))
                self._ledger_operation_done()
                sim = self.sim[claim.id]
                if position == 0:
                    sim.started = day
                if position == len(milestones) - 1:
                    sim.completed = day
                previous = day

    # -- people --------------------------------------------------------------------------

    def _new_person(self, plan: CohortPlan) -> _Person:
        rng = self.rng
        if plan.code == EY:
            first = rng.choice(FIRST_NAMES_F if rng.random() < 0.96 else FIRST_NAMES_M)
        else:
            first = rng.choice(FIRST_NAMES_F if rng.random() < 0.8 else FIRST_NAMES_M)
        last = rng.choice(SURNAMES)
        local = f"{first}.{last}".lower().replace("'", "").replace(" ", "-")
        domain = rng.choice(PERSON_DOMAINS)
        email, n = f"{local}@{domain}", 1
        while email in self.used_emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.used_emails.add(email)
        trn = None
        if plan.code == NPQ and rng.random() < 0.92:
            trn = str(rng.randint(1_000_000, 9_999_999))
            while trn in self.used_trns:
                trn = str(rng.randint(1_000_000, 9_999_999))
            self.used_trns.add(trn)
        setting, la = self._place_of_work(plan)
        return _Person(f"{first} {last}", email, trn, setting, la)

    def _place_of_work(self, plan: CohortPlan) -> tuple[Setting | None, LocalAuthority | None]:
        rng, home = self.rng, plan.spec.home_region
        if plan.code == EP:
            if plan.spec.name == "University of Thamesbridge":
                near = [la for la in self.local_authorities if la.region.name in EP_QUOTA_REGIONS]
                return None, rng.choice(near) if rng.random() < 0.85 else rng.choice(
                    self.local_authorities
                )
            near = [la for la in self.local_authorities if la.region.name == home]
            return None, rng.choice(near) if rng.random() < 0.7 else rng.choice(
                self.local_authorities
            )
        if plan.code == EY:
            kind = SettingKind.CHILDMINDER if rng.random() < 0.35 else SettingKind.GROUP_BASED
        else:
            roll = rng.random()
            kind = (
                SettingKind.MAINTAINED_NURSERY
                if roll < 0.03
                else SettingKind.SIXTEEN_TO_NINETEEN
                if roll < 0.07
                else SettingKind.SCHOOL
            )
        region = home if home is not None and rng.random() < 0.75 else None
        pool = self.settings_by_region.get((kind, region)) if region else None
        pool = pool or self.settings[kind]
        if kind == SettingKind.CHILDMINDER:
            # A childminder works alone: each takes one place, until every one has.
            queue = self.childminder_queue.get(region)
            if not queue:
                queue = self.childminder_queue[region] = rng.sample(pool, len(pool))
            return queue.pop(), None
        return rng.choice(pool), None

    def _claimed_by(self, plan: CohortPlan, person: _Person) -> User | None:
        if person.setting is not None and person.setting is self.showcase_setting:
            return self.users[Role.SETTING]
        if plan.spec.name == SHOWCASE_PROVIDER:
            return self.users[Role.PROVIDER]
        return None

    def _maybe_rejoin(self, plan: CohortPlan, claim: Claim, deferred_on: date) -> None:
        """Some deferred participants come back, in a later cohort of the same provider.

        The first to defer on each programme stays deferred, so that every programme shows one.
        """
        if plan.code not in self.kept_deferred:
            self.kept_deferred.add(plan.code)
            return
        if plan.next is not None and self.rng.random() < 0.4:
            ready_on = deferred_on + timedelta(days=self.rng.randint(14, 60))
            self.rejoiners[(plan.spec.name, plan.code)].append((ready_on, claim.id))

    def _claims_in(self, cohort: Cohort, status: ClaimStatus) -> list[Claim]:
        """The cohort's claims in a status, in waiting-list order."""
        return list(
            self.session.scalars(
                sa.select(Claim)
                .where(Claim.cohort_id == cohort.id, Claim.status == status)
                .order_by(Claim.is_priority.desc(), Claim.queue_seq, Claim.id)
            )
        )

    # -- ledger calls with their dates ---------------------------------------------------

    def _end(self, claim: Claim, status: ClaimStatus, reason: str, day: date) -> None:
        operation = places.withdraw if status == ClaimStatus.WITHDRAWN else places.defer
        outcome = operation(self.session, claim, reason=reason)
        self.owed[claim.programme.code].discard(status)
        self.sim[claim.id].ended = day
        self._note_funded(outcome.promoted, day)
        self._ledger_operation_done()

    def _note_funded(self, claims: list[Claim], day: date) -> None:
        for claim in claims:
            if claim.holds_place and claim.status == ClaimStatus.FUNDED:
                sim = self.sim[claim.id]
                sim.funded = max(sim.claimed, min(day, self.today))

    # -- dates -----------------------------------------------------------------------------

    def _at(self, day: date) -> datetime:
        """A time during the working day on ``day``, never later than now."""
        moment = datetime.combine(
            day, time(self.rng.randint(8, 17), self.rng.randint(0, 59)), tzinfo=LONDON
        )
        return min(moment.astimezone(UTC), self.now)

    def _backdate(self) -> None:
        rows = self.session.execute(
            sa.select(
                Claim.id,
                Claim.participant_id,
                Claim.funded_dt.is_not(None),
                Claim.started_dt.is_not(None),
                Claim.completed_dt.is_not(None),
                Claim.ended_dt.is_not(None),
            )
        ).all()
        claim_rows, first_claimed = [], {}
        for claim_id, participant_id, funded, started, completed, ended in rows:
            sim = self.sim[claim_id]
            funded_on = sim.funded or sim.claimed
            if sim.started:
                funded_on = min(funded_on, sim.started)
            events = (
                ("claimed_dt", sim.claimed),
                ("funded_dt", funded_on if funded else None),
                ("started_dt", sim.started if started else None),
                ("completed_dt", sim.completed if completed else None),
                ("ended_dt", sim.ended if ended else None),
            )
            row, latest = {"id": claim_id}, None
            for column, day in events:
                if day is None:
                    continue
                if latest is None:
                    moment = self._at(day)
                elif day == sim.claimed:
                    moment = latest  # funded the moment it was claimed
                else:
                    moment = max(self._at(day), latest)  # never before the event before it
                row[column] = latest = moment
            claim_rows.append(row)
            claimed_dt = row["claimed_dt"]
            if participant_id not in first_claimed or claimed_dt < first_claimed[participant_id]:
                first_claimed[participant_id] = claimed_dt
        # Plain UPDATEs by primary key: the audit trail keeps when the rows were really written.
        session = self.session
        for keys in {tuple(sorted(r)) for r in claim_rows}:
            batch = [r for r in claim_rows if tuple(sorted(r)) == keys]
            session.execute(sa.update(Claim), batch)
        session.execute(
            sa.update(Declaration),
            [{"id": i, "created_dt": self._at(day)} for i, day in self.declarations],
        )
        session.execute(
            sa.update(Participant),
            [{"id": i, "created_dt": dt} for i, dt in first_claimed.items()],
        )
        cohorts = session.execute(sa.select(Cohort.id, Cohort.starts_on)).all()
        session.execute(
            sa.update(Cohort),
            [
                {"id": i, "created_dt": self._at(min(self.today, d - timedelta(days=120)))}
                for i, d in cohorts
            ],
        )
        dfe = self.users[Role.DFE]
        targets = session.execute(
            sa.select(ProgrammeTarget.id, ProgrammeTarget.effective_on).where(
                ProgrammeTarget.created_by_id == dfe.id
            )
        ).all()
        session.execute(
            sa.update(ProgrammeTarget),
            [{"id": i, "created_dt": self._at(d)} for i, d in targets],
        )

    def summary(self) -> str:
        session = self.session
        counts = dict(
            session.execute(sa.select(Claim.status, sa.func.count()).group_by(Claim.status)).all()
        )
        settings = session.scalar(sa.select(sa.func.count()).select_from(Setting))
        participants = session.scalar(sa.select(sa.func.count()).select_from(Participant))
        cohorts = session.scalar(sa.select(sa.func.count()).select_from(Cohort))
        by_status = ", ".join(f"{counts.get(s, 0):,} {s.value}" for s in ClaimStatus)
        return (
            f"{len(self.providers)} providers, {settings:,} settings, {cohorts} cohorts, "
            f"{participants:,} participants; claims: {by_status}"
        )


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def _between(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return first + timedelta(days=rng.randint(0, (last - first).days))
