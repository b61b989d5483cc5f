"""What is due: plain functions that take ``now`` and return the reminders due then.

Each function reads the rule's settings for every programme (see ``defaults``), works
on the Europe/London date of ``now``, and returns ``Due`` items; none writes anything.
Queueing them (``outbox.queue``) is idempotent, so a function may return the same
reminder on several days: a window, rather than one exact day, means a day the
scheduler missed is caught up, and the outbox key makes sure it goes out once.

Participants who opted out get no reminder that is not essential.

Placeholders every rule about a claim fills: recipient_name, participant_name,
programme, provider, cohort, starts_on, setting; and by rule:
cohort-starting: days_left; milestone-due-soon and milestone-overdue: milestone, due_on;
no-progress: last_progress_on, days_without_progress; provider-digest: week_of,
overdue_count, overdue_list, at_risk_count, at_risk_list, days; uptake-summary: month,
as_of, target, claimed, funded, started, completed, withdrawn, deferred, waiting,
places_taken, percent_of_target. The place-offered rule is queued by the place ledger
when it happens (``outbox.queue_place_offered``), not here.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from tracker import figures
from tracker.formats import long_date, month_year
from tracker.models import (
    Claim,
    ClaimStatus,
    Cohort,
    CohortStatus,
    Declaration,
    Milestone,
    Programme,
)
from tracker.places import current_target
from tracker.reminders.audience import Directory
from tracker.reminders.defaults import (
    COHORT_STARTING,
    MILESTONE_DUE_SOON,
    MILESTONE_OVERDUE,
    NO_PROGRESS,
    PROVIDER_DIGEST,
    UPTAKE_SUMMARY,
    RuleSettings,
    rules_in_force,
)
from tracker.reminders.outbox import Due, queued_keys
from tracker.reminders.time import london_date, london_morning

# A reminder tied to one day is still sent this many days late, if the scheduler was
# down on the day; older ones are not sent at all (a new service does not mail history).
CATCH_UP_DAYS = 7

# Claims whose milestones fall due: funded, whether or not training has started yet (not
# figures' "in training", which is those started only).
MILESTONES_DUE = (ClaimStatus.FUNDED, ClaimStatus.STARTED)


def _enabled(session: Session, code: str) -> list[tuple[Programme, RuleSettings]]:
    return [(p, r) for p, r in rules_in_force(session, code) if r.is_enabled]


def _claims_in_training(programme: Programme):
    return (
        sa.select(Claim)
        .join(Cohort, Claim.cohort_id == Cohort.id)
        .where(
            Claim.programme_id == programme.id,
            Claim.status.in_(MILESTONES_DUE),
            Cohort.status != CohortStatus.CANCELLED,
        )
        .options(
            joinedload(Claim.participant),
            joinedload(Claim.setting),
            joinedload(Claim.cohort).joinedload(Cohort.provider),
        )
        .order_by(Claim.id)
    )


def _not_declared(milestone: Milestone):
    return ~sa.exists().where(
        Declaration.claim_id == Claim.id,
        Declaration.milestone_id == milestone.id,
        Declaration.voided_dt.is_(None),
    )


def _claim_values(programme: Programme, claim: Claim) -> dict:
    cohort = claim.cohort
    return {
        "participant_name": claim.full_name,
        "programme": programme.name,
        "provider": cohort.provider.name,
        "cohort": cohort.name,
        "starts_on": long_date(cohort.starts_on),
        "setting": claim.setting.name if claim.setting else "",
    }


def _last_progress(session: Session, claim_ids: list[int]) -> dict[int, date]:
    """Return the date of each claim's latest declaration that stands."""
    last: dict[int, date] = {}
    for start in range(0, len(claim_ids), 500):
        rows = session.execute(
            sa.select(Declaration.claim_id, sa.func.max(Declaration.declared_on))
            .where(
                Declaration.claim_id.in_(claim_ids[start : start + 500]),
                Declaration.voided_dt.is_(None),
            )
            .group_by(Declaration.claim_id)
        )
        last.update(dict(rows.all()))
    return last


def cohort_starting(
    session: Session, now: datetime, directory: Directory | None = None
) -> list[Due]:
    """Participants in a cohort that starts within the rule's days, and their setting."""
    today = london_date(now)
    directory = directory or Directory(session)
    dues = []
    for programme, rule in _enabled(session, COHORT_STARTING):
        if rule.days is None:
            continue
        claims = session.scalars(
            _claims_in_training(programme).where(
                Cohort.starts_on >= today, Cohort.starts_on <= today + timedelta(days=rule.days)
            )
        ).unique()
        for claim in claims:
            starts_on = claim.cohort.starts_on
            values = {**_claim_values(programme, claim), "days_left": (starts_on - today).days}
            for recipient in directory.for_claim(rule, claim):
                dues.append(
                    Due(
                        rule,
                        recipient,
                        f"claim:{claim.id}",
                        starts_on.isoformat(),
                        values,
                        programme.id,
                    )
                )
    return dues


