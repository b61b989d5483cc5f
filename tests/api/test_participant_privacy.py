"""Through the API a provider sees only the participant details it gave, or its claims hold.

The same person (one email address) may be claimed by two providers, on two programmes:
each answer carries the details its caller gave, a difference is a conflict for DfE, and
a refusal caused by another provider's claim names nothing of it.
"""

from datetime import date, timedelta

import sqlalchemy as sa

from tests import factories
from tracker.models import ConflictField, ParticipantConflict, SettingKind

TODAY = date.today()  # noqa: DTZ011


def cohort_of(session, caller, code, name):
    cohort = factories.create_cohort(
        session,
        prog=factories.programme(session, code),
        provider=caller.provider,
        starts_on=TODAY + timedelta(days=30),
        name=name,
    )
    session.commit()
    return cohort


def post_claim(client, caller, cohort, **body):
    return client.post(f"/api/v1/cohorts/{cohort.id}/claims", json=body, headers=caller.headers)


def a_enrols_pat(client, session, provider, *, trn=None):
    """Provider A enrols Pat on the EP programme; return A's enrolment as A sees it."""
    ep = cohort_of(session, provider, "ep-doctorate", "A's secret cohort")
    body = {"full_name": "Patricia Recorded-By-A", "email": "pat@example.com"}
    if trn:
        body["trn"] = trn
    answer = post_claim(client, provider, ep, local_authority="201", **body)
    assert answer.status_code == 201
    return answer.get_json()


def test_another_provider_claiming_a_known_email_is_answered_with_its_own_details(
    client, session, provider, other_provider, school
):
    mine = a_enrols_pat(client, session, provider, trn="1234567")
    npq = cohort_of(session, other_provider, "npq-senco", "B's cohort")

    answer = post_claim(
        client, other_provider, npq, full_name="Pat B", email="PAT@example.com", setting="100001"
    )

    assert answer.status_code == 201
    assert answer.get_json()["participant"] == {
        "full_name": "Pat B",
        "email": "pat@example.com",
        "trn": None,
    }
    text = answer.get_data(as_text=True)
    assert "1234567" not in text and "Recorded-By-A" not in text
    theirs = f"/api/v1/enrolments/{answer.get_json()['id']}"
    shown = client.get(theirs, headers=other_provider.headers).get_json()["participant"]
    assert shown == {"full_name": "Pat B", "email": "pat@example.com", "trn": None}
    listed = client.get("/api/v1/enrolments", headers=other_provider.headers)
    assert "1234567" not in listed.get_data(as_text=True)
    # A still sees what it gave.
    again = client.get(f"/api/v1/enrolments/{mine['id']}", headers=provider.headers).get_json()
    assert again["participant"] == mine["participant"]
    assert again["participant"]["trn"] == "1234567"
    # The different name is kept for DfE; nothing was overwritten.
    [conflict] = session.scalars(sa.select(ParticipantConflict)).all()
    assert (conflict.field, conflict.recorded, conflict.given) == (
        ConflictField.FULL_NAME,
        "Patricia Recorded-By-A",
        "Pat B",
    )


def test_a_trn_sent_by_another_provider_changes_nothing_the_first_one_sees(
    client, session, provider, other_provider, school
):
    mine = a_enrols_pat(client, session, provider)
    assert mine["participant"]["trn"] is None
    npq = cohort_of(session, other_provider, "npq-senco", "B's cohort")

    answer = post_claim(
        client,
        other_provider,
        npq,
        full_name="Patricia Recorded-By-A",
        email="pat@example.com",
        trn="7654321",
        setting="100001",
    )

    assert answer.status_code == 201
    assert answer.get_json()["participant"]["trn"] == "7654321"
    again = client.get(f"/api/v1/enrolments/{mine['id']}", headers=provider.headers).get_json()
    assert again["participant"] == mine["participant"]
    listed = client.get("/api/v1/enrolments", headers=provider.headers)
    assert "7654321" not in listed.get_data(as_text=True)
    [conflict] = session.scalars(sa.select(ParticipantConflict)).all()
    assert (conflict.field, conflict.recorded, conflict.given) == (
        ConflictField.TRN,
        None,
        "7654321",
    )
    assert conflict.claim_id == answer.get_json()["id"]


def test_a_claim_refused_for_another_providers_claim_names_nothing_of_it(
    client, session, provider, other_provider, school
):
    a_cohort = cohort_of(session, provider, "npq-senco", "A's secret cohort")
    made = post_claim(
        client,
        provider,
        a_cohort,
        full_name="Patricia Recorded-By-A",
        email="pat@example.com",
        trn="1234567",
        setting="100001",
    )
    assert made.get_json()["status"] == "funded"
    b_cohort = cohort_of(session, other_provider, "npq-senco", "B's cohort")
    factories.create_setting(session, kind=SettingKind.SCHOOL, urn="100002")
    session.commit()

    refused = post_claim(
        client,
        other_provider,
        b_cohort,
        full_name="Pat B",
        email="pat@example.com",
        setting="100002",
    )

    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "pat@example.com already has a place on" in refused.get_json()["detail"]
    a_provider = provider.provider
    for secret in (
        a_provider.name,
        a_provider.ukprn,
        "A's secret cohort",
        "Recorded-By-A",
        "1234567",
        "funded",
        "100001",
    ):
        assert secret not in body, secret
    # To the provider whose claim it is, the message still says what the claim is.
    again = post_claim(
        client,
        provider,
        cohort_of(session, provider, "npq-senco", "A's other cohort"),
        full_name="Pat",
        email="pat@example.com",
        setting="100001",
    )
    assert "already has a funded claim" in again.get_json()["detail"]


def test_a_trn_recorded_with_another_email_is_refused_without_naming_that_email(
    client, session, provider, other_provider, school
):
    a_enrols_pat(client, session, provider, trn="1234567")
    npq = cohort_of(session, other_provider, "npq-senco", "B's cohort")

    refused = post_claim(
        client,
        other_provider,
        npq,
        full_name="Someone",
        email="someone@example.com",
        trn="1234567",
        setting="100001",
    )

    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "trn"
    body = refused.get_data(as_text=True)
    assert "pat@example.com" not in body and "Recorded-By-A" not in body
