"""The kept claim counts equal the counts from the claims after any sequence of changes.

Hypothesis draws sequences of ledger operations (claims one by one and in bulk,
withdrawals, deferrals, moves, declarations and voids, cohort, allocation and target
changes) and of writes made outside the ORM (set-based UPDATE and DELETE), on SQLite and
on PostgreSQL, and after each step ``figures.check`` must find no drift.
"""

import contextlib
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tracker import cohorts, figures, formats, places, progress
from tracker.errors import DomainError
from tracker.models import Claim, ClaimStatus, Declaration, SettingKind
from tracker.programmes import set_allocation, set_target

TODAY = date.today()  # noqa: DTZ011  (declarations are dated by the calendar)
# Instants either side of the clocks changing, and late on a Sunday: the weeks they fall in
# are where a wrong time zone rule would show.
INSTANTS = [
    datetime(2024, 3, 31, 0, 59, tzinfo=UTC),
    datetime(2024, 3, 31, 1, 0, tzinfo=UTC),
    datetime(2024, 10, 27, 0, 59, tzinfo=UTC),
    datetime(2024, 10, 27, 1, 0, tzinfo=UTC),
    datetime(2024, 6, 9, 23, 30, tzinfo=UTC),  # Monday 00:30 in London
    datetime(2024, 12, 1, 23, 30, tzinfo=UTC),  # still Sunday in London
    datetime(2025, 3, 30, 1, 0, tzinfo=UTC),
]

index = st.integers(min_value=0, max_value=7)
operations = st.one_of(
    st.tuples(st.just("claim"), index, index),
    st.tuples(st.just("claim_many"), index, st.integers(min_value=2, max_value=3)),
    st.tuples(st.just("withdraw"), index, st.sampled_from(["Moved job", "Ill health"])),
    st.tuples(st.just("defer"), index, st.just("Maternity leave")),
    st.tuples(st.just("move"), index, index),
    st.tuples(st.just("declare"), index, st.just(None)),
    st.tuples(st.just("void"), index, st.just(None)),
    st.tuples(st.just("cohort_places"), index, st.integers(min_value=0, max_value=4)),
    st.tuples(st.just("allocation"), index, st.integers(min_value=0, max_value=6)),
    st.tuples(st.just("target"), st.just(0), st.integers(min_value=1, max_value=8)),
    st.tuples(st.just("funded_on"), index, st.sampled_from(INSTANTS)),
    st.tuples(st.just("move_area"), index, st.sampled_from(["201", "202", "330"])),
    st.tuples(st.just("delete_waiting"), index, st.just(None)),
)


