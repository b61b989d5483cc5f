"""The demo's plan: its providers, settings, cohorts and how people move through them.

Everything here is at scale 1.0 and pure: no database. ``plan_cohorts`` turns it into the
cohorts of one load, for a scale, a random generator and today's date.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tracker.models import LocalAuthority, SettingKind

NPQ, EY, EP = "npq-senco", "ey-senco-l3", "ep-doctorate"
# The local authority whose demo account sees its area: a large county in a priority region.
SHOWCASE_LA_CODE = "888"  # Lancashire

# Settings in England at scale 1.0 (the real numbers are far larger; this is plenty to see).
SETTING_COUNTS = {
    SettingKind.GROUP_BASED: 2_400,
    SettingKind.CHILDMINDER: 1_600,
    SettingKind.SCHOOL: 1_500,
    SettingKind.MAINTAINED_NURSERY: 30,
    SettingKind.SIXTEEN_TO_NINETEEN: 40,
}


@dataclass(frozen=True)
class ProviderSpec:
    """A demo provider: the places it offers per cohort on each programme, at scale 1.0."""

    name: str
    places: dict[str, int]
    home_region: str | None = None
    # Allocation well short of its cohorts' places, so its later cohorts wait on it.
    tight_allocation: bool = False


PROVIDERS = (
    # Delivers both the early years qualification and the NPQ: the demo provider account.
    ProviderSpec("Brightpath Professional Learning", {EY: 260, NPQ: 90}),
    # NPQ lead providers.
    ProviderSpec("Northern Lights Teaching Institute", {NPQ: 75}, "North East"),
    ProviderSpec("Keystone Leadership Network", {NPQ: 70}),
    ProviderSpec("Meridian Professional Learning", {NPQ: 60}),
    ProviderSpec("Pennine Teaching School Hub Alliance", {NPQ: 55}, "Yorkshire and The Humber"),
    ProviderSpec("Oakwood Education Trust", {NPQ: 50}, "West Midlands"),
    ProviderSpec("Chalkface Leadership College", {NPQ: 45}, "London"),
    ProviderSpec("Severn Vale Teaching Partnership", {NPQ: 40}, "South West"),
    ProviderSpec("Inclusion First Learning Trust", {NPQ: 35}),
    # The early years delivery provider's partner organisations.
    ProviderSpec("North East Early Years Partnership", {EY: 110}, "North East"),
    ProviderSpec("Red Rose Childcare Training", {EY: 95}, "North West"),
    ProviderSpec("Midlands Early Years Alliance", {EY: 80}, "East Midlands"),
    ProviderSpec("Capital Childcare Learning", {EY: 75}, "London", tight_allocation=True),
    ProviderSpec("Wessex Early Years Network", {EY: 65}, "South West"),
    ProviderSpec("Anglia Early Education Trust", {EY: 55}, "East of England"),
    # Educational psychology: one lead university and its partners.
    ProviderSpec("University of Thamesbridge", {EP: 90}, "London"),
    ProviderSpec("University of Northmoor", {EP: 12}, "North East"),
    ProviderSpec("Mersey Valley University", {EP: 15}, "North West"),
    ProviderSpec("Humberside Metropolitan University", {EP: 12}, "Yorkshire and The Humber"),
    ProviderSpec("Trentside University", {EP: 13}, "East Midlands"),
    ProviderSpec("University of Mercia", {EP: 14}, "West Midlands"),
    ProviderSpec("Fenland University", {EP: 11}, "East of England"),
    ProviderSpec("Wealdbridge University", {EP: 14}, "South East"),
    ProviderSpec("University of Wessex", {EP: 13}, "South West"),
)
SHOWCASE_PROVIDER = PROVIDERS[0].name
EP_QUOTA_REGIONS = ("London", "South East")
EP_QUOTA_PLACES = 65  # per cohort, at scale 1.0
EY_PRIORITY_REGIONS = ("North East", "North West")


@dataclass(frozen=True)
class Schedule:
    """When a programme's cohorts start each year, how long they run, and which to show."""

    starts: tuple[tuple[str, int, int], ...]  # (name, month, day) of each yearly start
    length_days: int
    back_days: int  # old enough that some cohorts have completed
    ahead_days: int  # far enough that some cohort has not started yet


# back_days: the oldest start shown must be old enough for its last milestone to have
# fallen due (EY 125 days, NPQ 640, EP 1095) whatever the date; ahead_days: longer than
# the longest gap between two starts, so some cohort is always still to come.
SCHEDULES = {
    EY: Schedule(
        starts=(("Spring {}", 1, 6), ("Summer {}", 4, 20), ("Autumn {}", 9, 8)),
        length_days=150,
        back_days=600,
        ahead_days=200,
    ),
    NPQ: Schedule(
        starts=(("Spring {}", 2, 1), ("Autumn {}", 10, 1)),
        length_days=700,
        back_days=900,
        ahead_days=250,
    ),
    EP: Schedule(
        starts=(("September {} intake", 9, 1),),
        length_days=1125,
        back_days=1500,
        ahead_days=365,
    ),
}


@dataclass(frozen=True)
class Hazards:
    """How often people leave a programme: before it starts, never start, or between milestones."""

    withdraw_before: float  # of funded claims, before the cohort starts
    defer_before: float
    no_show: float  # of funded claims, never declared as started
    withdraw: float  # before each milestone after the first
    defer: float
    stall: float  # stop making progress, still in training
    withdrawal_reasons: tuple[str, ...]
    deferral_reasons: tuple[str, ...]


