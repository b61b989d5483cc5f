"""The public uptake figures: published once a week as a snapshot, never shown live.

A page computed live from the claims lets a reader difference it: make one claim, look
again, and a hidden count that becomes 5 was 4. So the public page shows only the newest
published snapshot. Each holds the tables exactly as shown (counts rounded to the nearest
5, small counts and the counts that would give them away hidden, ``tracker.disclosure``),
the day the figures are for and when they were published. Nothing a reader does changes
what they see until the next publication.

Publication is weekly, on Thursday at 9:30am London time (the scheduler's ``publish-uptake``
job, ``tracker publish`` on the command line, or a DfE user). There is at most one snapshot
per week (Monday to Sunday, London): publishing again in the same week returns the one
already made, even when two processes publish at the same moment.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker import disclosure, uptake
from tracker.figures import DEFINITIONS
from tracker.models import PublishedSnapshot
from tracker.models.base import utcnow
from tracker.reminders.time import LONDON

# When the weekly publication is made, in London time: Thursday at 9:30am.
PUBLISH_WEEKDAY = 3  # Monday is 0
PUBLISH_TIME = time(9, 30)
PUBLISH_CRON = {"day_of_week": "thu", "hour": 9, "minute": 30}
SCHEDULE = "the weekly schedule"

# The counts published: they partition the claims (the first three) and the funded places
# (the last four), so that the totals add up in the open.
PARTS = (
    "waiting",
    "ended_before_training",
    "funded_not_started",
    "in_training",
    "completed",
    "ended_during_training",
)
FUNDED_PARTS = ("funded_not_started", "in_training", "completed", "ended_during_training")
# Each column's cell name, in the order shown after the region.
CELLS = (
    "claimed",
    "waiting",
    "ended_before_training",
    "funded",
    "funded_not_started",
    "in_training",
    "completed",
    "ended_during_training",
)
ENGLAND = "England"


def headers() -> list[str]:
    return ["Region", *(DEFINITIONS[cell].label for cell in CELLS)]


def definitions() -> list[list[str]]:
    return [[DEFINITIONS[cell].label, DEFINITIONS[cell].meaning] for cell in CELLS]


@dataclass(frozen=True)
class Publication:
    snapshot: PublishedSnapshot
    created: bool  # False: this week's snapshot had already been published


def week_of(day: date) -> date:
    """The Monday of the week ``day`` is in: one snapshot per such week."""
    return day - timedelta(days=day.weekday())


def london_date(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def scheduled_in_week(day: date) -> datetime:
    """When the publication of ``day``'s week is due: its Thursday at 9:30am, London time."""
    thursday = week_of(day) + timedelta(days=PUBLISH_WEEKDAY)
    return datetime.combine(thursday, PUBLISH_TIME, tzinfo=LONDON)


def latest(session: Session) -> PublishedSnapshot | None:
    """The snapshot the public page shows: the newest published."""
    return session.scalar(
        sa.select(PublishedSnapshot)
        .order_by(PublishedSnapshot.week_of.desc(), PublishedSnapshot.id.desc())
        .limit(1)
    )


def of_week(session: Session, day: date) -> PublishedSnapshot | None:
    return session.scalar(
        sa.select(PublishedSnapshot).where(PublishedSnapshot.week_of == week_of(day))
    )


def next_publication(session: Session, now: datetime | None = None) -> datetime:
    """When the figures will next be published: the next Thursday at 9:30am whose week has
    no snapshot yet (this week's, when it is still to come and nothing was published early).
    """
    now = now or utcnow()
    due = scheduled_in_week(london_date(now))
    if due <= now or of_week(session, london_date(now)) is not None:
        due = scheduled_in_week(london_date(now) + timedelta(days=7))
    return due


