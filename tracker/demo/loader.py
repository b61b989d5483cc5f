"""Loading the demo: a realistic, repeatable picture of the three programmes, loaded once.

Providers, settings, accounts and what DfE sets on the programmes (targets, priority
regions, a region quota, allocations, cohorts) are added through the service's own
functions. The years of claims, withdrawals, deferrals, moves and declarations after that
are told in memory (``tracker.demo.story``) by the place ledger's rules, its own caps
included (``tracker.demo.book``), and written in bulk (``tracker.demo.records``): one
by one through the ledger they took minutes. The result is then checked with the
ledger's and the figures' own checks (``tracker.demo.checks``), and a load that breaks
any rule fails, writing nothing of its story.

Dates are relative to today: some cohorts are over, some are running and some have not
started, so every status of a claim makes sense, and claims and declarations carry the
dates they were simulated on, so that uptake week by week looks like a real history.

The organisations and accounts are committed first, the rest in one transaction. The demo
accounts can sign in only once everything is loaded: a second load then only prints the
sign-ins, and a load that stopped part way is recognised and not taken for a finished one.
"""

import contextlib
import logging
import math
import random
import time as clock
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, scoped_session

from tracker import cohorts as cohort_ops
from tracker import programmes as programme_ops
from tracker import publication
from tracker.accounts import create_user
from tracker.demo import checks
from tracker.demo.book import ProgrammeBook, open_book
from tracker.demo.names import (
    FIRST_NAMES_F,
    NURSERY_NOUNS,
    NURSERY_PREFIXES,
    PLACES,
    SCHOOL_KINDS,
    SURNAMES,
)
from tracker.demo.plan import (
    EP,
    EP_QUOTA_PLACES,
    EP_QUOTA_REGIONS,
    EY,
    EY_PRIORITY_REGIONS,
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
from tracker.demo.records import LONDON, Moments, insert_created, write_books
from tracker.demo.story import Cast, Story
from tracker.errors import DomainError
from tracker.models import (
    Claim,
    ClaimStatus,
    Cohort,
    LocalAuthority,
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

DEMO_PASSWORD = "demo-password-2023"  # noqa: S105  (printed for everyone: it is the point)

DEMO_ACCOUNTS = (
    (Role.DFE, "dfe@demo.example", "Morgan Ellis"),
    (Role.PROVIDER, "provider@demo.example", "Jordan Price"),
    (Role.SETTING, "setting@demo.example", "Casey Walsh"),
    (Role.LOCAL_AUTHORITY, "local-authority@demo.example", "Robin Ashworth"),
)


class DemoDataWrong(Exception):
    """The loaded demo breaks a rule of the ledger: a fault in the demo, never to be kept."""


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
    """Commit without reloading every object afterwards, one by one.

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
    """One load of the demo: the organisations, the plan, the story, then the checks."""

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
            p.code: p
            for p in session.scalars(sa.select(Programme).options(joinedload(Programme.milestones)))
            .unique()
            .all()
        }
        self.regions: dict[str, Region] = {r.name: r for r in session.scalars(sa.select(Region))}
        self.local_authorities: list[LocalAuthority] = list(
            session.scalars(
                sa.select(LocalAuthority)
                .options(joinedload(LocalAuthority.region))
                .order_by(LocalAuthority.la_code)
            )
        )
        self.providers: dict[str, Provider] = {}
        self.cohorts: dict[CohortPlan, Cohort] = {}
        self.users: dict[Role, User] = {}
        self.showcase_setting_urn = ""  # set with the settings

    def load(self) -> None:
        self.echo(f"Loading demo data (scale {self.scale:g}, seed {self.seed})")
        self._add_dfe_account()
        self._add_providers()
        self._add_settings()
        self._add_organisation_accounts()
        plans = self._plan_cohorts()
        self._configure_programmes(plans)
        self._add_allocations_and_cohorts(plans)
        books = self._tell_the_story(plans)
        self._say("Writing the participants, claims and declarations")
        milestone_ids = {
            (programme.id, milestone.position): milestone.id
            for programme in self.programmes.values()
            for milestone in programme.milestones
        }
        moments = Moments(self.rng, self.now)
        write_books(
            self.session, list(books.values()), milestone_ids=milestone_ids, moments=moments
        )
        self._close_cohorts_and_date_them(books, moments)
        self._say("Checking the data against the ledger's rules")
        problems = checks.problems(self.session)
        if problems:
            raise DemoDataWrong("The demo data breaks the ledger's rules: " + "; ".join(problems))
        # The public page shows only published figures: publish the demo's, as they stand.
        self._say("Publishing the public uptake figures")
        publication.publish(self.session, by="demo data")
        # Last of all, so that a load that stops part way is never taken for a finished one.
        for user in self.users.values():
            user.is_active = True
        self.session.commit()

    def _say(self, message: str) -> None:
        self.echo(f"[{clock.monotonic() - self.started:4.1f}s] {message}")

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
        rows = []
        for kind, count in counts.items():
            # Every local authority gets one of each kind before any gets two (at scale 1.0).
            las = spread_over(self.local_authorities, count, rng, weights)
            if kind == SettingKind.GROUP_BASED:
                las[0] = showcase_la
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
                rows.append({"urn": urn, "name": name, "kind": kind, "local_authority_id": la.id})
        # The demo setting account's nursery, in the demo local authority.
        showcase = next(row for row in rows if row["kind"] == SettingKind.GROUP_BASED)
        showcase["name"] = "Ribble Valley Day Nursery"
        self.showcase_setting_urn = showcase["urn"]
        insert_created(self.session, Setting, rows)

    def _add_organisation_accounts(self) -> None:
        organisations = {
            Role.PROVIDER: self.providers[SHOWCASE_PROVIDER].ukprn,
            Role.SETTING: self.showcase_setting_urn,
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

    # -- the story ------------------------------------------------------------------------

    def _tell_the_story(self, plans: list[CohortPlan]) -> dict[str, ProgrammeBook]:
        """Tell every cohort's story, in memory, into one book per programme."""
        session = self.session
        settings = session.scalars(
            sa.select(Setting).options(joinedload(Setting.local_authority)).order_by(Setting.id)
        ).all()
        by_kind: dict[SettingKind, list[Setting]] = {kind: [] for kind in SettingKind}
        for setting in settings:
            by_kind[setting.kind].append(setting)
        cast = Cast(
            local_authorities=self.local_authorities,
            settings=by_kind,
            showcase_setting=next(s for s in settings if s.urn == self.showcase_setting_urn),
            provider_user_id=self.users[Role.PROVIDER].id,
            setting_user_id=self.users[Role.SETTING].id,
        )
        cohort_ids = {plan: cohort.id for plan, cohort in self.cohorts.items()}
        books = {
            code: open_book(session, programme, today=self.today)
            for code, programme in self.programmes.items()
        }
        story = Story(
            rng=self.rng,
            today=self.today,
            plans=plans,
            cohort_ids=cohort_ids,
            programmes=self.programmes,
            books=books,
            cast=cast,
        )
        self._say(
            f"Telling the story of {sum(p.claims for p in plans):,} claims, by the ledger's rules"
        )
        for code in (EY, NPQ, EP):
            mine = [p for p in plans if p.code == code]
            story.tell(code)
            self._say(
                f"  {self.programmes[code].name}: {len(mine)} cohorts,"
                f" {len(books[code].claims):,} claims"
            )
        return books

    def _close_cohorts_and_date_them(
        self, books: dict[str, ProgrammeBook], moments: Moments
    ) -> None:
        """Close the cohorts the story closed, move each programme's ledger sequence on as
        far as the story did, and date the cohorts and targets in the story's past."""
        session = self.session
        for code, book in books.items():
            programme = self.programmes[code]
            for cohort in self.cohorts.values():
                if cohort.programme_id == programme.id:
                    cohort.status = book.capacity.cohort_status[cohort.id]
            session.flush()
            # As every ledger operation moves it (``places.lock_programme``).
            session.execute(
                sa.update(Programme)
                .where(Programme.id == programme.id)
                .values(ledger_seq=book.seq)
                .execution_options(synchronize_session=False)
            )
            session.expire(programme, ["ledger_seq"])
        # Plain UPDATEs: the audit trail keeps when the rows were really written.
        session.execute(
            sa.update(Cohort),
            [
                {
                    "id": cohort.id,
                    "created_dt": moments.at(
                        min(self.today, cohort.starts_on - timedelta(days=120))
                    ),
                }
                for cohort in self.cohorts.values()
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
            [{"id": i, "created_dt": moments.at(d)} for i, d in targets],
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
