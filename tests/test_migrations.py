"""Data migrations: what they do to the rows an older version of the service left."""

from datetime import date, timedelta

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests import factories
from tracker import places
from tracker.extensions import db
from tracker.models import (
    Claim,
    ClaimStatus,
    Declaration,
    Milestone,
    Participant,
    ParticipantConflict,
    Region,
)
from tracker.models.base import utcnow


def _old_claim(session, cohort, participant, status, *, holds_place, days_ago, milestones=()):
    """A claim as the service wrote them before a deferral could resume: made directly,
    with the columns claims had then (no participant details of their own)."""
    when = utcnow() - timedelta(days=days_ago)
    claim_id = session.execute(
        sa.insert(Claim.__table__)
        .values(
            programme_id=cohort.programme_id,
            cohort_id=cohort.id,
            participant_id=participant.id,
            status=status,
            holds_place=holds_place,
            is_priority=False,
            queue_seq=days_ago,
            claimed_dt=when,
            funded_dt=when if holds_place else None,
            started_dt=when if milestones else None,
            ended_dt=when if status == ClaimStatus.DEFERRED else None,
            end_reason="Maternity leave" if status == ClaimStatus.DEFERRED else None,
            updated_dt=when,
        )
        .returning(Claim.__table__.c.id)
    ).scalar_one()
    by_code = {m.code: m for m in cohort.programme.milestones}
    for code in milestones:
        session.add(
            Declaration(claim_id=claim_id, milestone=by_code[code], declared_on=when.date())
        )
    session.flush()
    return claim_id


def test_a_reenrolment_after_a_deferral_is_merged_into_one_claim_and_place(app, session):
    downgrade(revision="0007_sessions")  # before 0008, the revision this test is about
    first_cohort = factories.create_cohort(session)
    later_cohort = factories.create_cohort(session, prog=first_cohort.programme)
    person = Participant(full_name="Kim Lee", email="kim@example.com")
    waiting_person = Participant(full_name="Sam Roe", email="sam@example.com")
    session.add_all([person, waiting_person])
    session.flush()
    first = _old_claim(
        session,
        first_cohort,
        person,
        ClaimStatus.DEFERRED,
        holds_place=True,
        days_ago=200,
        milestones=("started", "mid-point"),
    )
    later = _old_claim(
        session,
        later_cohort,
        person,
        ClaimStatus.STARTED,
        holds_place=True,
        days_ago=50,
        milestones=("started", "mid-point", "portfolio-submitted"),
    )
    held = _old_claim(
        session,
        first_cohort,
        waiting_person,
        ClaimStatus.DEFERRED,
        holds_place=True,
        days_ago=100,
        milestones=("started",),
    )
    queued = _old_claim(
        session, later_cohort, waiting_person, ClaimStatus.WAITING, holds_place=False, days_ago=20
    )
    ids = first, later, held, queued
    session.commit()

    upgrade()

    session.expire_all()
    first, later, held, queued = (session.get(Claim, i) for i in ids)
    assert (first.status, first.holds_place, first.cohort_id) == (
        ClaimStatus.STARTED,
        True,
        later_cohort.id,
    )
    assert first.end_reason is None
    assert (later.status, later.holds_place) == (ClaimStatus.WITHDRAWN, False)
    assert f"Merged into claim {first.id}" in later.end_reason
    live = session.scalars(
        sa.select(Milestone.code)
        .join(Declaration, Declaration.milestone_id == Milestone.id)
        .where(Declaration.claim_id == first.id, Declaration.voided_dt.is_(None))
        .order_by(Milestone.position)
    ).all()
    assert live == ["started", "mid-point", "portfolio-submitted"]
    # Nothing is deleted: the later claim keeps its repeated milestones, voided.
    voided = session.scalar(
        sa.select(sa.func.count()).where(
            Declaration.claim_id == later.id, Declaration.voided_dt.is_not(None)
        )
    )
    assert voided == 2
    # A claim waiting for someone whose place is kept through a deferral ends, saying why.
    assert held.status == ClaimStatus.DEFERRED and held.holds_place
    assert queued.status == ClaimStatus.WITHDRAWN
    assert f"claim {held.id}" in queued.end_reason


def test_each_claim_takes_its_participant_details_as_its_own_copy_and_back(app, session):
    downgrade(revision="0008")
    cohort = factories.create_cohort(session)
    with_trn = Participant(full_name="Ada Obi", email="ada@example.com", trn="1234567")
    without = Participant(full_name="Ben Cole", email="ben@example.com")
    session.add_all([with_trn, without])
    session.flush()
    ids = [
        _old_claim(session, cohort, with_trn, ClaimStatus.FUNDED, holds_place=True, days_ago=9),
        _old_claim(session, cohort, without, ClaimStatus.WAITING, holds_place=False, days_ago=3),
    ]
    session.commit()

    upgrade()

    session.expire_all()
    copies = [
        (claim.full_name, claim.email, claim.trn) for claim in (session.get(Claim, i) for i in ids)
    ]
    assert copies == [
        ("Ada Obi", "ada@example.com", "1234567"),
        ("Ben Cole", "ben@example.com", None),
    ]
    assert session.scalar(sa.select(sa.func.count()).select_from(ParticipantConflict)) == 0
    session.commit()

    # Downgrading keeps every claim and person; the copies go, the participant record stays.
    downgrade(revision="0008")
    columns = {c["name"] for c in sa.inspect(session.connection()).get_columns("claims")}
    assert {"full_name", "email", "trn"}.isdisjoint(columns)
    assert session.scalar(sa.text("SELECT count(*) FROM claims")) == 2
    assert session.scalar(sa.text("SELECT count(*) FROM participants")) == 2
    session.commit()
    upgrade()


