"""The page tests see what a request committed, and only that: a view that forgot to commit
would fail them. Each request runs in an application context and database session of its
own (``RequestByRequestClient``), as in production; here the one place pages commit
(``tracker.web.forms.save``) is made to forget it, and what the page did is gone."""

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import sign_in, sign_out, submit
from tests.web.conftest import PASSWORD, create_account
from tests.web.records import signed_in
from tracker.models import Claim, Cohort, Role
from tracker.web import forms


def forgetting_to_commit():
    """``save`` without its commit: the change is made, then dropped with the request's
    session."""


@pytest.mark.parametrize("commits", [True, False], ids=["with its commit", "without it"])
def test_a_settings_claim_is_seen_only_if_the_view_commits_it(
    client, session, monkeypatch, commits
):
    setting = factories.create_setting(session, urn="EY100001")
    signed_in(client, session, Role.SETTING, organisation=setting.urn)
    cohort = factories.create_cohort(session)
    session.commit()
    if not commits:
        monkeypatch.setattr(forms, "save", forgetting_to_commit)

    response = submit(
        client,
        f"/setting/cohorts/{cohort.id}/claim",
        {"full_name": "Sam Staff", "email": "sam@acorns.example", "trn": ""},
    )

    assert response.status_code == 302  # the view thinks it has saved the claim
    claims = session.scalar(sa.select(sa.func.count(Claim.id)))
    assert claims == (1 if commits else 0)


@pytest.mark.parametrize("commits", [True, False], ids=["with its commit", "without it"])
def test_a_providers_new_cohort_is_seen_only_if_the_view_commits_it(
    client, session, monkeypatch, commits
):
    provider = factories.create_provider(session)
    programme = factories.programme(session, "npq-senco")
    factories.create_allocation(session, provider=provider, prog=programme, places=20)
    signed_in(client, session, Role.PROVIDER, organisation=provider.ukprn)
    session.commit()
    if not commits:
        monkeypatch.setattr(forms, "save", forgetting_to_commit)

    response = submit(
        client,
        "/provider/cohorts/new",
        {
            "programme": "npq-senco",
            "name": "Autumn 2027",
            "starts_on": ["6", "9", "2027"],
            "ends_on": ["30", "6", "2028"],
            "places": "10",
        },
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    cohorts = session.scalar(sa.select(sa.func.count(Cohort.id)))
    assert cohorts == (1 if commits else 0)


@pytest.mark.parametrize("commits", [True, False], ids=["with its commit", "without it"])
def test_signing_out_ends_the_session_only_if_the_view_commits_it(
    client, session, monkeypatch, commits
):
    user = create_account(session, role=Role.PROVIDER)
    sign_in(client, user.email, PASSWORD)
    stolen = client.get_cookie("session").value
    if not commits:
        monkeypatch.setattr(forms, "save", forgetting_to_commit)

    sign_out(client)
    client.set_cookie("session", stolen)
    replayed = client.get("/provider/")

    assert replayed.status_code == (302 if commits else 200)
