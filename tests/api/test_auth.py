import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from tests import factories
from tests.api.conftest import make_caller
from tracker.accounts import create_user
from tracker.errors import DomainError
from tracker.models import ApiToken, AuditEvent, Role
from tracker.tokens import create_token, find_token, hash_token, revoke_token


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer swt_not-a-real-token"],
)
def test_a_request_without_a_valid_token_is_unauthorised(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/api/v1/programmes", headers=headers)

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_tokens_are_stored_hashed_and_note_their_use(client, session, provider):
    stored = session.scalar(sa.select(ApiToken))

    assert stored.token_hash == hash_token(provider.secret)
    assert provider.secret not in stored.token_hash
    assert stored.prefix == provider.secret[:12]
    client.get("/api/v1/programmes", headers=provider.headers)
    session.refresh(stored)
    assert stored.last_used_dt is not None


def test_a_revoked_token_is_refused_at_once(client, session, dfe, provider):
    token = find_token(session, provider.secret[:12])
    dfe_user = session.scalar(sa.select(ApiToken).where(ApiToken.id != token.id)).user

    revoke_token(session, token, by=dfe_user)
    session.commit()

    assert client.get("/api/v1/programmes", headers=provider.headers).status_code == 401
    assert session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "api_tokens", AuditEvent.action == "update"
        )
    ).changes["revoked_dt"][1]


def test_only_dfe_revokes_tokens(session, provider, other_provider):
    token = find_token(session, provider.secret)
    other_user = find_token(session, other_provider.secret).user

    with pytest.raises(DomainError, match="Only DfE"):
        revoke_token(session, token, by=other_user)


def test_tokens_are_only_for_provider_and_dfe_accounts(session):
    setting = factories.create_setting(session)
    user = create_user(
        session, email="setting@example.com", role=Role.SETTING, organisation=setting.urn
    )

    with pytest.raises(DomainError, match="provider and DfE"):
        create_token(session, user)


def test_a_deactivated_accounts_token_stops_working(client, session, provider):
    token = find_token(session, provider.secret)
    token.user.is_active = False
    session.commit()

    assert client.get("/api/v1/programmes", headers=provider.headers).status_code == 401


def test_uptake_is_for_dfe_only(client, provider, dfe):
    assert client.get("/api/v1/uptake", headers=provider.headers).status_code == 403
    response = client.get("/api/v1/uptake", headers=dfe.headers)
    assert response.status_code == 200
    assert {row["programme"] for row in response.get_json()["data"]} == {
        "npq-senco",
        "ey-senco-l3",
        "ep-doctorate",
    }


def test_requests_beyond_the_rate_limit_get_429_with_retry_after(app, client, session):
    caller = make_caller(session, Role.DFE)
    other = make_caller(session, Role.DFE)
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        answers = [client.get("/api/v1/programmes", headers=caller.headers) for _ in range(4)]
        others = client.get("/api/v1/programmes", headers=other.headers)
    finally:
        app.config["API_RATE_LIMIT"] = "300 per minute"

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].mimetype == "application/problem+json"
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert others.status_code == 200  # counted per token


def test_create_token_command_prints_a_working_token(client, runner, session):
    create_user(session, email="lead@example.com", role=Role.DFE)
    session.commit()

    result = runner.invoke(args=["tracker", "create-token", "--email", "Lead@example.com"])

    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/uptake", headers=headers).status_code == 200

    revoked = runner.invoke(args=["tracker", "revoke-token", secret[:12]])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/uptake", headers=headers).status_code == 401
    again = runner.invoke(args=["tracker", "revoke-token", secret[:12]])
    assert again.exit_code != 0
    assert "already revoked" in again.output


def test_create_token_command_refuses_an_unknown_email(runner):
    result = runner.invoke(args=["tracker", "create-token", "--email", "nobody@example.com"])

    assert result.exit_code != 0
    assert "No account" in result.output


def test_the_openapi_document_and_its_page_need_no_token(client):
    document = client.get("/api/v1/openapi.json")
    page = client.get("/api/v1/docs")

    assert document.status_code == 200
    spec = document.get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/cohorts/{cohort_id}/claims" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert page.status_code == 200
    html = BeautifulSoup(page.data, "html.parser")
    headings = [" ".join(h.get_text().split()) for h in html.select("h3")]
    assert "POST /api/v1/cohorts/{cohort_id}/claims" in headings
    assert html.select_one("#schema-Enrolment caption").get_text(strip=True) == "Enrolment"
    assert not html.select("script[src^='http']")  # the pages' CSP allows no other origin


def test_an_unexpected_error_is_a_problem_without_its_details(
    client, session, monkeypatch, provider
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("tracker.api.views.cohorts.create_cohort", broken)

    response = client.post(
        "/api/v1/cohorts",
        json={
            "programme": "npq-senco",
            "name": "A",
            "starts_on": "2030-01-01",
            "ends_on": "2031-01-01",
            "places": 1,
        },
        headers=provider.headers,
    )

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "a bug" not in response.get_data(as_text=True)


def test_every_spelling_of_one_token_counts_against_the_one_limit(app, client, session):
    caller = make_caller(session, Role.DFE)
    spellings = [
        f"Bearer {caller.secret}",
        f"bearer {caller.secret}",
        f"BEARER  {caller.secret} ",
        f" Bearer {caller.secret}",
    ]
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        answers = [
            client.get("/api/v1/programmes", headers={"Authorization": spelling})
            for spelling in spellings
        ]
    finally:
        app.config["API_RATE_LIMIT"] = "300 per minute"

    assert [a.status_code for a in answers] == [200, 200, 200, 429]


def test_unknown_tokens_are_counted_per_address(app, client, session):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        answers = [
            client.get("/api/v1/programmes", headers={"Authorization": f"Bearer guess-{n}"})
            for n in range(4)
        ]
        elsewhere = client.get(
            "/api/v1/programmes",
            headers={"Authorization": "Bearer guess-5"},
            environ_base={"REMOTE_ADDR": "192.0.2.9"},
        )
    finally:
        app.config["API_RATE_LIMIT"] = "300 per minute"

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert elsewhere.status_code == 401
