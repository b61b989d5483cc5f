"""What is due: each rule called with back-dated rows and a fixed ``now``."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.reminders import helpers
from tracker import places
from tracker.errors import DomainError
from tracker.models import OutboxMessage, Programme, ReminderRule
from tracker.reminders import defaults, rules
from tracker.reminders.outbox import queue
from tracker.reminders.tokens import opt_out

# Monday 2 March 2026, 09:00 in London (GMT, so also 09:00 UTC).
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def _by_rule(dues, code):
    return sorted(
        ((d.recipient.audience, d.recipient.email) for d in dues if d.rule.code == code),
    )


def _cohort(session, starts_on, **kw):
    return factories.create_cohort(session, starts_on=starts_on, places=kw.pop("places", 10), **kw)


# -- before a cohort starts --------------------------------------------------------------


def test_participants_and_their_setting_hear_14_days_before_the_cohort_starts(session):
    cohort = _cohort(session, TODAY + timedelta(days=14))
    claim = helpers.funded_claim(session, cohort, email="ada@example.com")
    office = helpers.setting_user(session, claim.setting)

    dues = rules.cohort_starting(session, NOW)

    assert _by_rule(dues, defaults.COHORT_STARTING) == [
        ("participant", "ada@example.com"),
        ("setting", office.email),
    ]
    due = dues[0]
    assert due.subject == f"Level 3 early years SENCo qualification starts on {14 + 2} March 2026"
    assert "in 14 days" in due.body
    assert due.period == "2026-03-16"


def test_no_cohort_reminder_too_early_after_the_start_or_for_a_waiting_claim(session):
    helpers.funded_claim(session, _cohort(session, TODAY + timedelta(days=15)))
    helpers.funded_claim(session, _cohort(session, TODAY - timedelta(days=1)))
    full = _cohort(session, TODAY + timedelta(days=3), places=1)
    helpers.funded_claim(session, full, email="funded@example.com")
    helpers.funded_claim(session, full, email="waiting@example.com")

    emails = [d.recipient.email for d in rules.cohort_starting(session, NOW)]

    assert emails == ["funded@example.com"]


def test_due_dates_are_london_dates_not_utc_dates(session):
    # 23:30 UTC on 1 June is 00:30 on 2 June in London (BST).
    late = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    helpers.funded_claim(session, _cohort(session, date(2026, 6, 16)))

    assert len(rules.cohort_starting(session, late)) == 1  # 14 days from 2 June
    assert rules.cohort_starting(session, late - timedelta(hours=1)) == []  # 15 from 1 June


def test_an_opted_out_participant_gets_no_reminder_but_their_setting_does(session):
    cohort = _cohort(session, TODAY + timedelta(days=5))
    claim = helpers.funded_claim(session, cohort)
    office = helpers.setting_user(session, claim.setting)
    opt_out(session, claim.participant, now=NOW)

    dues = rules.cohort_starting(session, NOW)

    assert [d.recipient.email for d in dues] == [office.email]


# -- milestones --------------------------------------------------------------------------


def test_a_milestone_due_within_7_days_and_not_declared_is_due_soon(session):
    # Mid-point review falls due 60 days after the start: here in 5 days.
    cohort = _cohort(session, TODAY - timedelta(days=55))
    claim = helpers.funded_claim(session, cohort, email="ada@example.com")
    helpers.declare(session, claim, "started", cohort.starts_on)

    dues = rules.milestone_due_soon(session, NOW)

    assert [(d.recipient.email, d.values["milestone"]) for d in dues] == [
        ("ada@example.com", "Mid-point review")
    ]
    assert dues[0].subject == "Mid-point review is due on 7 March 2026"


def test_a_declared_milestone_is_not_due(session):
    cohort = _cohort(session, TODAY - timedelta(days=59))
    claim = helpers.funded_claim(session, cohort)
    helpers.declare(session, claim, "started", cohort.starts_on)
    helpers.declare(session, claim, "mid-point", TODAY)

    assert rules.milestone_due_soon(session, NOW) == []


def test_a_milestone_8_days_away_is_not_due_yet(session):
    helpers.funded_claim(session, _cohort(session, TODAY - timedelta(days=52)))

    assert rules.milestone_due_soon(session, NOW) == []


def test_a_milestone_7_days_overdue_tells_the_participant_and_setting(session):
    cohort = _cohort(session, TODAY - timedelta(days=67))
    claim = helpers.funded_claim(session, cohort, email="ada@example.com")
    helpers.declare(session, claim, "started", cohort.starts_on)
    office = helpers.setting_user(session, claim.setting)

    dues = rules.milestone_overdue(session, NOW)

    assert _by_rule(dues, defaults.MILESTONE_OVERDUE) == [
        ("participant", "ada@example.com"),
        ("setting", office.email),
    ]
    assert dues[0].period == (cohort.starts_on + timedelta(days=60)).isoformat()


def test_an_overdue_reminder_is_caught_up_for_a_week_then_dropped(session):
    # Mid-point review fell due 13 days ago: the reminder was due 6 days ago.
    cohort = _cohort(session, TODAY - timedelta(days=73))
    claim = helpers.funded_claim(session, cohort)
    helpers.declare(session, claim, "started", cohort.starts_on)

    assert len(rules.milestone_overdue(session, NOW)) == 1
    assert rules.milestone_overdue(session, NOW + timedelta(days=1)) == []


# -- no recorded progress ----------------------------------------------------------------


def test_no_progress_for_60_days_is_due_and_a_declaration_resets_it(session):
    cohort = _cohort(session, TODAY - timedelta(days=100))
    stalled = helpers.funded_claim(session, cohort, email="stalled@example.com")
    helpers.declare(session, stalled, "started", TODAY - timedelta(days=60))
    busy = helpers.funded_claim(session, cohort, email="busy@example.com")
    helpers.declare(session, busy, "started", TODAY - timedelta(days=59))

    dues = rules.no_progress(session, NOW)

    assert [d.recipient.email for d in dues] == ["stalled@example.com"]
    assert dues[0].values["days_without_progress"] == 60
    # The same stretch without progress is the same reminder on a later day ...
    assert rules.no_progress(session, NOW + timedelta(days=30))[0].key == dues[0].key
    # ... and another stretch of 60 days is a new one.
    assert rules.no_progress(session, NOW + timedelta(days=60))[0].key != dues[0].key


# -- the weekly provider digest ----------------------------------------------------------


def test_providers_get_a_weekly_digest_of_overdue_declarations_and_at_risk_participants(
    session,
):
    cohort = _cohort(session, TODAY - timedelta(days=70))
    late = helpers.funded_claim(session, cohort, full_name="Lena Late")
    helpers.declare(session, late, "started", cohort.starts_on)
    fine = helpers.funded_claim(session, cohort, full_name="Fred Fine")
    helpers.declare(session, fine, "started", cohort.starts_on)
    helpers.declare(session, fine, "mid-point", TODAY - timedelta(days=1))
    staff = helpers.provider_user(session, cohort.provider)
    other_provider = _cohort(session, TODAY - timedelta(days=1))
    helpers.provider_user(session, other_provider.provider)  # nothing overdue there

    dues = rules.provider_digest(session, NOW)

    assert [d.recipient.email for d in dues] == [staff.email]
    digest = dues[0]
    assert digest.period == "2026-W10"
    assert digest.values["overdue_count"] == 1
    assert "Lena Late" in digest.body and "Mid-point review" in digest.body
    assert "Fred Fine" not in digest.values["overdue_list"]
    # Lena has nothing recorded for 70 days: at risk after 45.
    assert digest.values["at_risk_count"] == 1
    assert digest.subject.endswith("1 overdue declarations, 1 at risk")


def test_the_digest_waits_for_its_weekday(session):
    cohort = _cohort(session, TODAY - timedelta(days=70))
    helpers.funded_claim(session, cohort)
    helpers.provider_user(session, cohort.provider)
    prog = factories.programme(session)
    session.add(
        ReminderRule(
            programme=prog,
            code=defaults.PROVIDER_DIGEST,
            days=45,
            day_of_period=3,  # Wednesday
            audience=["provider"],
            subject="Digest",
            body="${overdue_list}",
        )
    )
    session.flush()

    assert rules.provider_digest(session, NOW) == []  # Monday
    assert len(rules.provider_digest(session, NOW + timedelta(days=2))) == 1


# -- the monthly uptake summary ----------------------------------------------------------


def test_dfe_gets_a_monthly_uptake_summary_against_target(session):
    prog = factories.programme(session)
    factories.set_programme_places(session, prog, 4)
    cohort = _cohort(session, TODAY + timedelta(days=30), places=2)
    for _ in range(3):
        helpers.funded_claim(session, cohort)
    dfe = helpers.dfe_user(session)

    dues = [d for d in rules.uptake_summary(session, NOW) if d.programme_id == prog.id]

    assert [d.recipient.email for d in dues] == [dfe.email]
    summary = dues[0]
    assert summary.period == "2026-03"
    assert summary.values["funded"] == 2 and summary.values["waiting"] == 1
    assert summary.values["percent_of_target"] == "50%"
    assert "against a target of 4 places" in summary.body


def test_the_monthly_summary_names_each_count_as_the_dashboard_does(session):
    prog = factories.programme(session)
    cohort = _cohort(session, TODAY - timedelta(days=30), places=3)
    claims = [helpers.funded_claim(session, cohort) for _ in range(3)]
    helpers.declare(session, claims[0], "started", cohort.starts_on)
    helpers.declare(session, claims[1], "started", cohort.starts_on)
    places.withdraw(session, claims[1], reason="Left")
    helpers.dfe_user(session)

    [summary] = [d for d in rules.uptake_summary(session, NOW) if d.programme_id == prog.id]

    lines = dict(line.split(": ", 1) for line in summary.body.splitlines() if ": " in line)
    # In training now is one; ever started is two (one was withdrawn during training).
    assert lines["In training"] == "1"
    assert lines["Funded, not yet started"] == "1"
    assert "of which 2 ever started training" in summary.body
    assert lines["Withdrawn"] == "1"


# -- rules live in data ------------------------------------------------------------------


def test_dfe_can_change_the_days_the_audience_and_the_wording(session):
    prog = factories.programme(session)
    cohort = _cohort(session, TODAY + timedelta(days=5))
    claim = helpers.funded_claim(session, cohort)
    office = helpers.setting_user(session, claim.setting)
    session.add(
        ReminderRule(
            programme=prog,
            code=defaults.COHORT_STARTING,
            days=3,
            audience=["setting"],
            subject="Starting soon: ${cohort}",
            body="${participant_name} starts on ${starts_on}",
        )
    )
    session.flush()

    assert rules.cohort_starting(session, NOW) == []  # 5 days ahead, the rule now says 3
    dues = rules.cohort_starting(session, NOW + timedelta(days=2))
    assert [d.recipient.email for d in dues] == [office.email]
    assert dues[0].subject == f"Starting soon: {cohort.name}"


def test_a_disabled_rule_is_not_due(session):
    prog = factories.programme(session)
    helpers.funded_claim(session, _cohort(session, TODAY + timedelta(days=5)))
    defaults.ensure_default_rules(session)
    session.execute(
        sa.update(ReminderRule)
        .where(ReminderRule.programme_id == prog.id, ReminderRule.code == "cohort-starting")
        .values(is_enabled=False)
    )

    assert rules.cohort_starting(session, NOW) == []


def test_default_rules_are_written_once_and_never_overwrite_a_change(session):
    programmes = session.scalar(sa.select(sa.func.count()).select_from(Programme))
    assert defaults.ensure_default_rules(session) == programmes * len(defaults.RULE_CODES)
    rule = session.scalar(sa.select(ReminderRule).where(ReminderRule.code == "no-progress"))
    rule.days = 30
    session.flush()

    assert defaults.ensure_default_rules(session) == 0
    session.refresh(rule)
    assert rule.days == 30


def test_programmes_without_settings_tell_no_setting(session):
    ep = factories.programme(session, "ep-doctorate")
    assert defaults.rule_for(session, ep, defaults.PLACE_OFFERED).audience == ("participant",)


# -- queueing what is due ----------------------------------------------------------------


def test_a_reminder_due_on_several_days_is_queued_once(session):
    helpers.funded_claim(session, _cohort(session, TODAY + timedelta(days=10)))

    first = queue(session, rules.due_reminders(session, NOW))
    again = queue(session, rules.due_reminders(session, NOW))
    next_day = queue(session, rules.due_reminders(session, NOW + timedelta(days=1)))

    assert (first, again, next_day) == (1, 0, 0)
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


def test_preview_shows_what_next_week_would_queue_and_leaves_out_what_is_queued(session):
    helpers.funded_claim(session, _cohort(session, TODAY + timedelta(days=16)), email="a@x.org")
    helpers.funded_claim(session, _cohort(session, TODAY + timedelta(days=10)), email="b@x.org")
    queue(session, rules.due_reminders(session, NOW))  # b's is due today and queued

    preview = rules.preview_due(session, TODAY, days=7)

    assert [(day, due.recipient.email) for day, due in preview] == [
        (TODAY + timedelta(days=2), "a@x.org")
    ]


# -- a waiting claim gets a place --------------------------------------------------------


def test_the_setting_is_told_in_the_same_transaction_when_a_waiting_claim_is_funded(session):
    cohort = _cohort(session, TODAY + timedelta(days=60), places=1)
    first = helpers.funded_claim(session, cohort)
    setting = factories.create_setting(session)
    office = helpers.setting_user(session, setting)
    waiting = helpers.funded_claim(session, cohort, setting=setting, email="next@example.com")
    assert waiting.status == "waiting"
    session.commit()

    outcome = places.withdraw(session, first, reason="Left the setting")

    assert outcome.promoted == [waiting]
    rows = session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.rule_code == "place-offered")
    ).all()
    assert sorted(r.recipient for r in rows) == sorted([office.email, "next@example.com"])
    assert all(r.is_essential and r.status == "queued" for r in rows)
    assert "A funded place on Level 3 early years SENCo" in rows[0].subject
    session.rollback()  # the withdrawal is undone, and so is the message
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_changing_a_rule_writes_its_row_from_the_defaults_then_updates_it(session):
    prog = factories.programme(session)

    row = defaults.change_rule(session, prog, defaults.NO_PROGRESS, days=30)
    assert (row.days, row.audience) == (30, ["participant"])
    assert row.subject == defaults.DEFAULT_RULES[defaults.NO_PROGRESS].subject
    defaults.change_rule(session, prog, defaults.NO_PROGRESS, audience=["participant", "setting"])

    rule = defaults.rule_for(session, prog, defaults.NO_PROGRESS)
    assert (rule.days, rule.audience) == (30, ("participant", "setting"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"audience": ["everyone"]}, "Choose who is told"),
        ({"audience": []}, "Choose who is told"),
        ({"days": -1}, "0 or more"),
        ({"subject": "  "}, "Enter the subject"),
        ({"body": "Costs $5"}, "placeholder"),
        ({"programme_id": 2}, "cannot be changed"),
    ],
)
def test_a_rule_change_that_makes_no_sense_is_refused(session, changes, message):
    prog = factories.programme(session)
    with pytest.raises(DomainError, match=message):
        defaults.change_rule(session, prog, defaults.NO_PROGRESS, **changes)
