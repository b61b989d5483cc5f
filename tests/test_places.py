"""The place ledger's rules, one by one (each test runs on SQLite and PostgreSQL)."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tracker import places
from tracker.errors import DomainError
from tracker.models import (
    AuditEvent,
    Claim,
    ClaimStatus,
    CohortStatus,
    ConflictField,
    Participant,
    ParticipantConflict,
    Region,
    RegionQuota,
    SettingKind,
)
from tracker.programmes import set_allocation, set_target

_people = iter(range(1, 1_000_000))


def claim(session, cohort, *, setting=None, email=None, trn=None, **kwargs):
    """Claim a place for a new person at a new (or given) setting."""
    n = next(_people)
    if setting is None and cohort.programme.eligible_setting_kinds:
        setting = factories.create_setting(session)
    return places.claim_place(
        session,
        cohort,
        full_name=f"Person {n}",
        email=email or f"person{n}@example.com",
        trn=trn,
        setting=setting,
        **kwargs,
    ).claim


def statuses(claims):
    return [c.status.value for c in claims]


def region(session, name):
    return session.scalar(sa.select(Region).where(Region.name == name))


# -- funding and each cap level ----------------------------------------------------------


def test_claim_is_funded_while_the_cohort_has_places_then_waits(session):
    cohort = factories.create_cohort(session, places=2)

    claims = [claim(session, cohort) for _ in range(3)]

    assert statuses(claims) == ["funded", "funded", "waiting"]
    assert claims[2].waiting_reason == places.COHORT
    assert all(c.holds_place for c in claims[:2]) and not claims[2].holds_place


def test_provider_allocation_caps_places_across_its_cohorts(session):
    provider = factories.create_provider(session)
    first = factories.create_cohort(session, provider=provider, places=2, allocation=3)
    second = factories.create_cohort(session, provider=provider, places=2)

    claims = [claim(session, first), claim(session, first), claim(session, second)]
    last = claim(session, second)

    assert statuses(claims) == ["funded"] * 3
    assert last.status == ClaimStatus.WAITING
    assert last.waiting_reason == places.ALLOCATION


def test_programme_target_caps_places_across_providers(session):
    one = factories.create_cohort(session, places=5, programme_places=3)
    other = factories.create_cohort(session, places=5)

    funded = [claim(session, one), claim(session, other), claim(session, one)]
    last = claim(session, other)

    assert statuses(funded) == ["funded"] * 3
    assert (last.status, last.waiting_reason) == (ClaimStatus.WAITING, places.PROGRAMME)


def test_only_the_target_in_force_today_counts(session):
    cohort = factories.create_cohort(session, places=5, programme_places=1)
    prog = cohort.programme
    tomorrow = date.today() + timedelta(days=1)  # noqa: DTZ011
    set_target(session, prog, places=4, effective_on=tomorrow, note="Raised from tomorrow")

    first, second = claim(session, cohort), claim(session, cohort)

    assert places.current_target(session, prog.id).places == 1
    assert places.current_target(session, prog.id, on=tomorrow).places == 4
    assert statuses([first, second]) == ["funded", "waiting"]


def test_region_quota_caps_places_for_its_regions_only(session):
    cohort = factories.create_cohort(session, places=10)
    regions = [region(session, "London"), region(session, "South East")]
    quota = RegionQuota(programme=cohort.programme, name="London and the South East", places=1)
    quota.regions = regions
    session.add(quota)
    session.flush()
    camden = factories.create_setting(session, la_code="202")
    kent = factories.create_setting(session, la_code="886")
    leeds = factories.create_setting(session, la_code="383")

    results = [claim(session, cohort, setting=s) for s in (camden, kent, leeds)]

    assert statuses(results) == ["funded", "waiting", "funded"]
    assert results[1].waiting_reason == places.REGION_QUOTA


def test_a_per_cohort_region_quota_applies_to_each_cohort_separately(session):
    prog = factories.programme(session, "ep-doctorate")
    first = factories.create_cohort(session, prog=prog, places=10)
    second = factories.create_cohort(session, prog=prog, places=10)
    london_region = region(session, "London")
    quota = RegionQuota(programme=prog, name="London", places=1, per_cohort=True)
    quota.regions = [london_region]
    session.add(quota)
    session.flush()
    london = factories.local_authority(session, "202")

    results = [
        claim(session, first, local_authority=london),
        claim(session, first, local_authority=london),
        claim(session, second, local_authority=london),
    ]

    assert statuses(results) == ["funded", "waiting", "funded"]


def test_a_programme_wide_region_quota_counts_every_cohort_beside_a_per_cohort_one(session):
    prog = factories.programme(session, "ep-doctorate")
    first = factories.create_cohort(session, prog=prog, places=10)
    second = factories.create_cohort(session, prog=prog, places=10)
    london_region, south_east = region(session, "London"), region(session, "South East")
    whole = RegionQuota(programme=prog, name="London, whole programme", places=2)
    whole.regions = [london_region]
    each = RegionQuota(programme=prog, name="South East, each cohort", places=1, per_cohort=True)
    each.regions = [south_east]
    session.add_all([whole, each])
    session.flush()
    london = factories.local_authority(session, "202")
    kent = factories.local_authority(session, "886")

    results = [
        claim(session, first, local_authority=london),
        claim(session, second, local_authority=london),
        claim(session, second, local_authority=london),
        claim(session, first, local_authority=kent),
        claim(session, second, local_authority=kent),
        claim(session, second, local_authority=kent),
    ]

    assert statuses(results) == ["funded", "funded", "waiting", "funded", "funded", "waiting"]
    assert {results[2].waiting_reason, results[5].waiting_reason} == {places.REGION_QUOTA}


def test_a_setting_holds_no_more_funded_places_at_once_than_its_limit(session):
    cohort = factories.create_cohort(session, places=10)
    cohort.programme.places_per_setting = 1
    nursery = factories.create_setting(session)
    other = factories.create_setting(session)

    results = [
        claim(session, cohort, setting=nursery),
        claim(session, cohort, setting=nursery),
        claim(session, cohort, setting=other),
    ]

    assert statuses(results) == ["funded", "waiting", "funded"]
    assert results[1].waiting_reason == places.SETTING


def test_completing_training_frees_the_settings_slot_for_its_waiting_claim(session):
    cohort = factories.create_cohort(session, places=10, starts_on=date(2025, 1, 6))
    cohort.programme.places_per_setting = 1
    nursery = factories.create_setting(session)
    first = claim(session, cohort, setting=nursery)
    second = claim(session, cohort, setting=nursery)
    from tracker.progress import record_declaration

    for code in ("started", "mid-point", "portfolio-submitted", "completed"):
        record_declaration(session, first, milestone_code=code, declared_on=date(2025, 6, 1))

    assert first.status == ClaimStatus.COMPLETED
    assert second.status == ClaimStatus.FUNDED


# -- the waiting list --------------------------------------------------------------------


def test_waiting_list_keeps_claim_order(session):
    cohort = factories.create_cohort(session, places=1)
    claim(session, cohort)

    waiting = [claim(session, cohort) for _ in range(3)]

    assert [places.waiting_position(session, c) for c in waiting] == [1, 2, 3]


def test_priority_regions_wait_ahead_and_are_funded_first(session):
    cohort = factories.create_cohort(session, places=1)
    north_east = region(session, "North East")
    cohort.programme.priority_regions = [north_east]
    funded = claim(session, cohort, setting=factories.create_setting(session, la_code="202"))
    london = claim(session, cohort, setting=factories.create_setting(session, la_code="202"))
    newcastle = claim(session, cohort, setting=factories.create_setting(session, la_code="391"))

    assert newcastle.is_priority and not london.is_priority
    assert places.waiting_position(session, newcastle) == 1
    assert places.waiting_position(session, london) == 2

    outcome = places.withdraw(session, funded, reason="Left the setting")

    assert outcome.promoted == [newcastle]
    assert newcastle.status == ClaimStatus.FUNDED
    assert places.waiting_position(session, london) == 1


def test_a_claim_made_is_told_where_it_waits_as_the_list_says_after(session):
    cohort = factories.create_cohort(session, places=1)
    cohort.programme.priority_regions = [region(session, "North East")]
    other = factories.create_cohort(session, prog=cohort.programme, places=0)
    claim(session, other)  # waits in another cohort: not on this list
    areas = ["202", "391", "202", "391", "202"]  # London, then Newcastle (a priority region)
    told = []
    for la_code in ["202", *areas]:
        outcome = places.claim_place(
            session,
            cohort,
            full_name="Someone",
            email=f"someone.{next(_people)}@example.com",
            setting=factories.create_setting(session, la_code=la_code),
        )
        told.append((outcome.claim, outcome.waiting_position))
    batch = places.claim_places(
        session,
        cohort,
        [
            places.ClaimRequest(
                "Someone",
                f"batch.{n}@example.com",
                setting=factories.create_setting(session, la_code=code),
            )
            for n, code in enumerate(["391", "202"])
        ],
    )

    assert told[0][1] is None  # funded
    # Each was told its place as it joined; later priority claims go ahead of it since.
    assert [position for _, position in told[1:]] == [1, 1, 3, 2, 5]
    assert [c.waiting_position for c in batch] == [3, 7]
    asked = places.waiting_positions(session, [c for c, _ in told[1:]] + batch)
    assert asked[batch[0].id] == 3 and asked[batch[1].id] == 7


def test_a_place_given_back_before_training_goes_to_the_next_waiting_claim(session):
    cohort = factories.create_cohort(session, places=1)
    funded = claim(session, cohort)
    first, second = claim(session, cohort), claim(session, cohort)

    outcome = places.withdraw(session, funded, reason="Changed jobs")

    assert funded.status == ClaimStatus.WITHDRAWN and not funded.holds_place
    assert funded.end_reason == "Changed jobs"
    assert outcome.promoted == [first]
    assert first.status == ClaimStatus.FUNDED and first.funded_dt is not None
    assert second.status == ClaimStatus.WAITING


def test_deferral_before_training_also_gives_the_place_back(session):
    cohort = factories.create_cohort(session, places=1)
    funded = claim(session, cohort)
    waiting = claim(session, cohort)

    outcome = places.defer(session, funded, reason="Maternity leave")

    assert funded.status == ClaimStatus.DEFERRED
    assert outcome.promoted == [waiting]


def test_a_place_in_training_is_spent_and_not_given_back(session):
    from tracker.progress import record_declaration

    cohort = factories.create_cohort(session, places=1, starts_on=date(2025, 1, 6))
    started = claim(session, cohort)
    waiting = claim(session, cohort)
    record_declaration(session, started, milestone_code="started", declared_on=date(2025, 1, 6))

    outcome = places.withdraw(session, started, reason="Long-term illness")

    assert started.status == ClaimStatus.WITHDRAWN and started.holds_place
    assert outcome.promoted == []
    assert waiting.status == ClaimStatus.WAITING


def test_withdrawing_needs_a_reason_and_a_live_claim(session):
    cohort = factories.create_cohort(session, places=1)
    funded = claim(session, cohort)

    with pytest.raises(DomainError) as error:
        places.withdraw(session, funded, reason="  ")
    assert error.value.field == "reason"
    assert funded.status == ClaimStatus.FUNDED

    places.withdraw(session, funded, reason="No longer needed")
    with pytest.raises(DomainError, match="already withdrawn"):
        places.withdraw(session, funded, reason="Again")


def test_raising_a_cap_funds_waiting_claims_in_order(session):
    provider = factories.create_provider(session)
    cohort = factories.create_cohort(session, provider=provider, places=5, allocation=1)
    claim(session, cohort)
    waiting = [claim(session, cohort) for _ in range(3)]

    set_allocation(session, provider, cohort.programme, places=3)

    assert statuses(waiting) == ["funded", "funded", "waiting"]


def test_raising_the_target_funds_waiting_claims(session):
    cohort = factories.create_cohort(session, places=5, programme_places=1)
    claim(session, cohort)
    waiting = claim(session, cohort)

    set_target(session, cohort.programme, places=2, effective_on=date(2024, 1, 1), note="Raised")

    assert waiting.status == ClaimStatus.FUNDED


def test_an_allocation_cannot_exceed_the_programme_places(session):
    cohort = factories.create_cohort(session, places=5, programme_places=100)

    with pytest.raises(DomainError, match="100 places") as error:
        set_allocation(session, cohort.provider, cohort.programme, places=101)
    assert error.value.field == "places"


# -- moving between cohorts --------------------------------------------------------------


def test_moving_a_funded_claim_frees_its_place_and_joins_the_new_cohort(session):
    provider = factories.create_provider(session)
    spring = factories.create_cohort(session, provider=provider, places=1)
    summer = factories.create_cohort(session, provider=provider, places=1)
    moving = claim(session, spring)
    waiting_in_spring = claim(session, spring)

    outcome = places.move_claim(session, moving, summer)

    assert moving.cohort is summer and moving.status == ClaimStatus.FUNDED
    assert outcome.promoted == [waiting_in_spring]


def test_a_moved_claim_waits_behind_those_already_waiting(session):
    provider = factories.create_provider(session)
    spring = factories.create_cohort(session, provider=provider, places=1)
    summer = factories.create_cohort(session, provider=provider, places=1)
    claim(session, summer)
    already_waiting = claim(session, summer)
    moving = claim(session, spring)

    places.move_claim(session, moving, summer)

    assert moving.status == ClaimStatus.WAITING
    assert places.waiting_position(session, already_waiting) == 1
    assert places.waiting_position(session, moving) == 2


def test_a_claim_moves_only_within_its_programme(session):
    cohort = factories.create_cohort(session, places=1)
    npq = factories.create_cohort(session, prog=factories.programme(session, "npq-senco"))
    moving = claim(session, cohort)

    with pytest.raises(DomainError, match="same programme"):
        places.move_claim(session, moving, npq)


# -- who may claim -----------------------------------------------------------------------


def test_one_live_claim_per_person_per_programme(session):
    cohort = factories.create_cohort(session, places=5)
    other = factories.create_cohort(session, places=5)
    first = claim(session, cohort, email="sam.jones@example.com")

    with pytest.raises(DomainError, match="already has a funded claim") as error:
        claim(session, other, email="  Sam.Jones@EXAMPLE.com ")
    assert error.value.field == "email"

    places.withdraw(session, first, reason="Wrong cohort")
    again = claim(session, other, email="sam.jones@example.com")
    assert again.status == ClaimStatus.FUNDED
    assert session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 1


def test_the_same_person_may_hold_places_on_different_programmes(session):
    ey = factories.create_cohort(session, places=5)
    npq = factories.create_cohort(session, prog=factories.programme(session, "npq-senco"))
    school = factories.create_setting(session, kind=SettingKind.SCHOOL, urn="100001")

    first = claim(session, ey, email="alex@example.com")
    second = claim(session, npq, email="alex@example.com", setting=school)

    assert first.participant is second.participant
    assert statuses([first, second]) == ["funded", "funded"]


def test_the_same_trn_with_another_email_is_caught(session):
    cohort = factories.create_cohort(session, places=5)
    npq = factories.create_cohort(session, prog=factories.programme(session, "npq-senco"))
    claim(session, cohort, email="kim@example.com", trn="1234567")
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)

    with pytest.raises(DomainError, match="TRN 1234567") as error:
        claim(session, npq, email="kim.other@example.com", trn="1234567", setting=school)
    assert error.value.field == "trn"
    assert "kim@example.com" not in error.value.message  # names nothing recorded


def test_the_same_email_with_another_trn_is_the_same_person_with_a_conflict(session):
    cohort = factories.create_cohort(session, places=5)
    npq = factories.create_cohort(session, prog=factories.programme(session, "npq-senco"))
    first = claim(session, cohort, email="kim@example.com", trn="1234567")
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)

    second = claim(session, npq, email="kim@example.com", trn="7654321", setting=school)

    assert second.participant is first.participant
    assert (first.trn, second.trn, first.participant.trn) == ("1234567", "7654321", "1234567")
    [conflict] = session.scalars(
        sa.select(ParticipantConflict).where(ParticipantConflict.field == ConflictField.TRN)
    ).all()
    assert (conflict.claim_id, conflict.field, conflict.recorded, conflict.given) == (
        second.id,
        ConflictField.TRN,
        "1234567",
        "7654321",
    )


def test_an_email_and_a_trn_of_two_different_people_are_refused(session):
    cohort = factories.create_cohort(session, places=5)
    npq = factories.create_cohort(session, prog=factories.programme(session, "npq-senco"))
    claim(session, cohort, email="kim@example.com", trn="1234567")
    claim(session, cohort, email="lee@example.com", trn="7654321")
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)

    with pytest.raises(DomainError, match="two different people") as error:
        claim(session, npq, email="kim@example.com", trn="7654321", setting=school)
    assert error.value.field == "trn"


def test_a_trn_must_be_seven_digits(session):
    cohort = factories.create_cohort(session, places=5)

    with pytest.raises(DomainError, match="7 digits") as error:
        claim(session, cohort, trn="12345")
    assert error.value.field == "trn"
    assert claim(session, cohort, trn="123 4567").participant.trn == "1234567"


def test_a_refused_claim_leaves_nothing_behind(session):
    cohort = factories.create_cohort(session, places=5)
    claim(session, cohort, email="kim@example.com", trn="1234567")
    before = session.scalar(sa.select(sa.func.count()).select_from(Participant))

    with pytest.raises(DomainError):
        claim(session, cohort, email="kim@example.com")

    assert session.scalar(sa.select(sa.func.count()).select_from(Participant)) == before
    assert session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 1


def test_only_eligible_settings_claim_early_years_places(session):
    cohort = factories.create_cohort(session, places=5)
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)

    with pytest.raises(DomainError, match="cannot claim a place") as error:
        claim(session, cohort, setting=school)
    assert error.value.field == "setting"
    with pytest.raises(DomainError, match="Enter the URN of the setting"):
        places.claim_place(session, cohort, full_name="A Person", email="a@example.com")


def test_ep_trainees_need_no_setting(session):
    cohort = factories.create_cohort(session, prog=factories.programme(session, "ep-doctorate"))

    trainee = claim(session, cohort, local_authority=factories.local_authority(session, "330"))

    assert trainee.status == ClaimStatus.FUNDED and trainee.setting is None


def test_a_cohort_not_open_takes_no_claims(session):
    cohort = factories.create_cohort(session, status=CohortStatus.CLOSED)

    with pytest.raises(DomainError, match="not taking claims") as error:
        claim(session, cohort)
    assert error.value.field == "cohort"


# -- the audit trail and retries ---------------------------------------------------------


def test_every_change_is_in_the_audit_trail_with_who_made_it(session):
    from tracker.audit import acting_as

    cohort = factories.create_cohort(session, places=1)
    with acting_as(label="provider@example.com"):
        made = claim(session, cohort)
        places.withdraw(session, made, reason="Left")

    events = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "claims", AuditEvent.entity_id == made.id)
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events][0] == "create"
    assert events[-1].changes["status"] == ["funded", "withdrawn"]
    assert {e.actor for e in events} == {"provider@example.com"}


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_deadlock_is_retried_inside_the_ledger(session, monkeypatch):
    cohort = factories.create_cohort(session, places=1)
    real_lock = places.lock_programme
    calls = []

    def lock_that_deadlocks_once(session, programme_id, count=1):
        calls.append(programme_id)
        if len(calls) == 1:
            raise sa.exc.OperationalError("UPDATE programmes", {}, _Deadlock("deadlock detected"))
        return real_lock(session, programme_id, count)

    monkeypatch.setattr(places, "lock_programme", lock_that_deadlocks_once)

    made = claim(session, cohort)

    assert made.status == ClaimStatus.FUNDED
    assert len(calls) == 2


def test_other_database_errors_are_not_retried(session, monkeypatch):
    cohort = factories.create_cohort(session, places=1)
    calls = []

    def broken_lock(session, programme_id, count=1):
        calls.append(programme_id)
        raise sa.exc.ProgrammingError("UPDATE programmes", {}, Exception("syntax error"))

    monkeypatch.setattr(places, "lock_programme", broken_lock)

    with pytest.raises(sa.exc.ProgrammingError):
        claim(session, cohort)
    assert len(calls) == 1


# -- many claims at once -----------------------------------------------------------------


def _requests(session, n, **kwargs):
    return [
        places.ClaimRequest(
            full_name=f"Batch Person {i}",
            email=f"batch{i}@example.com",
            setting=factories.create_setting(session),
            **kwargs,
        )
        for i in range(n)
    ]


def test_a_batch_of_claims_is_funded_in_order_until_the_cohort_is_full(session):
    cohort = factories.create_cohort(session, places=3)

    made = places.claim_places(session, cohort, _requests(session, 5))

    assert statuses(made) == ["funded"] * 3 + ["waiting"] * 2
    assert [places.waiting_position(session, c) for c in made[3:]] == [1, 2]
    # Each one is the claim stored for the person asked for, in the order asked.
    stored = [session.get(Claim, c.id) for c in made]
    assert [c.participant.email for c in stored] == [f"batch{i}@example.com" for i in range(5)]
    assert statuses(stored) == statuses(made)
    assert [c.queue_seq for c in stored] == sorted(c.queue_seq for c in stored)


def test_a_batch_with_bad_entries_reports_every_one_and_claims_nothing(session):
    cohort = factories.create_cohort(session, places=10)
    claim(session, cohort, email="taken@example.com")
    requests = _requests(session, 6)
    requests[1] = places.ClaimRequest("", "blank@example.com", setting=requests[1].setting)
    requests[2] = places.ClaimRequest("A Person", "taken@example.com", setting=requests[2].setting)
    requests[4] = places.ClaimRequest("Twin", "batch0@example.com", setting=requests[4].setting)
    requests[5] = places.ClaimRequest("No Setting", "x@example.com")

    with pytest.raises(places.ClaimsRefused) as refused:
        places.claim_places(session, cohort, requests)

    assert {i: e.field for i, e in refused.value.errors.items()} == {
        1: "full_name",
        2: "email",
        4: "email",
        5: "setting",
    }
    assert "appears more than once" in refused.value.errors[4].message
    assert session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 1


def test_a_batch_records_every_new_person_and_claim_in_the_audit_trail(session):
    from tracker.audit import _column_changes, acting_as

    cohort = factories.create_cohort(session, places=1)
    known = claim(session, cohort, email="known@example.com").participant
    ep = factories.programme(session, "ep-doctorate")
    other = factories.create_cohort(session, prog=ep, places=2)
    area = factories.local_authority(session, "330")
    requests = [
        places.ClaimRequest("Known Person", "known@example.com", "1234567", local_authority=area),
        places.ClaimRequest("New One", "new.one@example.com", local_authority=area),
        places.ClaimRequest("New Two", "new.two@example.com", "7654321", local_authority=area),
    ]
    before = session.scalar(sa.select(sa.func.max(AuditEvent.id)))

    with acting_as(label="provider@example.com"):
        made = places.claim_places(session, other, requests)

    events = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)
    ).all()
    assert {e.actor for e in events} == {"provider@example.com"}
    created = {(e.entity_type, e.entity_id): e.changes for e in events if e.action == "create"}
    new_people = session.scalars(
        sa.select(Participant).where(Participant.email.like("new.%")).order_by(Participant.email)
    ).all()
    stored = [session.get(Claim, c.id) for c in made]
    # The known person is named differently, and given a TRN: each a conflict for DfE.
    conflicts = session.scalars(
        sa.select(ParticipantConflict).order_by(ParticipantConflict.field)
    ).all()
    assert [(c.claim_id, c.field, c.given) for c in conflicts] == [
        (made[0].id, ConflictField.FULL_NAME, "Known Person"),
        (made[0].id, ConflictField.TRN, "1234567"),
    ]
    # The same record of each new row as the listener keeps for an object: every column.
    assert created == {
        **{("participants", p.id): _column_changes(p, "create") for p in new_people},
        **{("claims", c.id): _column_changes(c, "create") for c in stored},
        **{("participant_conflicts", c.id): _column_changes(c, "create") for c in conflicts},
    }
    assert [created[("claims", c.id)]["status"] for c in made] == ["funded", "funded", "waiting"]
    # The TRN given for someone already known is an update of their record, also recorded.
    [update] = [e for e in events if e.action == "update"]
    assert (update.entity_type, update.entity_id) == ("participants", known.id)
    assert update.changes == {"trn": [None, "1234567"]}


def test_a_person_added_meanwhile_by_another_claim_is_matched_when_the_batch_runs_again(
    session, monkeypatch
):
    cohort = factories.create_cohort(session, places=5)
    first = claim(session, cohort, email="twice@example.com")
    other = factories.create_cohort(session, prog=factories.programme(session, "ep-doctorate"))
    real_match = places.match_participants
    calls = []

    def match_before_the_other_claim_was_seen(session, people):
        # The first time, as if the other claim had not yet committed: nobody is known.
        calls.append(people)
        if len(calls) == 1:
            return [None] * len(people), {}
        return real_match(session, people)

    monkeypatch.setattr(places, "match_participants", match_before_the_other_claim_was_seen)
    request = places.ClaimRequest(
        "Twice", "twice@example.com", local_authority=factories.local_authority(session, "330")
    )

    [made] = places.claim_places(session, other, [request])

    assert len(calls) == 2
    assert made.participant_id == first.participant_id
    assert session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 1
    # Nothing of the first attempt is left, in the records or in the audit trail.
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(
                AuditEvent.entity_type == "participants", AuditEvent.action == "create"
            )
        )
        == 1
    )


def test_hidden_nul_characters_are_refused_not_stored(session):
    cohort = factories.create_cohort(session, places=5)

    with pytest.raises(DomainError, match="hidden characters") as error:
        claim(session, cohort, email="nul\x00@example.com")
    assert error.value.field == "email"