def _milestone_dues(
    session: Session,
    now: datetime,
    directory: Directory | None,
    code: str,
    starts_between: Callable[[date, Milestone, int], tuple[date, date]],
) -> list[Due]:
    today = london_date(now)
    directory = directory or Directory(session)
    dues = []
    for programme, rule in _enabled(session, code):
        if rule.days is None:
            continue
        for milestone in programme.milestones:
            if code == MILESTONE_DUE_SOON and milestone.due_after_days == 0:
                continue  # due the day the cohort starts: the cohort-starting reminder says so
            earliest, latest = starts_between(today, milestone, rule.days)
            claims = session.scalars(
                _claims_in_training(programme).where(
                    Cohort.starts_on >= earliest,
                    Cohort.starts_on <= latest,
                    _not_declared(milestone),
                )
            ).unique()
            for claim in claims:
                due_on = claim.cohort.starts_on + timedelta(days=milestone.due_after_days)
                values = {
                    **_claim_values(programme, claim),
                    "milestone": milestone.name,
                    "due_on": long_date(due_on),
                }
                subject_key = f"claim:{claim.id}:milestone:{milestone.id}"
                for recipient in directory.for_claim(rule, claim):
                    dues.append(
                        Due(rule, recipient, subject_key, due_on.isoformat(), values, programme.id)
                    )
    return dues


def milestone_due_soon(
    session: Session, now: datetime, directory: Directory | None = None
) -> list[Due]:
    """A milestone not yet declared falls due within the rule's days."""

    def starts_between(today: date, milestone: Milestone, days: int) -> tuple[date, date]:
        # due_on - days <= today <= due_on, with due_on = starts_on + due_after_days
        return (
            today - timedelta(days=milestone.due_after_days),
            today - timedelta(days=milestone.due_after_days) + timedelta(days=days),
        )

    return _milestone_dues(session, now, directory, MILESTONE_DUE_SOON, starts_between)


def milestone_overdue(
    session: Session, now: datetime, directory: Directory | None = None
) -> list[Due]:
    """A milestone fell due the rule's days ago, or a little more, and is still not declared."""

    def starts_between(today: date, milestone: Milestone, days: int) -> tuple[date, date]:
        # due_on + days <= today < due_on + days + CATCH_UP_DAYS
        latest = today - timedelta(days=milestone.due_after_days + days)
        return latest - timedelta(days=CATCH_UP_DAYS - 1), latest

    return _milestone_dues(session, now, directory, MILESTONE_OVERDUE, starts_between)


def no_progress(session: Session, now: datetime, directory: Directory | None = None) -> list[Due]:
    """Participants with no recorded progress for the rule's days, again every so many days."""
    today = london_date(now)
    directory = directory or Directory(session)
    dues = []
    for programme, rule in _enabled(session, NO_PROGRESS):
        if not rule.days:
            continue
        cutoff = today - timedelta(days=rule.days)
        claims = list(
            session.scalars(
                _claims_in_training(programme).where(Cohort.starts_on <= cutoff)
            ).unique()
        )
        last = _last_progress(session, [c.id for c in claims])
        for claim in claims:
            last_on = last.get(claim.id, claim.cohort.starts_on)
            stalled = (today - last_on).days
            if stalled < rule.days:
                continue
            values = {
                **_claim_values(programme, claim),
                "last_progress_on": long_date(last_on),
                "days_without_progress": stalled,
            }
            # One reminder for each full stretch of the rule's days without progress.
            period = f"{last_on.isoformat()}/{stalled // rule.days}"
            for recipient in directory.for_claim(rule, claim):
                dues.append(Due(rule, recipient, f"claim:{claim.id}", period, values, programme.id))
    return dues


