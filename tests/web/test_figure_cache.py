"""The dashboards' kept figures: kept while no place changes, worked out again when one does."""

import hashlib
import re

import pytest
from flask_caching.backends import SimpleCache

from tests import factories
from tests.browser import page, sign_in, text
from tests.web.conftest import PASSWORD
from tests.web.test_dashboard import build, claim, counting_statements, funded_shown
from tracker.extensions import cache
from tracker.models import AuditEvent, SettingKind
from tracker.web import figure_cache


@pytest.fixture
def kept(app, monkeypatch):
    """A cache that keeps, in place of the tests' NullCache, for this test only."""
    store = SimpleCache(default_timeout=60)
    monkeypatch.setitem(app.extensions["cache"], cache, store)
    return store


def reads_counts(statements) -> bool:
    return any(re.search(r"\b(cohort|area|weekly|setting)_claim_counts\b", s) for s in statements)


@pytest.fixture
def dfe_client(client, dfe_user):
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    return client


@pytest.mark.parametrize("url", ["/dashboard", "/dashboard/la/888"])
def test_figures_are_kept_until_a_place_changes(kept, dfe_client, dfe_user, session, url):
    build(session, per_cohort=3, la_codes=("888",))
    first = funded_shown(dfe_client, url)

    with counting_statements() as again:
        assert funded_shown(dfe_client, url) == first
    assert not reads_counts(again)

    # A sign-in writes an audit row but moves no place: still kept.
    session.add(AuditEvent(actor=dfe_user.email, action="update", entity_type="user", entity_id=1))
    session.commit()
    with counting_statements() as after_sign_in:
        assert funded_shown(dfe_client, url) == first
    assert not reads_counts(after_sign_in)

    # A claim moves the figures' version: the next view works them out again.
    npq = factories.programme(session, "npq-senco")
    cohort = factories.create_cohort(session, prog=npq, places=5)
    claim(session, cohort, la_code="888", kind=SettingKind.SCHOOL)
    session.commit()
    with counting_statements() as after_claim:
        assert funded_shown(dfe_client, url) == first + 1
    assert reads_counts(after_claim)


def test_different_filters_are_kept_apart(kept, dfe_client, session):
    build(session, per_cohort=2)
    session.commit()

    everything = page(dfe_client.get("/dashboard"))
    only_npq = page(dfe_client.get("/dashboard?programme=npq-senco"))

    assert everything.select("[data-headline=ey-senco-l3]")
    assert not only_npq.select("[data-headline=ey-senco-l3]")


class Clock:
    """A clock the test moves by hand, in place of the cache's."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(figure_cache, "clock", clock)
    return clock


def test_while_claims_keep_coming_figures_are_worked_out_at_most_so_often(
    kept, clock, app, monkeypatch, dfe_client, session
):
    monkeypatch.setitem(app.config, "FIGURES_MAX_AGE_SECONDS", 30)
    build(session, per_cohort=3)
    first = funded_shown(dfe_client)
    said = page(dfe_client.get("/dashboard")).select_one("[data-worked-out]")
    assert "a change made since shows within 30 seconds" in text(said)

    npq = factories.programme(session, "npq-senco")
    cohort = factories.create_cohort(session, prog=npq, places=5)
    claim(session, cohort, kind=SettingKind.SCHOOL)
    session.commit()

    clock.now += 29
    assert funded_shown(dfe_client) == first
    clock.now += 2
    assert funded_shown(dfe_client) == first + 1


def test_one_request_works_the_figures_out_while_the_others_show_the_kept_ones(
    kept, clock, app, session
):
    factories.programme(session, "npq-senco")
    session.commit()
    made = []

    def render(now: float) -> str:
        made.append(now)
        return f"figures {len(made)}"

    with app.test_request_context():
        assert figure_cache.kept_part(("page",), render) == "figures 1"
        assert figure_cache.kept_part(("page",), render) == "figures 1"
        assert figure_cache.kept_part(("other page",), render) == "figures 2"

        npq = factories.programme(session, "npq-senco")
        npq.ledger_seq += 1
        session.commit()
        # Another worker has started working the new figures out: the kept ones show.
        name = hashlib.sha256(repr(("page",)).encode()).hexdigest()
        assert kept.add(f"{name}:working", True)
        assert figure_cache.kept_part(("page",), render) == "figures 1"
        # Once it has finished (or given up), the next request works them out.
        kept.delete(f"{name}:working")
        assert figure_cache.kept_part(("page",), render) == "figures 3"
        assert figure_cache.kept_part(("page",), render) == "figures 3"
        assert len(made) == 3