BEFORE_START_REASONS = (
    "The setting could not release them for the training",
    "Changed job before the course started",
    "Place no longer needed",
)
HAZARDS = {
    EY: Hazards(
        withdraw_before=0.04,
        defer_before=0.02,
        no_show=0.03,
        withdraw=0.03,
        defer=0.015,
        stall=0.015,
        withdrawal_reasons=(
            "Left the setting",
            "Changed job role",
            "Personal circumstances",
            "Workload in the setting",
            "Does not hold a full and relevant Level 3 qualification",
            "Health reasons",
            "The setting closed",
        ),
        deferral_reasons=(
            "Maternity leave",
            "Long-term illness",
            "Caring responsibilities",
            "The setting is short of staff this term",
            "Asked to continue in a later cohort",
        ),
    ),
    NPQ: Hazards(
        withdraw_before=0.04,
        defer_before=0.02,
        no_show=0.03,
        withdraw=0.04,
        defer=0.02,
        stall=0.02,
        withdrawal_reasons=(
            "Left the school",
            "Workload",
            "No longer the school's SENCO",
            "Personal circumstances",
            "Moved to a school outside England",
            "Health reasons",
        ),
        deferral_reasons=(
            "Maternity leave",
            "Long-term illness",
            "Caring responsibilities",
            "Asked to continue in a later cohort",
        ),
    ),
    EP: Hazards(
        withdraw_before=0.03,
        defer_before=0.02,
        no_show=0.01,
        withdraw=0.025,
        defer=0.02,
        stall=0.005,
        withdrawal_reasons=(
            "Left the course",
            "Personal circumstances",
            "Took a training place outside England",
            "Health reasons",
            "Did not pass the year's assessment",
        ),
        deferral_reasons=("Interruption of studies", "Maternity leave", "Long-term illness"),
    ),
}
NO_SHOW_REASON = "Did not start the course"


@dataclass(frozen=True)
class Term:
    name: str
    starts_on: date
    ends_on: date


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def cohort_terms(code: str, today: date) -> list[Term]:
    """Return the programme's cohort starts shown in the demo, oldest first, around today."""
    schedule = SCHEDULES[code]
    first, last = (
        today - timedelta(days=schedule.back_days),
        today + timedelta(days=schedule.ahead_days),
    )
    terms = []
    for year in range(first.year, last.year + 1):
        for name, month, day in schedule.starts:
            starts_on = _monday_on_or_after(date(year, month, day))
            if first <= starts_on <= last:
                ends_on = starts_on + timedelta(days=schedule.length_days)
                terms.append(Term(name.format(year), starts_on, ends_on))
    return sorted(terms, key=lambda t: t.starts_on)


def spread_over(items: Sequence, count: int, rng: random.Random, weights=None) -> list:
    """Pick ``count`` items, every item once before any twice, then the rest by weight."""
    order = list(items)
    rng.shuffle(order)
    picks = order[:count]
    if count > len(order):
        picks += rng.choices(list(items), weights=weights, k=count - len(order))
    return picks


def setting_counts(scale: float) -> dict[SettingKind, int]:
    """Return how many settings of each kind the demo has at this scale."""
    return {kind: max(2, round(n * scale)) for kind, n in SETTING_COUNTS.items()}


def la_weight(la: LocalAuthority) -> float:
    # Counties have many settings, the City of London and the Isles of Scilly very few.
    if la.la_code in ("201", "420"):
        return 0.05
    if la.la_code == SHOWCASE_LA_CODE:
        return 8.0
    return {"E10": 5.0, "E08": 2.5, "E09": 2.0}.get(la.ons_code[:3], 1.8)


def providers_running_cohorts(code: str, scale: float) -> list[ProviderSpec]:
    """The providers with cohorts on a programme: all of them, but only a few in a tiny demo.

    The first (the demo provider, or the lead university) always runs cohorts.
    """
    specs = [spec for spec in PROVIDERS if code in spec.places]
    return specs[: max(2, math.ceil(len(specs) * min(1.0, scale * 5)))]


def round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


@dataclass(eq=False)
class CohortPlan:
    """One cohort of the demo: its provider, term, places and how many claim a place in it."""

    code: str
    spec: ProviderSpec
    term: Term
    places: int
    claims: int
    next: "CohortPlan | None" = None  # the provider's next cohort on the programme


def plan_cohorts(rng: random.Random, today: date, scale: float) -> list[CohortPlan]:
    """Every cohort of the demo: each provider's, on each programme, over the terms shown."""
    plans = []
    for code in (EY, NPQ, EP):
        terms = cohort_terms(code, today)
        first_future = next(t for t in terms if t.starts_on > today)
        for spec in providers_running_cohorts(code, scale):
            previous = None
            for term in terms:
                places = max(2, round(spec.places[code] * scale * rng.uniform(0.9, 1.1)))
                if term.starts_on <= today:
                    claims = round(places * rng.uniform(1.03, 1.15))
                elif term is first_future:
                    # Full, with a waiting list.
                    claims = max(places + 1, round(places * rng.uniform(1.15, 1.35)))
                else:
                    claims = max(1, round(places * rng.uniform(0.4, 0.75)))
                plan = CohortPlan(code, spec, term, places, claims)
                if previous is not None:
                    previous.next = plan
                previous = plan
                plans.append(plan)
    return plans