def _overdue_and_at_risk(
    session: Session, programme: Programme, today: date, at_risk_days: int
) -> dict[int, tuple[list[str], list[str]]]:
    """Per provider: lines for overdue declarations, and lines for participants at risk."""
    claims = list(
        session.scalars(_claims_in_training(programme).where(Cohort.starts_on <= today)).unique()
    )
    declared: dict[int, set[int]] = defaultdict(set)
    claim_ids = [c.id for c in claims]
    for start in range(0, len(claim_ids), 500):
        rows = session.execute(
            sa.select(Declaration.claim_id, Declaration.milestone_id).where(
                Declaration.claim_id.in_(claim_ids[start : start + 500]),
                Declaration.voided_dt.is_(None),
            )
        )
        for claim_id, milestone_id in rows:
            declared[claim_id].add(milestone_id)
    last = _last_progress(session, claim_ids)
    by_provider: dict[int, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for claim in claims:
        overdue, at_risk = by_provider[claim.cohort.provider_id]
        starts_on = claim.cohort.starts_on
        who = f"{claim.full_name} ({claim.cohort.name})"
        for milestone in programme.milestones:
            due_on = starts_on + timedelta(days=milestone.due_after_days)
            if milestone.id not in declared[claim.id] and due_on < today:
                overdue.append(f"- {who}: {milestone.name}, due {long_date(due_on)}")
        last_on = last.get(claim.id, starts_on)
        if (today - last_on).days >= at_risk_days:
            at_risk.append(f"- {who}: nothing recorded since {long_date(last_on)}")
    return by_provider


def provider_digest(
    session: Session, now: datetime, directory: Directory | None = None
) -> list[Due]:
    """Each provider's weekly digest of overdue declarations and participants at risk."""
    today = london_date(now)
    directory = directory or Directory(session)
    year, week, weekday = today.isocalendar()
    monday = today - timedelta(days=weekday - 1)
    dues = []
    for programme, rule in _enabled(session, PROVIDER_DIGEST):
        if weekday < (rule.day_of_period or 1):
            continue
        at_risk_days = rule.days or 45
        for provider_id, (overdue, at_risk) in sorted(
            _overdue_and_at_risk(session, programme, today, at_risk_days).items()
        ):
            if not overdue and not at_risk:
                continue
            recipients = directory.by_provider.get(provider_id, [])
            if not recipients:
                continue
            values = {
                "programme": programme.name,
                "week_of": long_date(monday),
                "days": at_risk_days,
                "overdue_count": len(overdue),
                "overdue_list": "\n".join(overdue) or "None",
                "at_risk_count": len(at_risk),
                "at_risk_list": "\n".join(at_risk) or "None",
            }
            subject_key = f"provider:{provider_id}:programme:{programme.id}"
            for recipient in recipients:
                dues.append(
                    Due(rule, recipient, subject_key, f"{year}-W{week:02d}", values, programme.id)
                )
    return dues


def uptake_figures(session: Session, programme: Programme, today: date) -> dict:
    """A programme's figures (each named as ``tracker.figures`` defines it) against its target."""
    counted = figures.by_programme(session, figures.Scope(programme_id=programme.id)).get(
        programme.id, figures.Figures()
    )
    values: dict = {name: getattr(counted, name) for name in figures.DEFINITIONS}
    # Names the summary used before the definitions: "started" was those in training now,
    # "places_taken" the funded places. Kept so that a summary DfE has reworded still reads.
    values["started"] = values["in_training"]
    values["places_taken"] = values["funded"]
    target = current_target(session, programme.id, today)
    values["target"] = target.places if target else "no target"
    values["percent_of_target"] = (
        f"{values['funded'] / target.places:.0%}" if target and target.places else "n/a"
    )
    return values


def uptake_summary(
    session: Session, now: datetime, directory: Directory | None = None
) -> list[Due]:
    """DfE's monthly summary of each programme's uptake against its target."""
    today = london_date(now)
    directory = directory or Directory(session)
    dues = []
    for programme, rule in _enabled(session, UPTAKE_SUMMARY):
        if today.day < (rule.day_of_period or 1) or not directory.dfe:
            continue
        values = {
            "programme": programme.name,
            "month": month_year(today),
            "as_of": long_date(today),
            **uptake_figures(session, programme, today),
        }
        for recipient in directory.dfe:
            dues.append(
                Due(
                    rule,
                    recipient,
                    f"programme:{programme.id}",
                    f"{today:%Y-%m}",
                    values,
                    programme.id,
                )
            )
    return dues


SCHEDULED_RULES = (
    cohort_starting,
    milestone_due_soon,
    milestone_overdue,
    no_progress,
    provider_digest,
    uptake_summary,
)


def due_reminders(session: Session, now: datetime) -> list[Due]:
    """Everything the scheduled rules say is due at ``now``."""
    directory = Directory(session)
    dues = []
    for rule in SCHEDULED_RULES:
        dues += rule(session, now, directory)
    return dues


def preview_due(session: Session, start: date, days: int = 7) -> list[tuple[date, Due]]:
    """What would be queued on each of the next ``days`` days, from ``start``, if nothing changed.

    Reminders queued already, and those an earlier day of the preview would queue, are left out.
    """
    seen: set[tuple] = set()
    preview = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        fresh = [d for d in due_reminders(session, london_morning(day)) if d.key not in seen]
        queued = queued_keys(session, [d.key for d in fresh])
        for due in fresh:
            if due.key in seen or due.key in queued:
                continue
            seen.add(due.key)
            preview.append((day, due))
    return preview
