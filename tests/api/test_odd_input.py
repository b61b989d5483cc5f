"""Bodies and addresses no record can hold: a problem detail with a 4xx, never a 500."""

import json

import pytest

from tests import factories
from tests.api.test_cohorts import cohort_body
from tracker.api.problems import MAX_ERRORS
from tracker.input_guard import JSON_MAX_BYTES, JSON_MAX_DEPTH

DEEP = b"[" * 60_000 + b"]" * 60_000


def _problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status
    return problem


@pytest.mark.parametrize("key", [None, "retry-1"])
def test_json_nested_60000_deep_is_a_bad_request(client, session, provider, key):
    cohort = factories.create_cohort(session, provider=provider.provider)
    session.commit()
    headers = {**provider.headers, "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key

    created = client.post("/api/v1/cohorts", data=DEEP, headers=headers)
    changed = client.patch(f"/api/v1/cohorts/{cohort.id}", data=DEEP, headers=headers)

    for response in (created, changed):
        assert f"more than {JSON_MAX_DEPTH} levels" in _problem(response, 400)["detail"]


def test_json_nested_just_too_deep_is_refused_and_just_deep_enough_is_read(client, provider):
    def nested(levels):
        body = cohort_body()
        for _ in range(levels - 1):
            body = {"name": body}
        return body

    too_deep = client.post(
        "/api/v1/cohorts", json=nested(JSON_MAX_DEPTH + 1), headers=provider.headers
    )
    deep = client.post("/api/v1/cohorts", json=nested(JSON_MAX_DEPTH), headers=provider.headers)

    _problem(too_deep, 400)
    # Read, and refused by the schema for what it is: a name that is not a string.
    assert {"field": "name", "reason": "Not a valid string."} in _problem(deep, 422)["errors"]


def test_a_body_over_the_limit_is_too_large(client, provider):
    body = json.dumps({**cohort_body(), "name": "x" * JSON_MAX_BYTES})

    response = client.post(
        "/api/v1/cohorts",
        data=body,
        headers={**provider.headers, "Content-Type": "application/json"},
    )

    assert "send less at a time" in _problem(response, 413)["detail"]


def test_a_body_of_many_unknown_keys_gets_a_short_answer(client, provider):
    body = {**cohort_body(), **{f"unknown-{n:06d}-" + "k" * 300: 1 for n in range(2500)}}
    assert len(json.dumps(body)) < JSON_MAX_BYTES

    response = client.post("/api/v1/cohorts", json=body, headers=provider.headers)

    problem = _problem(response, 422)
    assert len(problem["errors"]) == MAX_ERRORS
    assert "2500 faults" in problem["detail"]
    assert all(len(error["field"]) <= 200 for error in problem["errors"])
    assert len(response.get_data()) < 10_000


@pytest.mark.parametrize("cohort_id", ["2147483648", "99999999999999999999999"])
def test_an_id_out_of_range_is_not_found(client, provider, cohort_id):
    for method in (client.get, client.patch):
        response = method(f"/api/v1/cohorts/{cohort_id}", json={}, headers=provider.headers)
        _problem(response, 404)
    response = client.get(f"/api/v1/enrolments/{cohort_id}", headers=provider.headers)
    _problem(response, 404)


def test_a_nul_in_a_query_is_refused_naming_the_field(client, provider):
    response = client.get("/api/v1/settings?name=a%00b", headers=provider.headers)

    assert _problem(response, 422)["errors"][0]["field"] == "name"


LISTS = ["/api/v1/cohorts", "/api/v1/enrolments", "/api/v1/settings"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=two", "page"),
        ("page=1.5", "page"),
        ("page=" + "9" * 5000, "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=", "page_size"),
        ("page=1&page_size=%00", "page_size"),
    ],
)
def test_a_page_no_list_has_is_refused_naming_the_field(client, provider, path, query, field):
    response = client.get(f"{path}?{query}", headers=provider.headers)

    assert _problem(response, 422)["errors"][0]["field"] == field


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("page", ["2", "10001", "2147483648", "9" * 40])
def test_a_page_past_the_end_is_empty(client, session, provider, path, page):
    factories.create_cohort(session, provider=provider.provider)
    factories.create_setting(session)
    session.commit()

    response = client.get(path, query_string={"page": page}, headers=provider.headers)

    assert response.status_code == 200
    assert response.get_json()["data"] == []
    assert response.get_json()["links"]["next"] is None
    assert response.get_json()["meta"]["page"] == int(page)