def publish(session: Session, *, by: str, now: datetime | None = None) -> Publication:
    """Publish the public figures as they stand now, unless this week's are published already.

    Flushes, never commits. Two publications at the same moment make one snapshot: the
    second meets the first's week in the unique index and returns it.
    """
    now = now or utcnow()
    today = london_date(now)
    existing = of_week(session, today)
    if existing is not None:
        return Publication(existing, created=False)
    snapshot = PublishedSnapshot(
        week_of=week_of(today),
        published_dt=now,
        figures_on=today,
        published_by=by,
        figures=build(session, today),
    )
    try:
        with session.begin_nested():
            session.add(snapshot)
    except IntegrityError:
        existing = of_week(session, today)
        if existing is None:
            raise
        return Publication(existing, created=False)
    return Publication(snapshot, created=True)


def publish_when_due(session: Session, now: datetime | None = None) -> Publication | None:
    """Publish this week's figures if their time has come and none are published yet.

    The scheduler runs it on Thursdays at 9:30am, and when it starts, so that a week whose
    publication time passed while the scheduler was down is still published.
    """
    now = now or utcnow()
    if now < scheduled_in_week(london_date(now)) or of_week(session, london_date(now)):
        return None
    return publish(session, by=SCHEDULE, now=now)


def build(session: Session, today: date) -> dict[str, Any]:
    """Each programme's figures by region and for England, as published: JSON-ready.

    Only counts that partition the claims are published, with their totals, so that the
    additive relations between cells are known exactly and ``tracker.disclosure`` can make
    sure that no hidden count follows from them. The cells to hide are chosen on the exact
    counts; every count shown is then rounded to the nearest 5, totals on their own.
    """
    programmes = []
    # Queries per programme: a fixed number, as the programmes are reference data.
    for row in uptake.programme_uptake(session, on=today):
        programmes.append(_programme_figures(session, row))
    return {
        "rule": disclosure.RULE,
        "headers": headers(),
        "definitions": definitions(),
        "programmes": programmes,
    }


def _programme_figures(session: Session, row: uptake.ProgrammeUptake) -> dict[str, Any]:
    regions = uptake.by_region(session, uptake.Scope(programme_id=row.programme.id))
    names = [r.name for r in regions if r.name != uptake.NOT_KNOWN or r.figures.claimed]
    if uptake.NOT_KNOWN not in names:
        names.append(uptake.NOT_KNOWN)  # always published, so England adds up in the open
    figures = {r.name: r.figures for r in regions}
    values: dict[tuple[str, str], int] = {}
    for name in [*names, ENGLAND]:
        for cell in CELLS:
            values[(name, cell)] = 0
    for name in names:
        f = figures.get(name, uptake.Figures())
        parts = {attr: getattr(f, attr) for attr in PARTS}
        for attr, value in parts.items():
            values[(name, attr)] = value
        # Totals as the sums of their parts, so that the relations suppression relies on
        # hold exactly (they equal "funded" and "claimed": the parts partition them).
        values[(name, "funded")] = sum(parts[a] for a in FUNDED_PARTS)
        values[(name, "claimed")] = sum(parts.values())
    for cell in CELLS:
        values[(ENGLAND, cell)] = sum(values[(n, cell)] for n in names)
    groups = []
    for name in [*names, ENGLAND]:
        groups.append(
            disclosure.Group(
                (name, "claimed"),
                tuple((name, c) for c in ("waiting", "ended_before_training", "funded")),
            )
        )
        groups.append(disclosure.Group((name, "funded"), tuple((name, c) for c in FUNDED_PARTS)))
    for cell in CELLS:
        groups.append(disclosure.Group((ENGLAND, cell), tuple((n, cell) for n in names)))
    hidden = disclosure.suppress(values, groups)

    def shown(name: str, cell: str) -> int | str:
        return disclosure.shown(values[(name, cell)], (name, cell), hidden)

    programme = row.programme
    return {
        "code": programme.code,
        "name": programme.name,
        "target": row.target,
        "caption": f"{programme.name}: claims and funded places by region",
        "rows": [[name, *(shown(name, c) for c in CELLS)] for name in [*names, ENGLAND]],
        "funded_by_region": [[name, shown(name, "funded")] for name in names],
        "funded_in_england": shown(ENGLAND, "funded"),
    }
