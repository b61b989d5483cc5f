from datetime import UTC, date, datetime, timedelta

from tests import factories
from tracker.places import london_today


def today() -> date:
    """Today in London, asked for when used (a run may cross midnight)."""
    return london_today()


def claim_body(n: int, **changes):
    return {"full_name": f"Person {n}", "email": f"person{n}@example.com", "setting": "100001"} | (
        changes
    )


def make_cohort(session, caller, *, places=10, started=True):
    cohort = factories.create_cohort(
        session,
        prog=factories.programme(session, "npq-senco"),
        provider=caller.provider,
        places=places,
        starts_on=today() - timedelta(days=30) if started else None,
    )
    session.commit()
    return cohort


def claim(client, caller, cohort, n, **changes):
    return client.post(
        f"/api/v1/cohorts/{cohort.id}/claims", json=claim_body(n, **changes), headers=caller.headers
    )


def test_claims_are_funded_until_the_cohort_is_full_then_wait_in_order(
    client, session, provider, school
):
    cohort = make_cohort(session, provider, places=2)

    answers = [claim(client, provider, cohort, n) for n in range(4)]

    assert [a.status_code for a in answers] == [201] * 4
    bodies = [a.get_json() for a in answers]
    assert [b["status"] for b in bodies] == ["funded", "funded", "waiting", "waiting"]
    assert [b["waiting_position"] for b in bodies] == [None, None, 1, 2]
    assert bodies[2]["waiting_reason"] == "cohort"
    assert bodies[0]["participant"]["email"] == "person0@example.com"
    assert bodies[0]["setting"] == "100001"
    assert answers[0].headers["Location"] == f"/api/v1/enrolments/{bodies[0]['id']}"
    shown = client.get(f"/api/v1/cohorts/{cohort.id}", headers=provider.headers).get_json()
    assert (shown["funded"], shown["waiting"]) == (2, 2)


def test_a_claim_refused_by_a_rule_names_the_field(client, session, provider, school):
    cohort = make_cohort(session, provider)

    no_setting = claim(client, provider, cohort, 1, setting="999999")
    bad_trn = claim(client, provider, cohort, 2, trn="12")
    claim(client, provider, cohort, 3)
    twice = claim(client, provider, cohort, 3)

    assert no_setting.status_code == 422
    assert no_setting.get_json()["errors"][0]["field"] == "setting"
    assert bad_trn.get_json()["errors"] == [
        {"field": "trn", "reason": "Enter a teacher reference number (TRN) of 7 digits"}
    ]
    assert twice.status_code == 422
    assert twice.get_json()["errors"][0]["field"] == "email"
    assert "already has a funded claim" in twice.get_json()["detail"]


def test_a_provider_cannot_claim_in_another_providers_cohort(
    client, session, provider, other_provider, school
):
    cohort = make_cohort(session, other_provider)

    assert claim(client, provider, cohort, 1).status_code == 404


def test_declarations_in_order_move_the_enrolment_through_training(
    client, session, provider, school
):
    cohort = make_cohort(session, provider)
    enrolment = claim(client, provider, cohort, 1).get_json()
    url = f"/api/v1/enrolments/{enrolment['id']}/declarations"

    started = client.post(
        url,
        json={"milestone": "started", "declared_on": today().isoformat()},
        headers=provider.headers,
    )
    again = client.post(
        url,
        json={"milestone": "started", "declared_on": today().isoformat()},
        headers=provider.headers,
    )
    skipped = client.post(
        url,
        json={"milestone": "completed", "declared_on": today().isoformat()},
        headers=provider.headers,
    )

    assert started.status_code == 201
    assert started.get_json()["enrolment_status"] == "started"
    assert again.status_code == 422
    assert again.get_json()["errors"][0]["field"] == "milestone"
    assert "already been declared" in again.get_json()["errors"][0]["reason"]
    assert skipped.status_code == 422
    assert "must be declared before" in skipped.get_json()["errors"][0]["reason"]
    shown = client.get(f"/api/v1/enrolments/{enrolment['id']}", headers=provider.headers)
    assert [d["milestone"] for d in shown.get_json()["declarations"]] == ["started"]


def test_withdrawal_gives_the_place_to_the_first_waiting_claim(client, session, provider, school):
    cohort = make_cohort(session, provider, places=1)
    first = claim(client, provider, cohort, 1).get_json()
    second = claim(client, provider, cohort, 2).get_json()

    withdrawn = client.post(
        f"/api/v1/enrolments/{first['id']}/withdrawal",
        json={"reason": "Left the school"},
        headers=provider.headers,
    )
    blank = client.post(
        f"/api/v1/enrolments/{second['id']}/withdrawal",
        json={"reason": ""},
        headers=provider.headers,
    )

    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["status"] == "withdrawn"
    assert withdrawn.get_json()["end_reason"] == "Left the school"
    assert blank.status_code == 422
    assert blank.get_json()["errors"][0]["field"] == "reason"
    promoted = client.get(f"/api/v1/enrolments/{second['id']}", headers=provider.headers)
    assert promoted.get_json()["status"] == "funded"


def test_enrolments_changed_since_a_time_include_declarations(client, session, provider, school):
    cohort = make_cohort(session, provider, places=5)
    ids = [claim(client, provider, cohort, n).get_json()["id"] for n in range(3)]
    mark = datetime.now(UTC)
    client.post(
        f"/api/v1/enrolments/{ids[1]}/declarations",
        json={"milestone": "started", "declared_on": today().isoformat()},
        headers=provider.headers,
    )

    everything = client.get("/api/v1/enrolments", headers=provider.headers).get_json()
    changed = client.get(
        "/api/v1/enrolments",
        query_string={"updated_since": mark.isoformat()},
        headers=provider.headers,
    ).get_json()

    assert [e["id"] for e in everything["data"]] == [ids[0], ids[2], ids[1]]
    assert [e["id"] for e in changed["data"]] == [ids[1]]


def test_enrolments_filter_by_cohort_and_status_and_page(client, session, provider, school):
    cohort = make_cohort(session, provider, places=1)
    for n in range(3):
        claim(client, provider, cohort, n)

    waiting = client.get(
        "/api/v1/enrolments",
        query_string={"cohort": cohort.id, "status": "waiting", "page_size": 1},
        headers=provider.headers,
    ).get_json()

    assert waiting["meta"]["total"] == 2
    assert [e["status"] for e in waiting["data"]] == ["waiting"]
    assert "page=2" in waiting["links"]["next"]
    bad = client.get(
        "/api/v1/enrolments", query_string={"updated_since": "yesterday"}, headers=provider.headers
    )
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["field"] == "updated_since"


def test_a_provider_sees_only_its_own_enrolments(client, session, provider, other_provider, school):
    mine = make_cohort(session, provider)
    theirs = make_cohort(session, other_provider)
    own = claim(client, provider, mine, 1).get_json()
    other = claim(client, other_provider, theirs, 2).get_json()

    listed = client.get("/api/v1/enrolments", headers=provider.headers).get_json()
    hidden = client.get(f"/api/v1/enrolments/{other['id']}", headers=provider.headers)
    declared = client.post(
        f"/api/v1/enrolments/{other['id']}/withdrawal",
        json={"reason": "x"},
        headers=provider.headers,
    )

    assert [e["id"] for e in listed["data"]] == [own["id"]]
    assert hidden.status_code == 404
    assert declared.status_code == 404


def test_an_unknown_query_parameter_is_refused_naming_it(client, provider):
    response = client.get(
        "/api/v1/enrolments", query_string={"update_since": "2025-01-01"}, headers=provider.headers
    )

    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "update_since", "reason": "Unknown field."}]
