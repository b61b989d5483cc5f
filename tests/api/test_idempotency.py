from datetime import date, timedelta

import sqlalchemy as sa

from tests import factories
from tracker.models import Claim, Cohort

START = date.today() + timedelta(days=30)  # noqa: DTZ011


def _cohort_body(name="Spring"):
    return {
        "programme": "npq-senco",
        "name": name,
        "starts_on": START.isoformat(),
        "ends_on": (START + timedelta(days=540)).isoformat(),
        "places": 10,
    }


def test_a_retry_with_the_same_key_gets_the_first_answer_and_changes_nothing(
    client, session, provider
):
    headers = {**provider.headers, "Idempotency-Key": "abc-123"}

    first = client.post("/api/v1/cohorts", json=_cohort_body(), headers=headers)
    retry = client.post("/api/v1/cohorts", json=_cohort_body(), headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert session.scalar(sa.select(sa.func.count()).select_from(Cohort)) == 1


def test_the_same_key_with_another_body_is_refused(client, session, provider):
    headers = {**provider.headers, "Idempotency-Key": "abc-123"}

    client.post("/api/v1/cohorts", json=_cohort_body("Spring"), headers=headers)
    other = client.post("/api/v1/cohorts", json=_cohort_body("Autumn"), headers=headers)

    assert other.status_code == 422
    assert other.mimetype == "application/problem+json"
    assert other.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert session.scalar(sa.select(sa.func.count()).select_from(Cohort)) == 1


def test_keys_belong_to_one_token(client, session, provider, dfe):
    body = _cohort_body() | {"provider": provider.provider.ukprn}

    mine = client.post(
        "/api/v1/cohorts", json=body, headers={**provider.headers, "Idempotency-Key": "k"}
    )
    theirs = client.post(
        "/api/v1/cohorts", json=body, headers={**dfe.headers, "Idempotency-Key": "k"}
    )

    assert mine.status_code == 201
    assert theirs.status_code == 422  # the cohort name is taken: a new request, not a replay
    assert theirs.get_json()["errors"][0]["field"] == "name"


def test_a_retried_claim_is_claimed_once(client, session, provider, school):
    cohort = factories.create_cohort(
        session, prog=factories.programme(session, "npq-senco"), provider=provider.provider
    )
    session.commit()
    body = {"full_name": "Ann Lee", "email": "ann@example.com", "setting": school.urn}
    headers = {**provider.headers, "Idempotency-Key": "claim-ann"}

    answers = [
        client.post(f"/api/v1/cohorts/{cohort.id}/claims", json=body, headers=headers)
        for _ in range(3)
    ]

    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 1


def test_a_refused_request_is_not_kept(client, session, provider):
    headers = {**provider.headers, "Idempotency-Key": "fix-and-retry"}

    refused = client.post("/api/v1/cohorts", json=_cohort_body() | {"places": 0}, headers=headers)
    fixed = client.post("/api/v1/cohorts", json=_cohort_body() | {"places": 0}, headers=headers)

    assert refused.status_code == fixed.status_code == 422
    corrected = client.post("/api/v1/cohorts", json=_cohort_body(), headers=headers)
    assert corrected.status_code == 201


def test_an_overlong_key_is_refused(client, provider):
    headers = {**provider.headers, "Idempotency-Key": "k" * 256}

    response = client.post("/api/v1/cohorts", json=_cohort_body(), headers=headers)

    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "Idempotency-Key"
