"""Declarations: milestones declared in order, once each, and voidable."""

from datetime import date

import pytest
import sqlalchemy as sa

from tests import factories
from tracker import places
from tracker.errors import DomainError
from tracker.models import AuditEvent, ClaimStatus
from tracker.progress import record_declaration, void_declaration

START = date(2025, 1, 6)
TODAY = date(2025, 9, 1)


@pytest.fixture
def funded(session):
    cohort = factories.create_cohort(session, places=5, starts_on=START)
    return places.claim_place(
        session,
        cohort,
        full_name="Jo Bloggs",
        email="jo@example.com",
        setting=factories.create_setting(session),
    ).claim


def declare(session, claim, code, on=START):
    return record_declaration(session, claim, milestone_code=code, declared_on=on, today=TODAY)


def test_the_first_milestone_starts_training_and_the_last_completes_it(session, funded):
    declare(session, funded, "started")
    assert funded.status == ClaimStatus.STARTED and funded.started_dt is not None

    declare(session, funded, "mid-point", date(2025, 3, 1))
    declare(session, funded, "portfolio-submitted", date(2025, 4, 20))
    declare(session, funded, "completed", date(2025, 5, 10))

    assert funded.status == ClaimStatus.COMPLETED and funded.completed_dt is not None
    assert [d.milestone.code for d in funded.declarations] == [
        "started",
        "mid-point",
        "portfolio-submitted",
        "completed",
    ]


def test_milestones_come_in_order(session, funded):
    with pytest.raises(DomainError, match="Started must be declared before Mid-point") as error:
        declare(session, funded, "mid-point")
    assert error.value.field == "milestone"


def test_a_milestone_is_declared_once(session, funded):
    declare(session, funded, "started")

    with pytest.raises(DomainError, match="already been declared"):
        declare(session, funded, "started")


def test_declaration_dates_are_checked(session, funded):
    with pytest.raises(DomainError, match="future") as error:
        declare(session, funded, "started", date(2025, 9, 2))
    assert error.value.field == "declared_on"
    with pytest.raises(DomainError, match="before the cohort starts"):
        declare(session, funded, "started", date(2025, 1, 5))
    declare(session, funded, "started", date(2025, 2, 1))
    with pytest.raises(DomainError, match="cannot be before Started"):
        declare(session, funded, "mid-point", date(2025, 1, 31))


def test_unknown_milestones_and_waiting_claims_are_refused(session, funded):
    with pytest.raises(DomainError, match="not a milestone"):
        declare(session, funded, "retained-1")
    places.withdraw(session, funded, reason="Left")
    with pytest.raises(DomainError, match="withdrawn claim"):
        declare(session, funded, "started")


def test_voiding_the_latest_declaration_puts_the_claim_back(session, funded):
    started = declare(session, funded, "started")
    mid = declare(session, funded, "mid-point", date(2025, 3, 1))

    with pytest.raises(DomainError, match="Only the latest"):
        void_declaration(session, started, reason="Mistake")
    void_declaration(session, mid, reason="Entered in error")
    void_declaration(session, started, reason="Entered in error")

    assert funded.status == ClaimStatus.FUNDED and funded.started_dt is None
    assert started.is_voided and started.void_reason == "Entered in error"
    declare(session, funded, "started")
    assert funded.status == ClaimStatus.STARTED


def test_a_declaration_is_audited_as_itself_and_the_claims_real_changes(session, funded):
    before = session.scalar(sa.select(sa.func.max(AuditEvent.id)))

    declare(session, funded, "started")
    declare(session, funded, "mid-point", date(2025, 3, 1))

    events = session.execute(
        sa.select(AuditEvent.action, AuditEvent.entity_type, AuditEvent.changes)
        .where(AuditEvent.id > before)
        .order_by(AuditEvent.id)
    ).all()
    # The claim's time of last change is bookkeeping (the API's updated_since), not a change:
    # the second declaration changes nothing else on the claim, so no row says it did.
    assert [(action, entity) for action, entity, _ in events] == [
        ("create", "declarations"),
        ("update", "claims"),
        ("create", "declarations"),
    ]
    assert set(events[1].changes) == {"status", "started_dt"}
