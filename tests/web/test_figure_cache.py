"""The dashboards' kept figures: kept while no place changes, worked out again when one does."""

import re

import pytest
from flask_caching.backends import SimpleCache

from tests import factories
from tests.browser import page, sign_in
from tests.web.conftest import PASSWORD
from tests.web.test_dashboard import build, claim, counting_statements, funded_shown
from tracker.extensions import cache
from tracker.models import AuditEvent, SettingKind


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

    assert everything.select("[data-programme=ey-senco-l3]")
    assert not only_npq.select("[data-programme=ey-senco-l3]")