def test_id_sequences_catch_up_with_rows_given_their_ids_by_hand(app, session):
    downgrade(revision="0009_participant_details")
    if session.get_bind().dialect.name == "postgresql":
        # As 0002 used to leave it: the regions' sequence behind their hand-given ids.
        session.execute(sa.text("SELECT setval('regions_id_seq', 1, true)"))
    session.commit()

    upgrade()

    added = Region(name="A tenth region")
    session.add(added)
    session.flush()
    assert added.id == 1 + session.scalar(
        sa.select(sa.func.max(Region.id)).where(Region.id != added.id)
    )
    session.rollback()


def test_the_migrations_go_down_to_an_empty_database_and_up_again_with_data_present(app, session):
    cohort = factories.create_cohort(session, places=1)
    setting = factories.create_setting(session)
    for n in range(2):  # one funded, one waiting
        places.claim_place(
            session,
            cohort,
            full_name=f"Round Trip {n}",
            email=f"trip{n}@example.com",
            setting=setting,
        )
    session.commit()
    session.close()

    downgrade(revision="base")
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()

    # The reference data is back, and the service works on it.
    assert session.scalar(sa.select(sa.func.count()).select_from(Region)) == 9
    cohort = factories.create_cohort(session, places=1)
    outcome = places.claim_place(
        session,
        cohort,
        full_name="After",
        email="after@example.com",
        setting=factories.create_setting(session),
    )
    assert outcome.claim.holds_place
    session.rollback()


def test_going_below_the_reference_data_keeps_the_targets_dfe_set(app, session):
    from tracker.models import ProgrammeTarget
    from tracker.programmes import set_target

    ey = factories.programme(session, "ey-senco-l3")
    set_target(session, ey, places=6000, effective_on=date(2027, 4, 1), note="Raised by DfE")
    ey_id = ey.id
    session.commit()
    session.close()

    downgrade(revision="0001")
    targets = session.execute(sa.text("SELECT places, note FROM programme_targets")).all()
    assert [tuple(t) for t in targets] == [(6000, "Raised by DfE")]
    session.commit()
    upgrade()

    notes = session.scalars(
        sa.select(ProgrammeTarget.note).where(ProgrammeTarget.programme_id == ey_id)
    ).all()
    assert "Raised by DfE" in notes
    assert len(notes) == len(set(notes))  # the loaded targets are back once, not twice
    assert session.scalar(sa.select(sa.func.count()).select_from(Region)) == 9
    # Leave the reference data as the other tests expect it: loaded afresh, ids and all.
    session.close()
    downgrade(revision="base")
    upgrade()


def test_published_snapshots_go_with_their_revision_and_come_back_empty(app, session):
    from tracker import publication

    publication.publish(session, by="test")
    session.commit()

    downgrade(revision="0010_id_sequences")
    assert "published_snapshots" not in sa.inspect(db.engine).get_table_names()
    upgrade()

    assert "published_snapshots" in sa.inspect(db.engine).get_table_names()
    assert publication.latest(session) is None
    assert publication.publish(session, by="test").created
    session.commit()


def test_sign_ins_move_out_of_the_audit_trail_into_their_history_and_back(app, session):
    from tracker.accounts import create_user, sign_in_with_password
    from tracker.models import AuditEvent, Role, SignInAttempt, SignInOutcome

    downgrade(revision="0012_provider_claim_counts")
    lee = create_user(session, email="lee@example.com", role=Role.DFE, password="a long password")
    lee_id = lee.id
    first, renamed, second = (utcnow() - timedelta(days=days) for days in (9, 5, 2))

    def account_event(when, changes):
        session.add(
            AuditEvent(
                occurred_dt=when,
                actor_id=lee_id,
                actor="lee@example.com",
                action="update",
                entity_type="users",
                entity_id=lee_id,
                changes=changes,
            )
        )

    # As the earlier version wrote them: a row for each sign-in, among real changes.
    account_event(first, {"last_sign_in_dt": [None, first.isoformat()]})
    account_event(second, {"last_sign_in_dt": [first.isoformat(), second.isoformat()]})
    account_event(renamed, {"full_name": ["", "Lee Wong"]})
    session.commit()

    upgrade()

    def account_changes():
        return session.scalars(
            sa.select(AuditEvent.changes)
            .where(AuditEvent.entity_type == "users", AuditEvent.action == "update")
            .order_by(AuditEvent.occurred_dt, AuditEvent.id)
        ).all()

    assert account_changes() == [{"full_name": ["", "Lee Wong"]}]
    moved = session.execute(
        sa.select(
            SignInAttempt.attempted_dt,
            SignInAttempt.user_id,
            SignInAttempt.email,
            SignInAttempt.outcome,
            SignInAttempt.address,
        ).order_by(SignInAttempt.attempted_dt)
    ).all()
    assert [tuple(row) for row in moved] == [
        (first, lee_id, "lee@example.com", SignInOutcome.SIGNED_IN, None),
        (second, lee_id, "lee@example.com", SignInOutcome.SIGNED_IN, None),
    ]
    sign_in_with_password(session, email="lee@example.com", password="a wrong guess")
    session.commit()

    # Down again: every sign-in back in the audit trail as it was; the failure has no place.
    downgrade(revision="0012_provider_claim_counts")
    assert "sign_in_attempts" not in sa.inspect(db.engine).get_table_names()
    assert account_changes() == [
        {"last_sign_in_dt": [None, first.isoformat()]},
        {"full_name": ["", "Lee Wong"]},
        {"last_sign_in_dt": [first.isoformat(), second.isoformat()]},
    ]
    session.commit()
    upgrade()
    assert session.scalar(sa.select(sa.func.count()).select_from(SignInAttempt)) == 2
