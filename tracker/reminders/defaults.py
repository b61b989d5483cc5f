"""The default reminder rules for each programme, and the settings a rule runs with.

DfE changes a rule by changing its ``reminder_rules`` row; a programme without a row
for a rule uses the default here. The defaults are code rather than a data migration
so that a programme added later gets them too, and a reminder the ledger must queue
(a place offered) never depends on a row having been written first.
``ensure_default_rules`` writes the defaults out, without touching rows DfE changed,
so every rule can be seen and changed.
"""

import logging
import string
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.database import is_sqlite
from tracker.errors import DomainError
from tracker.models import Programme, ReminderRule, User

logger = logging.getLogger(__name__)

COHORT_STARTING = "cohort-starting"
MILESTONE_DUE_SOON = "milestone-due-soon"
MILESTONE_OVERDUE = "milestone-overdue"
NO_PROGRESS = "no-progress"
PROVIDER_DIGEST = "provider-digest"
PLACE_OFFERED = "place-offered"
CLAIM_RELEASED = "claim-released"
UPTAKE_SUMMARY = "uptake-summary"

PARTICIPANT = "participant"
SETTING = "setting"
PROVIDER = "provider"
DFE = "dfe"
AUDIENCES = (PARTICIPANT, SETTING, PROVIDER, DFE)


@dataclass(frozen=True)
class RuleSettings:
    """What one rule does on one programme, from its row or from the defaults."""

    code: str
    programme_id: int | None
    subject: str
    body: str
    audience: tuple[str, ...]
    days: int | None = None
    day_of_period: int | None = None
    is_enabled: bool = True
    is_essential: bool = False
    notify_template_id: str | None = None
    description: str = field(default="", compare=False)


_SIGN_OFF = "\n\nSEND workforce training, Department for Education"

