from datetime import date, timedelta

import sqlalchemy as sa

from tests import factories
from tracker.models import AuditEvent, CohortStatus
from tracker.tokens import find_token

START = date.today() + timedelta(days=30)  # noqa: DTZ011


def cohort_body(**changes):
    body = {
        "programme": "npq-senco",
        "name": "Spring",
        "starts_on": START.isoformat(),
        "ends_on": (START + timedelta(days=540)).isoformat(),
        "places": 10,
    }
    return {**body, **changes}


def test_provider_creates_a_cohort_and_reads_it_back(client, provider):
    created = client.post("/api/v1/cohorts", json=cohort_body(), headers=provider.headers)

    assert created.status_code == 201
    cohort = created.get_json()
    assert cohort["provider"] == provider.provider.ukprn
    assert cohort["status"] == "open"
    assert (cohort["funded"], cohort["waiting"]) == (0, 0)
    assert created.headers["Location"] == f"/api/v1/cohorts/{cohort['id']}"
    shown = client.get(created.headers["Location"], headers=provider.headers)
    assert shown.get_json() == cohort


def test_a_cohort_beyond_the_allocation_is_refused_naming_the_field(client, provider):
    response = client.post(
        "/api/v1/cohorts", json=cohort_body(places=101), headers=provider.headers
    )

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 422
    assert problem["errors"] == [
        {
            "field": "places",
            "reason": "A cohort cannot offer more than the allocation of 100 places",
        }
    ]


def test_schema_errors_name_each_field(client, provider):
    response = client.post(
        "/api/v1/cohorts",
        json={"programme": "npq-senco", "places": "many", "colour": "red"},
        headers=provider.headers,
    )

    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"name", "starts_on", "ends_on", "places", "colour"}


def test_a_body_that_is_not_json_is_a_bad_request(client, provider):
    response = client.post(
        "/api/v1/cohorts",
        data="{not json",
        content_type="application/json",
        headers=provider.headers,
    )

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_a_provider_sees_only_its_own_cohorts(client, session, provider, other_provider):
    own = factories.create_cohort(session, provider=provider.provider, name="Own")
    theirs = factories.create_cohort(session, provider=other_provider.provider, name="Theirs")
    session.commit()

    listed = client.get("/api/v1/cohorts", headers=provider.headers).get_json()
    assert [c["id"] for c in listed["data"]] == [own.id]
    hidden = client.get(f"/api/v1/cohorts/{theirs.id}", headers=provider.headers)
    assert hidden.status_code == 404
    patched = client.patch(
        f"/api/v1/cohorts/{theirs.id}", json={"places": 1}, headers=provider.headers
    )
    assert patched.status_code == 404


def test_dfe_sees_every_cohort_and_creates_one_for_a_named_provider(
    client, session, dfe, provider, other_provider
):
    factories.create_cohort(session, provider=provider.provider)
    factories.create_cohort(session, provider=other_provider.provider)
    session.commit()

    listed = client.get("/api/v1/cohorts", headers=dfe.headers).get_json()
    assert listed["meta"]["total"] == 2
    unnamed = client.post("/api/v1/cohorts", json=cohort_body(), headers=dfe.headers)
    assert unnamed.status_code == 422
    assert unnamed.get_json()["errors"][0]["field"] == "provider"
    named = client.post(
        "/api/v1/cohorts",
        json=cohort_body(provider=other_provider.provider.ukprn),
        headers=dfe.headers,
    )
    assert named.status_code == 201
    assert named.get_json()["provider"] == other_provider.provider.ukprn


def test_a_provider_cannot_create_a_cohort_for_another(client, provider, other_provider):
    response = client.post(
        "/api/v1/cohorts",
        json=cohort_body(provider=other_provider.provider.ukprn),
        headers=provider.headers,
    )

    assert response.status_code == 403


def test_patch_changes_only_the_fields_sent(client, session, provider):
    cohort = factories.create_cohort(session, provider=provider.provider, places=5, name="A")
    session.commit()

    response = client.patch(
        f"/api/v1/cohorts/{cohort.id}", json={"places": 7}, headers=provider.headers
    )

    assert response.status_code == 200
    assert response.get_json()["places"] == 7
    assert response.get_json()["name"] == "A"


def test_cohorts_are_paged_with_a_link_to_the_next_page(client, session, provider):
    for n in range(3):
        factories.create_cohort(session, provider=provider.provider, name=f"C{n}")
    session.commit()

    first = client.get("/api/v1/cohorts?page_size=2", headers=provider.headers).get_json()
    assert len(first["data"]) == 2
    assert first["links"]["next"].endswith("page=2")
    second = client.get(first["links"]["next"], headers=provider.headers).get_json()
    assert len(second["data"]) == 1
    assert second["links"]["next"] is None
    too_big = client.get("/api/v1/cohorts?page_size=101", headers=provider.headers)
    assert too_big.status_code == 422
    assert too_big.get_json()["errors"][0]["field"] == "page_size"


def test_changes_are_audited_as_the_tokens_user(client, session, provider):
    created = client.post("/api/v1/cohorts", json=cohort_body(), headers=provider.headers)

    event = session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "cohorts", AuditEvent.entity_id == created.get_json()["id"]
        )
    )
    token = find_token(session, provider.secret)
    assert (event.action, event.actor_id) == ("create", token.user_id)


def test_a_cancelled_cohort_cannot_be_opened_again(client, session, provider):
    cohort = factories.create_cohort(
        session, provider=provider.provider, status=CohortStatus.CANCELLED
    )
    session.commit()

    for status in ("open", "closed"):
        response = client.patch(
            f"/api/v1/cohorts/{cohort.id}", json={"status": status}, headers=provider.headers
        )
        assert response.status_code == 422
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"] == [
            {"field": "status", "reason": f"A cancelled cohort cannot be made {status}"}
        ]
    session.expire_all()
    assert cohort.status == CohortStatus.CANCELLED
    renamed = client.patch(
        f"/api/v1/cohorts/{cohort.id}", json={"status": "cancelled"}, headers=provider.headers
    )
    assert renamed.status_code == 200


def test_the_next_page_link_is_a_path_whatever_the_host_header(client, session, provider):
    for n in range(3):
        factories.create_cohort(session, provider=provider.provider, name=f"C{n}")
    session.commit()

    answer = client.get(
        "/api/v1/cohorts?page_size=2",
        headers={**provider.headers, "Host": "evil.example"},
    )

    assert answer.get_json()["links"]["next"] == "/api/v1/cohorts?page_size=2&page=2"
    assert answer.headers["Cache-Control"] == "no-store"
