"""What a provider's system does with only the OpenAPI document."""

from datetime import date, timedelta

TODAY = date.today()  # noqa: DTZ011


def test_a_provider_fills_a_cohort_declares_progress_and_pulls_changes(client, provider, school):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/cohorts", "/api/v1/enrolments"} <= set(spec["paths"])

    def post(path, body, key):
        return client.post(path, json=body, headers={**provider.headers, "Idempotency-Key": key})

    cohort = post(
        "/api/v1/cohorts",
        {
            "programme": "npq-senco",
            "name": "Autumn",
            "starts_on": (TODAY - timedelta(days=5)).isoformat(),
            "ends_on": (TODAY + timedelta(days=540)).isoformat(),
            "places": 2,
        },
        "cohort-autumn",
    ).get_json()
    claims = [
        post(
            f"/api/v1/cohorts/{cohort['id']}/claims",
            {"full_name": f"P {n}", "email": f"p{n}@example.com", "setting": school.urn},
            f"claim-{n}",
        ).get_json()
        for n in range(3)
    ]
    assert [c["status"] for c in claims] == ["funded", "funded", "waiting"]
    since = claims[-1]["updated_at"]

    declared = post(
        f"/api/v1/enrolments/{claims[0]['id']}/declarations",
        {"milestone": "started", "declared_on": TODAY.isoformat()},
        "declare-0-started",
    )
    changes = client.get(
        "/api/v1/enrolments", query_string={"updated_since": since}, headers=provider.headers
    ).get_json()

    assert declared.status_code == 201
    assert claims[0]["id"] in [e["id"] for e in changes["data"]]
    assert claims[1]["id"] not in [e["id"] for e in changes["data"]]