DEFAULT_RULES: dict[str, RuleSettings] = {
    r.code: r
    for r in [
        RuleSettings(
            code=COHORT_STARTING,
            programme_id=None,
            description="Before a cohort starts: its participants and their setting.",
            days=14,
            audience=(PARTICIPANT, SETTING),
            subject="${programme} starts on ${starts_on}",
            body=(
                "Dear ${recipient_name},\n\n"
                "${participant_name}'s training on ${programme} with ${provider} "
                "(${cohort}) starts on ${starts_on}, in ${days_left} days." + _SIGN_OFF
            ),
        ),
        RuleSettings(
            code=MILESTONE_DUE_SOON,
            programme_id=None,
            description="Before a milestone falls due, while it is not yet declared.",
            days=7,
            audience=(PARTICIPANT,),
            subject="${milestone} is due on ${due_on}",
            body=(
                "Dear ${recipient_name},\n\n"
                "The ${milestone} milestone of ${programme} (${cohort}) falls due on "
                "${due_on}. Please make sure ${provider} can record it." + _SIGN_OFF
            ),
        ),
        RuleSettings(
            code=MILESTONE_OVERDUE,
            programme_id=None,
            description="After a milestone fell due and is still not declared.",
            days=7,
            audience=(PARTICIPANT, SETTING),
            subject="${milestone} was due on ${due_on}",
            body=(
                "Dear ${recipient_name},\n\n"
                "The ${milestone} milestone of ${programme} for ${participant_name} "
                "(${cohort}) fell due on ${due_on} and has not been recorded. "
                "Please contact ${provider}." + _SIGN_OFF
            ),
        ),
        RuleSettings(
            code=NO_PROGRESS,
            programme_id=None,
            description="No recorded progress for this many days.",
            days=60,
            audience=(PARTICIPANT,),
            subject="No progress recorded on ${programme} since ${last_progress_on}",
            body=(
                "Dear ${recipient_name},\n\n"
                "No progress on ${programme} (${cohort}) has been recorded since "
                "${last_progress_on}. If you need help to keep going, contact ${provider}."
                + _SIGN_OFF
            ),
        ),
        RuleSettings(
            code=PROVIDER_DIGEST,
            programme_id=None,
            description=(
                "Weekly, on ISO weekday day_of_period: overdue declarations, and participants "
                "at risk (no recorded progress for this many days)."
            ),
            days=45,
            day_of_period=1,
            audience=(PROVIDER,),
            subject="${programme}: ${overdue_count} overdue declarations, ${at_risk_count} at risk",
            body=(
                "Dear ${recipient_name},\n\n"
                "Your weekly summary for ${programme}, week of ${week_of}.\n\n"
                "Overdue declarations (${overdue_count}):\n${overdue_list}\n\n"
                "Participants at risk, with no progress recorded for ${days} days or more "
                "(${at_risk_count}):\n${at_risk_list}" + _SIGN_OFF
            ),
        ),
        RuleSettings(
            code=PLACE_OFFERED,
            programme_id=None,
            description="At once, when a waiting claim gets a funded place.",
            audience=(SETTING, PARTICIPANT),
            is_essential=True,
            subject="A funded place on ${programme} for ${participant_name}",
            body=(
                "Dear ${recipient_name},\n\n"
                "A funded place on ${programme} with ${provider} (${cohort}, starting "
                "${starts_on}) has become available for ${participant_name}, who was on "
                "the waiting list." + _SIGN_OFF
            ),
        ),
        RuleSettings(
            code=CLAIM_RELEASED,
            programme_id=None,
            description="At once, when a cohort closes or is cancelled with claims still waiting.",
            audience=(SETTING, PARTICIPANT, PROVIDER),
            is_essential=True,
            subject="No funded place in ${cohort} for ${participant_name}",
            body=(
                "Dear ${recipient_name},\n\n"
                "${participant_name} was on the waiting list for ${programme} with ${provider} "
                "(${cohort}, starting ${starts_on}). That cohort is no longer taking claims, so "
                "the claim has been released: ${reason}.\n\n"
                "To carry on, claim a place in another cohort that has places left; the "
                "service lists them under 'Find a cohort'." + _SIGN_OFF
            ),
        ),
        RuleSettings(
            code=UPTAKE_SUMMARY,
            programme_id=None,
            description="Monthly, on day day_of_period of the month: uptake against target.",
            day_of_period=1,
            audience=(DFE,),
            is_essential=True,
            subject="${programme}: uptake for ${month}",
            body=(
                "Uptake of ${programme} at ${as_of}, against a target of ${target} places:\n\n"
                "Claimed: ${claimed}\nFunded, not yet started: ${funded_not_started}\n"
                "In training: ${in_training}\nCompleted: ${completed}\n"
                "Withdrawn: ${withdrawn}\nDeferred: ${deferred}\n"
                "Waiting (unmet demand): ${waiting}\n\n"
                "Funded: ${funded} (${percent_of_target} of the target), of which"
                " ${ever_started} ever started training."
            ),
        ),
    ]
}

RULE_CODES = tuple(DEFAULT_RULES)

# Programmes whose claims carry no setting (EP trainees are recruited by universities)
# have no setting to tell.
_PROGRAMME_OVERRIDES: dict[str, dict[str, dict]] = {
    "ep-doctorate": {
        COHORT_STARTING: {"audience": (PARTICIPANT,)},
        MILESTONE_OVERDUE: {"audience": (PARTICIPANT,)},
        PLACE_OFFERED: {"audience": (PARTICIPANT,)},
        CLAIM_RELEASED: {"audience": (PARTICIPANT, PROVIDER)},
    },
}


def default_rule(programme: Programme, code: str) -> RuleSettings:
    """Return the default settings of a rule on a programme."""
    overrides = _PROGRAMME_OVERRIDES.get(programme.code, {}).get(code, {})
    return replace(DEFAULT_RULES[code], programme_id=programme.id, **overrides)


def _from_row(row: ReminderRule) -> RuleSettings:
    return RuleSettings(
        code=row.code,
        programme_id=row.programme_id,
        subject=row.subject,
        body=row.body,
        audience=tuple(row.audience or ()),
        days=row.days,
        day_of_period=row.day_of_period,
        is_enabled=row.is_enabled,
        is_essential=row.is_essential,
        notify_template_id=row.notify_template_id,
        description=DEFAULT_RULES[row.code].description if row.code in DEFAULT_RULES else "",
    )


def rules_in_force(session: Session, code: str) -> list[tuple[Programme, RuleSettings]]:
    """Return each programme with its settings for a rule, enabled or not."""
    rows = {
        r.programme_id: r
        for r in session.scalars(sa.select(ReminderRule).where(ReminderRule.code == code))
    }
    return [
        (p, _from_row(rows[p.id]) if p.id in rows else default_rule(p, code))
        for p in session.scalars(sa.select(Programme).order_by(Programme.id))
    ]


