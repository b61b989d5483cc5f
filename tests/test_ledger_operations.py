"""Ledger operations beyond a claim: resuming, where a place counts, cohorts that stop taking
claims, and changes that take effect on a date (each test runs on SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tracker import places
from tracker.cohorts import update_cohort
from tracker.errors import DomainError
from tracker.models import (
    Claim,
    ClaimStatus,
    CohortStatus,
    OutboxMessage,
    ProgrammeTarget,
    Role,
    SettingKind,
    User,
)
from tracker.programmes import set_allocation, set_target
from tracker.progress import record_declaration

_people = iter(range(1, 1_000_000))
EP = "ep-doctorate"


def claim(session, cohort, *, email=None, setting=None, **kwargs):
    n = next(_people)
    if setting is None and cohort.programme.eligible_setting_kinds:
        setting = factories.create_setting(session)
    return places.claim_place(
        session,
        cohort,
        full_name=f"Person {n}",
        email=email or f"person{n}@example.com",
        setting=setting,
        **kwargs,
    ).claim


def started_cohort(session, **kwargs):
    return factories.create_cohort(
        session, starts_on=places.london_today() - timedelta(days=20), **kwargs
    )


def declare(session, made, code, days_ago=10):
    return record_declaration(
        session,
        made,
        milestone_code=code,
        declared_on=places.london_today() - timedelta(days=days_ago),
    )


def places_held(session, participant_id):
    return session.scalar(
        sa.select(sa.func.count()).where(
            Claim.participant_id == participant_id, Claim.holds_place.is_(True)
        )
    )


# -- where a place counts ----------------------------------------------------------------


def test_a_trainee_ep_needs_a_placement_local_authority(session):
    cohort = factories.create_cohort(session, prog=factories.programme(session, EP))

    with pytest.raises(DomainError, match="local authority the trainee is placed in") as error:
        claim(session, cohort)
    assert error.value.field == "local_authority"
    assert session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 0


def test_a_trainee_ep_claim_cannot_name_a_school(session):
    cohort = factories.create_cohort(session, prog=factories.programme(session, EP))
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)

    with pytest.raises(DomainError, match="Leave the setting empty") as error:
        claim(
            session,
            cohort,
            setting=school,
            local_authority=factories.local_authority(session, "330"),
        )
    assert error.value.field == "setting"


def test_a_setting_claim_counts_in_the_settings_area_not_one_named(session):
    cohort = factories.create_cohort(session)

    with pytest.raises(DomainError, match="Leave the local authority empty"):
        claim(session, cohort, local_authority=factories.local_authority(session, "330"))


# -- deferral and resumption --------------------------------------------------------------


def test_deferred_in_training_resumes_on_the_same_claim_and_place(session):
    cohort = started_cohort(session, places=1)
    made = claim(session, cohort)
    declare(session, made, "started")
    places.defer(session, made, reason="Maternity leave")
    # The place is kept through the deferral: no one else can take it meanwhile.
    other = claim(session, cohort)
    assert other.status == ClaimStatus.WAITING

    outcome = places.resume(session, made)

    assert outcome.claim.id == made.id
    assert made.status == ClaimStatus.STARTED and made.holds_place
    assert made.end_reason is None and made.ended_dt is None
    assert [d.milestone.code for d in made.declarations] == ["started"]
    assert places_held(session, made.participant_id) == 1
    assert other.status == ClaimStatus.WAITING


def test_resumed_participant_carries_on_from_their_milestone(session):
    cohort = started_cohort(session)
    made = claim(session, cohort)
    declare(session, made, "started", days_ago=15)
    places.defer(session, made, reason="Long-term illness")
    places.resume(session, made)

    declare(session, made, "mid-point", days_ago=5)

    live = [d.milestone.code for d in made.declarations if not d.is_voided]
    assert live == ["started", "mid-point"]


def test_deferred_in_training_resumes_in_a_later_cohort_with_room(session):
    provider = factories.create_provider(session)
    first = started_cohort(session, provider=provider, places=2)
    later = factories.create_cohort(session, provider=provider, prog=first.programme, places=1)
    made = claim(session, first)
    declare(session, made, "started")
    places.defer(session, made, reason="Changed jobs")

    places.resume(session, made, to_cohort=later)

    assert made.cohort_id == later.id and made.status == ClaimStatus.STARTED
    assert made.holds_place
    # The later cohort's one place is now this participant's.
    assert claim(session, later).waiting_reason == places.COHORT


def test_a_full_later_cohort_cannot_take_a_resuming_participant(session):
    provider = factories.create_provider(session)
    first = started_cohort(session, provider=provider, places=2)
    later = factories.create_cohort(session, provider=provider, prog=first.programme, places=1)
    made = claim(session, first)
    declare(session, made, "started")
    places.defer(session, made, reason="Changed jobs")
    claim(session, later)

    with pytest.raises(DomainError, match="no room for a returning participant") as error:
        places.resume(session, made, to_cohort=later)
    assert error.value.field == "cohort"
    session.refresh(made)
    assert made.status == ClaimStatus.DEFERRED and made.cohort_id == first.id


def test_deferred_before_training_goes_to_the_back_of_the_waiting_list(session):
    cohort = factories.create_cohort(session, places=1)
    made = claim(session, cohort)
    places.defer(session, made, reason="Not ready yet")
    assert not made.holds_place
    taker = claim(session, cohort)  # the place went back and was taken
    behind = claim(session, cohort)

    outcome = places.resume(session, made)

    assert taker.status == ClaimStatus.FUNDED
    assert made.status == ClaimStatus.WAITING
    assert places.waiting_position(session, behind) == 1
    assert outcome.waiting_position == 2
    # When the place comes back, the one who waited longer gets it.
    places.withdraw(session, taker, reason="Left the setting")
    assert behind.status == ClaimStatus.FUNDED and made.status == ClaimStatus.WAITING


def test_deferred_before_training_is_funded_at_once_when_there_is_room(session):
    cohort = factories.create_cohort(session, places=2)
    made = claim(session, cohort)
    places.defer(session, made, reason="Not ready yet")

    places.resume(session, made)

    assert made.status == ClaimStatus.FUNDED and made.holds_place


def test_only_a_deferred_claim_resumes(session):
    made = claim(session, factories.create_cohort(session))

    with pytest.raises(DomainError, match="Only a deferred claim can resume"):
        places.resume(session, made)


def test_claiming_again_for_a_deferred_person_says_to_resume(session):
    cohort = started_cohort(session)
    made = claim(session, cohort, email="kim@example.com")
    declare(session, made, "started")
    places.defer(session, made, reason="Maternity leave")

    with pytest.raises(DomainError, match="resume that claim") as error:
        claim(session, cohort, email="kim@example.com")
    assert error.value.field == "email"
    assert places_held(session, made.participant_id) == 1


def test_a_person_is_funded_once_on_a_programme(session):
    cohort = started_cohort(session)
    made = claim(session, cohort, email="kim@example.com")
    declare(session, made, "started")
    places.withdraw(session, made, reason="Left teaching")

    with pytest.raises(DomainError, match="already had a funded place"):
        claim(session, factories.create_cohort(session), email="kim@example.com")


def test_a_person_withdrawn_before_training_may_claim_again(session):
    cohort = factories.create_cohort(session)
    made = claim(session, cohort, email="kim@example.com")
    places.withdraw(session, made, reason="Not this term")

    again = claim(session, cohort, email="kim@example.com")

    assert again.status == ClaimStatus.FUNDED
    assert places_held(session, made.participant_id) == 1


# -- cohorts that stop taking claims ------------------------------------------------------


def _edit(session, cohort, **changes):
    fields = {
        "name": cohort.name,
        "starts_on": cohort.starts_on,
        "ends_on": cohort.ends_on,
        "places": cohort.places,
        "status": cohort.status,
    }
    return update_cohort(session, cohort, **{**fields, **changes})


def test_closing_a_cohort_releases_its_waiting_claims_and_tells_people(session):
    cohort = factories.create_cohort(session, places=1)
    setting = factories.create_setting(session)
    factories_user = _setting_user(session, setting)
    funded = claim(session, cohort)
    waiting = claim(session, cohort, setting=setting)

    _edit(session, cohort, status=CohortStatus.CLOSED)

    assert funded.status == ClaimStatus.FUNDED
    assert waiting.status == ClaimStatus.WITHDRAWN and not waiting.holds_place
    assert "closed before a funded place came free" in waiting.end_reason
    told = set(
        session.scalars(
            sa.select(OutboxMessage.recipient).where(OutboxMessage.rule_code == "claim-released")
        )
    )
    assert {waiting.participant.email, factories_user.email} <= told


def test_cancelling_a_cohort_with_only_waiting_claims_releases_them(session):
    provider = factories.create_provider(session)
    full = factories.create_cohort(session, provider=provider, places=2, allocation=2)
    claim(session, full)
    claim(session, full)
    cohort = factories.create_cohort(session, provider=provider, places=2)
    waiting = claim(session, cohort)
    assert waiting.waiting_reason == places.ALLOCATION

    _edit(session, cohort, status=CohortStatus.CANCELLED)

    assert cohort.status == CohortStatus.CANCELLED
    assert waiting.status == ClaimStatus.WITHDRAWN
    assert waiting.end_reason == "the cohort was cancelled"


def test_a_cancelled_cohort_stays_cancelled(session):
    cohort = factories.create_cohort(session, places=1)
    _edit(session, cohort, status=CohortStatus.CANCELLED)

    with pytest.raises(DomainError, match="cancelled cohort cannot be made open") as error:
        _edit(session, cohort, status=CohortStatus.OPEN)
    assert error.value.field == "status"


# -- the setting's own limit ---------------------------------------------------------------


def test_a_claim_waiting_for_its_settings_limit_has_no_place_in_the_queue(session):
    prog = factories.programme(session)
    prog.places_per_setting = 1
    cohort = factories.create_cohort(session, prog=prog, places=5)
    setting = factories.create_setting(session)
    claim(session, cohort, setting=setting)

    outcome = places.claim_place(
        session, cohort, full_name="Second", email="second@example.com", setting=setting
    )
    # Others are funded past it: it waits for its own setting, not for the list.
    other = claim(session, cohort)

    assert outcome.claim.waiting_reason == places.SETTING
    assert outcome.waiting_position is None
    assert places.waiting_position(session, outcome.claim) is None
    assert other.status == ClaimStatus.FUNDED


# -- changes that take effect on a date ----------------------------------------------------


def test_a_target_rise_on_a_later_date_funds_the_waiting_first(session):
    prog = factories.programme(session)
    cohort = factories.create_cohort(session, prog=prog, places=10, programme_places=1)
    claim(session, cohort)
    early = claim(session, cohort)
    assert early.waiting_reason == places.PROGRAMME
    set_target(
        session, prog, places=2, effective_on=places.london_today() + timedelta(days=1), note="t"
    )
    assert early.status == ClaimStatus.WAITING
    # The date arrives (here: the rise is moved to today, as time passing would).
    session.execute(
        sa.update(ProgrammeTarget)
        .where(ProgrammeTarget.programme_id == prog.id, ProgrammeTarget.places == 2)
        .values(effective_on=places.london_today())
    )

    late = claim(session, cohort)

    session.refresh(early)
    assert early.status == ClaimStatus.FUNDED
    assert late.status == ClaimStatus.WAITING


def test_the_daily_job_funds_claims_when_a_target_takes_effect(session):
    prog = factories.programme(session)
    cohort = factories.create_cohort(session, prog=prog, places=10, programme_places=1)
    claim(session, cohort)
    waiting = claim(session, cohort)
    session.add(
        ProgrammeTarget(programme=prog, places=2, effective_on=places.london_today(), note="rise")
    )
    session.flush()

    assert places.fund_when_due(session)[prog.code] == 1
    assert places.fund_when_due(session)[prog.code] == 0  # safe to run again

    session.refresh(waiting)
    assert waiting.status == ClaimStatus.FUNDED


def test_an_allocation_cannot_be_cut_below_the_places_its_provider_holds(session):
    provider = factories.create_provider(session)
    cohort = factories.create_cohort(session, provider=provider, places=5, allocation=5)
    claim(session, cohort)
    claim(session, cohort)

    with pytest.raises(DomainError, match="holds 2 funded places") as error:
        set_allocation(session, provider, cohort.programme, places=1)
    assert error.value.field == "places"
    assert set_allocation(session, provider, cohort.programme, places=2).places == 2


def _setting_user(session, setting):
    user = User(
        email=f"staff{setting.id}@example.com",
        full_name="Setting manager",
        role=Role.SETTING,
        setting=setting,
        password_hash="x",
        is_active=True,
    )
    session.add(user)
    session.flush()
    return user
