"""The demo's simulated past: who claims a place in each cohort, who leaves, who comes back.

Each cohort's story is told in order of its start: claims arrive in the weeks before it,
some end before training starts, the cohort closes as it starts (whoever still waits is
offered the next cohort, or released), and then its participants are declared milestone by
milestone, some leaving or stalling on the way. Every step is an operation of the place
ledger, taken in memory by ``tracker.demo.book`` with the date it happened on.
"""

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from tracker.demo.book import DemoClaim, ProgrammeBook
from tracker.demo.names import FIRST_NAMES_F, FIRST_NAMES_M, PERSON_DOMAINS, SURNAMES
from tracker.demo.plan import (
    BEFORE_START_REASONS,
    EP,
    EP_QUOTA_REGIONS,
    EY,
    HAZARDS,
    NO_SHOW_REASON,
    NPQ,
    SHOWCASE_PROVIDER,
    CohortPlan,
)
from tracker.errors import DomainError
from tracker.models import ClaimStatus, LocalAuthority, Milestone, Programme, Setting, SettingKind
from tracker.participants import Person
from tracker.places import COHORT, REGION_QUOTA, check_place


@dataclass
class Cast:
    """Who the story is about: the settings and areas people work in, and the demo accounts."""

    local_authorities: list[LocalAuthority]
    settings: dict[SettingKind, list[Setting]]
    showcase_setting: Setting
    provider_user_id: int
    setting_user_id: int