def rule_for(session: Session, programme: Programme, code: str) -> RuleSettings:
    """Return the settings of one rule on one programme."""
    row = session.scalar(
        sa.select(ReminderRule).where(
            ReminderRule.programme_id == programme.id, ReminderRule.code == code
        )
    )
    return _from_row(row) if row is not None else default_rule(programme, code)


def ensure_default_rules(session: Session) -> int:
    """Write a row for every rule a programme lacks, leaving changed rows alone; return how many."""
    existing = set(session.execute(sa.select(ReminderRule.programme_id, ReminderRule.code)).all())
    rows = []
    for programme in session.scalars(sa.select(Programme).order_by(Programme.id)):
        for code in RULE_CODES:
            if (programme.id, code) in existing:
                continue
            rule = default_rule(programme, code)
            rows.append(
                {
                    "programme_id": programme.id,
                    "code": code,
                    "days": rule.days,
                    "day_of_period": rule.day_of_period,
                    "audience": list(rule.audience),
                    "subject": rule.subject,
                    "body": rule.body,
                    "is_enabled": rule.is_enabled,
                    "is_essential": rule.is_essential,
                    "notify_template_id": rule.notify_template_id,
                }
            )
    if not rows:
        return 0
    # Another process may write the same defaults at this moment: the unique key settles it.
    if is_sqlite(session.get_bind()):
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    result = session.execute(
        insert(ReminderRule).values(rows).on_conflict_do_nothing().returning(ReminderRule.id)
    )
    return len(result.all())


def change_rule(
    session: Session,
    programme: Programme,
    code: str,
    *,
    by: User | None = None,
    **changes,
) -> ReminderRule:
    """Change a rule on a programme (days, day_of_period, audience, wording, switches).

    The first change writes the programme's row from the defaults; later ones update it.
    """
    if code not in DEFAULT_RULES:
        raise DomainError(f"{code!r} is not a reminder rule", field="code")
    unknown = set(changes) - _CHANGEABLE
    if unknown:
        raise DomainError(f"These cannot be changed: {', '.join(sorted(unknown))}", field="code")
    if "audience" in changes:
        audience = list(dict.fromkeys(changes["audience"]))
        if not audience or set(audience) - set(AUDIENCES):
            raise DomainError(f"Choose who is told from {', '.join(AUDIENCES)}", field="audience")
        changes["audience"] = audience
    for name in ("days", "day_of_period"):
        if changes.get(name) is not None and changes[name] < 0:
            raise DomainError("Enter a number of 0 or more", field=name)
    for name in ("subject", "body"):
        if name in changes:
            changes[name] = changes[name].strip()
            if not changes[name]:
                raise DomainError(f"Enter the {name} of the reminder", field=name)
            if name == "subject" and any(ord(c) < 32 or ord(c) == 127 for c in changes[name]):
                # A subject is a mail header: a line break in it would stop the message.
                raise DomainError("The subject must be one line", field=name)
            try:
                string.Template(changes[name]).substitute(_AnyPlaceholder())
            except ValueError:
                raise DomainError(
                    "Write a placeholder as ${name}; write $$ for a dollar sign", field=name
                ) from None
    row = session.scalar(
        sa.select(ReminderRule).where(
            ReminderRule.programme_id == programme.id, ReminderRule.code == code
        )
    )
    if row is None:
        rule = default_rule(programme, code)
        row = ReminderRule(
            programme=programme,
            code=code,
            days=rule.days,
            day_of_period=rule.day_of_period,
            audience=list(rule.audience),
            subject=rule.subject,
            body=rule.body,
            is_enabled=rule.is_enabled,
            is_essential=rule.is_essential,
            notify_template_id=rule.notify_template_id,
        )
        session.add(row)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_by_id = by.id if by else None
    session.flush()
    logger.info("Reminder rule %s on %s changed: %s", code, programme.code, sorted(changes))
    return row


_CHANGEABLE = {
    "days",
    "day_of_period",
    "audience",
    "subject",
    "body",
    "is_enabled",
    "is_essential",
    "notify_template_id",
}


class _AnyPlaceholder(dict):
    def __missing__(self, key):
        return ""