class World:
    """A programme with two providers, three cohorts and settings of two kinds in two areas."""

    def __init__(self, session):
        self.session = session
        self.prog = factories.programme(session)
        factories.set_programme_places(session, self.prog, 6)
        self.providers = [factories.create_provider(session) for _ in range(2)]
        self.cohorts = [
            factories.create_cohort(
                session,
                provider=self.providers[i % 2],
                places=3,
                allocation=4 if i < 2 else None,
                starts_on=TODAY - timedelta(days=10),
            )
            for i in range(3)
        ]
        self.settings = [
            factories.create_setting(session, kind=kind, la_code=la)
            for kind, la in [
                (SettingKind.GROUP_BASED, "201"),
                (SettingKind.CHILDMINDER, "201"),
                (SettingKind.CHILDMINDER, "330"),
            ]
        ]
        self.people = 0

    def pick(self, items, i):
        return items[i % len(items)]

    def claims(self):
        return list(self.session.scalars(sa.select(Claim).order_by(Claim.id)))

    def request(self, setting):
        self.people += 1
        return places.ClaimRequest(
            f"Person {self.people}", f"person{self.people}@example.com", None, setting, None
        )

    def apply(self, op, a, b):
        session = self.session
        claims = self.claims()
        claim = self.pick(claims, a) if claims else None
        if op == "claim":
            places.claim_places(
                session,
                self.pick(self.cohorts, a),
                [self.request(self.pick(self.settings, b))],
            )
        elif op == "claim_many":
            cohort = self.pick(self.cohorts, a)
            places.claim_places(
                session, cohort, [self.request(self.pick(self.settings, a + i)) for i in range(b)]
            )
        elif claim is None:
            return
        elif op == "withdraw":
            places.withdraw(session, claim, reason=b)
        elif op == "defer":
            places.defer(session, claim, reason=b)
        elif op == "move":
            places.move_claim(session, claim, self.pick(self.cohorts, b))
        elif op == "declare":
            made = session.scalar(
                sa.select(sa.func.count()).where(
                    Declaration.claim_id == claim.id, Declaration.voided_dt.is_(None)
                )
            )
            milestones = self.prog.milestones
            if made < len(milestones):
                progress.record_declaration(
                    session,
                    claim,
                    milestone_code=milestones[made].code,
                    declared_on=TODAY,
                    today=TODAY,
                )
        elif op == "void":
            latest = session.scalar(
                sa.select(Declaration)
                .where(Declaration.claim_id == claim.id, Declaration.voided_dt.is_(None))
                .order_by(Declaration.id.desc())
            )
            if latest is not None:
                progress.void_declaration(session, latest, reason="Made in error")
        elif op == "cohort_places":
            cohort = self.pick(self.cohorts, a)
            with session.begin_nested():
                cohorts.update_cohort(
                    session,
                    cohort,
                    name=cohort.name,
                    starts_on=cohort.starts_on,
                    ends_on=cohort.ends_on,
                    places=b,
                    status=cohort.status,
                )
            places.promote_waiting(session, self.prog)
        elif op == "allocation":
            with session.begin_nested():
                set_allocation(session, self.pick(self.providers, a), self.prog, places=b)
            places.promote_waiting(session, self.prog)
        elif op == "target":
            with session.begin_nested():
                set_target(session, self.prog, places=b, effective_on=TODAY, note="test")
            places.promote_waiting(session, self.prog)
        elif op == "funded_on" and claim.funded_dt is not None:
            claim.funded_dt = b
            session.flush()
        elif op == "move_area":
            # Set-based SQL, as bulk tools write: no ORM object is involved.
            la = factories.local_authority(session, b)
            session.execute(
                sa.update(Claim)
                .where(Claim.id == claim.id)
                .values(local_authority_id=la.id)
                .execution_options(synchronize_session=False)
            )
        elif op == "delete_waiting" and claim.status == ClaimStatus.WAITING:
            session.execute(
                sa.delete(Claim)
                .where(Claim.id == claim.id)
                .execution_options(synchronize_session=False)
            )
            session.expire_all()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, min_size=1, max_size=12))
def test_kept_counts_equal_the_claims_after_every_step(app, session, steps):
    try:
        world = World(session)
        for op, a, b in steps:
            # A refused operation changes nothing, which is checked all the same.
            with contextlib.suppress(DomainError):
                world.apply(op, a, b)
            assert figures.check(session) == [], (op, a, b)
    finally:
        session.rollback()


def test_check_reports_a_kept_count_that_differs(session):
    cohort = factories.create_cohort(session, places=1)
    claim_one(session, cohort)
    assert figures.check(session) == []

    session.execute(sa.text("UPDATE cohort_claim_counts SET n = n + 1"))

    drift = figures.check(session)
    assert [(d.table, d.kept, d.recounted) for d in drift] == [("cohort_claim_counts", 2, 1)]


def test_rebuild_repairs_the_kept_counts(session):
    cohort = factories.create_cohort(session, places=1)
    claim_one(session, cohort)
    session.execute(sa.text("DELETE FROM area_claim_counts"))
    assert figures.check(session) != []

    figures.rebuild(session)

    assert figures.check(session) == []


def claim_one(session, cohort):
    setting = factories.create_setting(session)
    places.claim_places(session, cohort, [places.ClaimRequest("A", "a@example.com", None, setting)])


@pytest.mark.parametrize("instant", INSTANTS)
def test_the_week_kept_is_the_london_week(session, instant):
    cohort = factories.create_cohort(session, places=1)
    claim_one(session, cohort)
    session.execute(sa.update(Claim).values(funded_dt=instant))

    weeks = figures.weekly_funded(session)

    london_day = instant.astimezone(formats.LONDON).date()
    assert weeks == {cohort.programme_id: {figures.week_of(london_day): 1}}
