"""The ledger's rules hold however a claim arrives: where a place counts, and resumption."""

from datetime import timedelta

import sqlalchemy as sa

from tests import factories
from tracker.models import Claim, Region, RegionQuota
from tracker.places import london_today

EP = "ep-doctorate"


def ep_cohort(session, caller, *, places=10):
    cohort = factories.create_cohort(
        session, prog=factories.programme(session, EP), provider=caller.provider, places=places
    )
    session.commit()
    return cohort


def claim(client, caller, cohort, n, **body):
    return client.post(
        f"/api/v1/cohorts/{cohort.id}/claims",
        json={"full_name": f"Trainee {n}", "email": f"trainee{n}@example.com", **body},
        headers=caller.headers,
    )


def test_an_ep_claim_without_a_placement_area_is_refused_naming_the_field(
    client, session, provider
):
    cohort = ep_cohort(session, provider)

    answer = claim(client, provider, cohort, 1)

    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == "local_authority"
    assert session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 0


def test_an_ep_claim_naming_a_school_is_refused(client, session, provider, school):
    cohort = ep_cohort(session, provider)

    answer = claim(client, provider, cohort, 1, setting=school.urn, local_authority="330")

    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == "setting"


def test_the_london_and_south_east_quota_holds_through_the_api(client, session, provider):
    prog = factories.programme(session, EP)
    regions = session.scalars(
        sa.select(Region).where(Region.name.in_(("London", "South East")))
    ).all()
    session.add(RegionQuota(programme=prog, name="London and SE", places=1, regions=regions))
    cohort = ep_cohort(session, provider)

    london = [claim(client, provider, cohort, n, local_authority="202") for n in (1, 2)]
    elsewhere = claim(client, provider, cohort, 3, local_authority="330")

    assert [a.get_json()["status"] for a in london] == ["funded", "waiting"]
    assert london[1].get_json()["waiting_reason"] == "region-quota"
    assert elsewhere.get_json()["status"] == "funded"


def test_defer_after_starting_then_resume_keeps_one_claim_and_place(client, session, provider):
    cohort = factories.create_cohort(
        session,
        prog=factories.programme(session, EP),
        provider=provider.provider,
        starts_on=london_today() - timedelta(days=40),
    )
    session.commit()
    made = claim(client, provider, cohort, 1, local_authority="330").get_json()
    url = f"/api/v1/enrolments/{made['id']}"
    started = client.post(
        f"{url}/declarations",
        json={"milestone": "year-1", "declared_on": str(london_today() - timedelta(days=30))},
        headers=provider.headers,
    )
    assert started.status_code == 201

    deferred = client.post(f"{url}/deferral", json={"reason": "Illness"}, headers=provider.headers)
    again = claim(client, provider, cohort, 1, local_authority="330")
    resumed = client.post(f"{url}/resumption", json={}, headers=provider.headers)

    assert deferred.get_json()["status"] == "deferred"
    assert again.status_code == 422
    assert "resume that claim" in again.get_json()["detail"]
    assert resumed.status_code == 200
    body = resumed.get_json()
    assert body["id"] == made["id"] and body["status"] == "started"
    assert [d["milestone"] for d in body["declarations"]] == ["year-1"]
    held = session.scalar(
        sa.select(sa.func.count()).where(
            Claim.holds_place.is_(True), Claim.programme_id == prog_id(session)
        )
    )
    assert held == 1


def test_resuming_in_a_cohort_the_caller_cannot_see_names_the_field(
    client, session, provider, other_provider
):
    cohort = ep_cohort(session, provider)
    theirs = factories.create_cohort(
        session, prog=factories.programme(session, EP), provider=other_provider.provider
    )
    session.commit()
    made = claim(client, provider, cohort, 1, local_authority="330").get_json()
    url = f"/api/v1/enrolments/{made['id']}"
    client.post(f"{url}/deferral", json={"reason": "Not ready"}, headers=provider.headers)

    answer = client.post(f"{url}/resumption", json={"cohort": theirs.id}, headers=provider.headers)

    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == "cohort"


def prog_id(session):
    return factories.programme(session, EP).id