class Story:
    """One telling of the demo's past, over the cohorts planned, into one book per programme."""

    def __init__(
        self,
        *,
        rng: random.Random,
        today: date,
        plans: list[CohortPlan],
        cohort_ids: dict[CohortPlan, int],
        programmes: dict[str, Programme],
        books: dict[str, ProgrammeBook],
        cast: Cast,
    ) -> None:
        self.rng = rng
        self.today = today
        self.plans = plans
        self.cohort_ids = cohort_ids
        self.programmes = programmes
        self.books = books
        self.cast = cast
        self.settings_by_region: dict[tuple[SettingKind, str], list[Setting]] = defaultdict(list)
        for kind, settings in cast.settings.items():
            for setting in settings:
                self.settings_by_region[(kind, setting.local_authority.region.name)].append(setting)
        self.used_emails: set[str] = set()
        self.used_trns: set[str] = set()
        self.rejoiners: dict[tuple[str, str], list[tuple[date, DemoClaim]]] = defaultdict(list)
        self.childminder_queue: dict[str | None, list[Setting]] = {}
        self.kept_deferred: set[str] = set()
        self.owed = {code: {ClaimStatus.WITHDRAWN, ClaimStatus.DEFERRED} for code in (EY, NPQ, EP)}

    def tell(self, code: str) -> None:
        """Tell every cohort's story on one programme, oldest first."""
        for plan in sorted(
            (p for p in self.plans if p.code == code), key=lambda p: p.term.starts_on
        ):
            self._cohort(plan)

    # -- one cohort's story ---------------------------------------------------------------

    def _cohort(self, plan: CohortPlan) -> None:
        rng, today, book = self.rng, self.today, self.books[plan.code]
        cohort_id = self.cohort_ids[plan]
        programme = self.programmes[plan.code]
        starts_on = plan.term.starts_on
        has_started = starts_on <= today
        hazards = HAZARDS[plan.code]
        latest_started = starts_on == max(
            p.term.starts_on
            for p in self.plans
            if p.code == plan.code and p.term.starts_on <= today
        )

        # Claims arrive in the weeks before the cohort starts (up to today for later ones).
        window_end = min(today, starts_on - timedelta(days=5))
        window_start = min(window_end - timedelta(days=30), starts_on - timedelta(days=100))
        newcomers = [self._new_person(plan) for _ in range(plan.claims)]
        if plan.code == EY and plan.spec.name == SHOWCASE_PROVIDER:
            # The demo setting sends two practitioners to each of the provider's cohorts.
            newcomers[-2:] = [
                (person, self.cast.showcase_setting, None) for person, _s, _la in newcomers[-2:]
            ]
        arrivals = [(_between(rng, window_start, window_end), n) for n in newcomers]
        arrivals.sort(key=lambda arrival: arrival[0])
        for day, (person, setting, local_authority) in arrivals:
            book.claim(
                cohort_id,
                person,
                check_place(programme, setting, local_authority),
                day=day,
                by_id=self._claimed_by(plan, setting),
            )

        # People who deferred come back once they are ready, if the window is still open:
        # their own claims resume in this cohort (one person, one funded place).
        key = (plan.spec.name, plan.code)
        returning = [(d, c) for d, c in self.rejoiners[key] if d <= window_end]
        self.rejoiners[key] = [(d, c) for d, c in self.rejoiners[key] if d > window_end]
        resumed_in_training = []
        for ready_on, claim in returning:
            day = _between(rng, max(ready_on, window_start), window_end)
            try:
                book.resume(claim, cohort_id, day=day)
            except DomainError:
                continue  # no room for them here: they stay deferred
            if claim.status == ClaimStatus.STARTED:
                resumed_in_training.append(claim)

        # Some funded claims end before training starts, giving their place to the next in line.
        ending_by = min(today, starts_on - timedelta(days=1))
        scale_before = 1.0 if has_started else 0.5
        funded = book.claims_in(cohort_id, ClaimStatus.FUNDED)
        withdrawals = _binomial(rng, len(funded), hazards.withdraw_before * scale_before)
        deferrals = _binomial(rng, len(funded), hazards.defer_before * scale_before)
        # However small the demo, every programme shows a withdrawal and a deferral.
        owed = self.owed[plan.code]
        withdrawals = max(withdrawals, int(ClaimStatus.WITHDRAWN in owed))
        deferrals = max(deferrals, int(ClaimStatus.DEFERRED in owed))
        leaving = rng.sample(funded, min(len(funded), withdrawals + deferrals))
        leaving.sort(key=lambda c: c.claimed)
        days = sorted(_between(rng, c.claimed, ending_by) for c in leaving)
        for n, (claim, day) in enumerate(zip(leaving, days, strict=True)):
            day = min(max(day, claim.funded or claim.claimed), ending_by)
            if n < withdrawals:
                self._end(plan, claim, ClaimStatus.WITHDRAWN, rng.choice(BEFORE_START_REASONS), day)
            else:
                self._end(
                    plan, claim, ClaimStatus.DEFERRED, rng.choice(hazards.deferral_reasons), day
                )

        if not has_started:
            return

        # The cohort closes as it starts. Whoever still waits is offered the next cohort when
        # that could fund them (it is not full yet); closing releases the rest.
        for claim in book.claims_in(cohort_id, ClaimStatus.WAITING):
            movable = claim.waiting_reason in (COHORT, REGION_QUOTA)
            if plan.next is not None and movable and rng.random() < 0.75:
                book.move(claim, self.cohort_ids[plan.next], day=starts_on - timedelta(days=1))
        book.close(cohort_id, day=starts_on)

        # Training: declarations milestone by milestone, with people leaving on the way.
        # Participants back from a deferral carry on from the milestone they had reached.
        milestones = programme.milestones
        force_stall = latest_started
        by = self.cast.provider_user_id if plan.spec.name == SHOWCASE_PROVIDER else None
        for claim in [*book.claims_in(cohort_id, ClaimStatus.FUNDED), *resumed_in_training]:
            reached = len(claim.declarations)
            if not reached and rng.random() < hazards.no_show:
                if (today - starts_on).days > 45:
                    day = starts_on + timedelta(days=rng.randint(14, 40))
                    self._end(plan, claim, ClaimStatus.WITHDRAWN, NO_SHOW_REASON, day)
                continue  # otherwise the provider has not declared the start yet
            previous = starts_on
            for position, milestone in enumerate(milestones[reached:], start=reached + 1):
                day = self._declared_on(milestone, position, len(milestones), starts_on, previous)
                if position > 1:
                    if day > today:
                        break
                    if force_stall and position == 2:
                        force_stall = False  # at least one participant falls behind
                        break
                    roll = rng.random()
                    if roll < hazards.withdraw + hazards.defer:
                        withdrawn = roll < hazards.withdraw
                        status = ClaimStatus.WITHDRAWN if withdrawn else ClaimStatus.DEFERRED
                        reasons = (
                            hazards.withdrawal_reasons if withdrawn else hazards.deferral_reasons
                        )
                        self._end(
                            plan, claim, status, rng.choice(reasons), _between(rng, previous, day)
                        )
                        break
                    if roll < hazards.withdraw + hazards.defer + hazards.stall:
                        break
                book.declare(claim, position, day=day, by_id=by)
                previous = day

    def _declared_on(
        self, milestone: Milestone, position: int, count: int, starts_on: date, previous: date
    ) -> date:
        """When a milestone is declared: the start within days, the others around their due
        date (the last never early)."""
        rng = self.rng
        if position == 1:
            return min(self.today, starts_on + timedelta(days=rng.randint(0, 10)))
        late = rng.randint(0, 14) if position == count else rng.randint(-7, 21)
        due = starts_on + timedelta(days=milestone.due_after_days)
        return max(previous, due + timedelta(days=late))

    def _end(
        self, plan: CohortPlan, claim: DemoClaim, status: ClaimStatus, reason: str, day: date
    ) -> None:
        book = self.books[plan.code]
        if status == ClaimStatus.WITHDRAWN:
            book.withdraw(claim, reason=reason, day=day)
        else:
            book.defer(claim, reason=reason, day=day)
            self._maybe_rejoin(plan, claim, day)
        self.owed[plan.code].discard(status)

    # -- people --------------------------------------------------------------------------

    def _new_person(self, plan: CohortPlan) -> tuple[Person, Setting | None, LocalAuthority | None]:
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
        person = Person(f"{first} {last}", email, trn)  # as ``Person.clean`` would give it
        return (person, *self._place_of_work(plan))

    def _place_of_work(self, plan: CohortPlan) -> tuple[Setting | None, LocalAuthority | None]:
        rng, home = self.rng, plan.spec.home_region
        local_authorities = self.cast.local_authorities
        if plan.code == EP:
            if plan.spec.name == "University of Thamesbridge":
                near = [la for la in local_authorities if la.region.name in EP_QUOTA_REGIONS]
                chance = 0.85
            else:
                near = [la for la in local_authorities if la.region.name == home]
                chance = 0.7
            return None, rng.choice(near) if rng.random() < chance else rng.choice(
                local_authorities
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
        pool = pool or self.cast.settings[kind]
        if kind == SettingKind.CHILDMINDER:
            # A childminder works alone: each takes one place, until every one has.
            queue = self.childminder_queue.get(region)
            if not queue:
                queue = self.childminder_queue[region] = rng.sample(pool, len(pool))
            return queue.pop(), None
        return rng.choice(pool), None

    def _claimed_by(self, plan: CohortPlan, setting: Setting | None) -> int | None:
        if setting is not None and setting is self.cast.showcase_setting:
            return self.cast.setting_user_id
        if plan.spec.name == SHOWCASE_PROVIDER:
            return self.cast.provider_user_id
        return None

    def _maybe_rejoin(self, plan: CohortPlan, claim: DemoClaim, deferred_on: date) -> None:
        """Some deferred participants come back, in a later cohort of the same provider.

        The first to defer on each programme stays deferred, so that every programme shows one.
        """
        if plan.code not in self.kept_deferred:
            self.kept_deferred.add(plan.code)
            return
        if plan.next is not None and self.rng.random() < 0.4:
            ready_on = deferred_on + timedelta(days=self.rng.randint(14, 60))
            self.rejoiners[(plan.spec.name, plan.code)].append((ready_on, claim))


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def _between(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return first + timedelta(days=rng.randint(0, (last - first).days))
