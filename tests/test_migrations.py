"""Data migrations: what they do to the rows an older version of the service left."""

from datetime import timedelta

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests import factories
from tracker.models import Claim, ClaimStatus, Declaration, Milestone, Participant
from tracker.models.base import utcnow


def _old_claim(session, cohort, participant, status, *, holds_place, days_ago, milestones=()):
    """A claim as the service wrote them before a deferral could resume: made directly."""
    when = utcnow() - timedelta(days=days_ago)
    claim = Claim(
        programme_id=cohort.programme_id,
        cohort_id=cohort.id,
        participant_id=participant.id,
        status=status,
        holds_place=holds_place,
        queue_seq=days_ago,
        claimed_dt=when,
        funded_dt=when if holds_place else None,
        started_dt=when if milestones else None,
        ended_dt=when if status == ClaimStatus.DEFERRED else None,
        end_reason="Maternity leave" if status == ClaimStatus.DEFERRED else None,
    )
    session.add(claim)
    session.flush()
    by_code = {m.code: m for m in cohort.programme.milestones}
    for code in milestones:
        session.add(Declaration(claim=claim, milestone=by_code[code], declared_on=when.date()))
    session.flush()
    return claim


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
    ids = first.id, later.id, held.id, queued.id
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


def test_published_snapshots_go_with_their_revision_and_come_back_empty(app, session):
    from tracker import publication
    from tracker.extensions import db

    publication.publish(session, by="test")
    session.commit()

    downgrade(revision="0008")
    assert "published_snapshots" not in sa.inspect(db.engine).get_table_names()
    upgrade()

    assert "published_snapshots" in sa.inspect(db.engine).get_table_names()
    assert publication.latest(session) is None
    assert publication.publish(session, by="test").created
    session.commit()
