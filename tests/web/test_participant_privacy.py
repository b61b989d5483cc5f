"""On the pages an organisation sees only the participant details it gave, or its claims hold.

One person (one email address) claimed by two organisations: each page shows the claim's
own copy; a difference is kept for DfE, who resolve it on their pages; a refusal caused by
another organisation's claim names nothing of it.
"""

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import error_summary, page, sign_out, submit, text
from tests.web.provider_pages import sign_in_provider
from tests.web.records import signed_in, summary, table_rows
from tracker import places
from tracker.models import ConflictField, ParticipantConflict, Role, SettingKind

A_NAME, A_TRN = "Patricia Recorded-By-A", "1234567"


@pytest.fixture
def provider_a(session):
    return factories.create_provider(session, name="Alpha Training")


@pytest.fixture
def provider_b(session):
    return factories.create_provider(session, name="Beta Learning")


def a_enrols_pat(session, provider_a, *, code="npq-senco", trn=A_TRN):
    """Provider A's claim for Pat, in a cohort whose name no one else should learn."""
    cohort = factories.create_cohort(
        session, prog=factories.programme(session, code), provider=provider_a, name="Alpha Secret"
    )
    where = (
        {"local_authority": factories.local_authority(session, "330")}
        if code == "ep-doctorate"
        else {"setting": factories.create_setting(session, kind=SettingKind.SCHOOL)}
    )
    claim = places.claim_place(
        session, cohort, full_name=A_NAME, email="pat@example.com", trn=trn, **where
    ).claim
    session.commit()
    return claim


def b_enrols(client, session, provider_b, code, **data):
    cohort = factories.create_cohort(
        session, prog=factories.programme(session, code), provider=provider_b, name="Beta Cohort"
    )
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)
    session.commit()
    sign_in_provider(client, session, provider_b)
    return submit(client, f"/provider/cohorts/{cohort.id}/enrol", {"setting": school.urn, **data})


def test_a_provider_enrolling_a_known_email_sees_only_the_details_it_gave(
    client, session, provider_a, provider_b
):
    a_enrols_pat(session, provider_a, code="ep-doctorate")

    response = b_enrols(
        client, session, provider_b, "npq-senco", full_name="Pat Beta", email="pat@example.com"
    )

    assert response.status_code == 302
    shown = client.get(response.headers["Location"])
    body = shown.get_data(as_text=True)
    assert "Pat Beta has a funded place" in text(page(shown).select_one("[data-outcome]"))
    assert summary(shown)["TRN"] == "Not given"
    assert A_TRN not in body and "Recorded-By-A" not in body


def test_a_setting_claiming_a_known_email_sees_no_other_organisations_details(
    client, session, provider_a
):
    a_enrols_pat(session, provider_a)  # on the NPQ, at a school
    setting = factories.create_setting(session, name="Little Acorns")
    ey = factories.create_cohort(session, name="Early Years Cohort")
    signed_in(client, session, Role.SETTING, organisation=setting.urn)

    response = submit(
        client,
        f"/setting/cohorts/{ey.id}/claim",
        {"full_name": "Pat Acorns", "email": "Pat@Example.com"},
    )

    assert response.status_code == 302
    shown = client.get(response.headers["Location"])
    body = shown.get_data(as_text=True)
    assert text(page(shown).select_one("h1")) == "Pat Acorns"
    assert summary(shown)["TRN"] == "Not given"
    for secret in (A_TRN, "Recorded-By-A", "Alpha", "Alpha Secret"):
        assert secret not in body, secret
    listed = client.get("/setting/claims").get_data(as_text=True)
    assert A_TRN not in listed and "Recorded-By-A" not in listed


def test_a_trn_from_another_provider_changes_nothing_the_first_sees_and_dfe_resolves_it(
    client, session, provider_a, provider_b
):
    mine = a_enrols_pat(session, provider_a, code="ep-doctorate", trn=None)

    response = b_enrols(
        client,
        session,
        provider_b,
        "npq-senco",
        full_name=A_NAME,
        email="pat@example.com",
        trn="7654321",
    )
    assert response.status_code == 302

    sign_out(client)
    sign_in_provider(client, session, provider_a)
    shown = client.get(f"/provider/claims/{mine.id}")
    assert summary(shown)["TRN"] == "Not given"
    assert "7654321" not in shown.get_data(as_text=True)
    roster = client.get(f"/provider/cohorts/{mine.cohort_id}")
    assert "7654321" not in roster.get_data(as_text=True)
    searched = client.get(f"/provider/cohorts/{mine.cohort_id}", query_string={"q": "7654321"})
    assert "No participants match your search" in searched.get_data(as_text=True)
    sign_out(client)

    # DfE sees the conflict, every copy, and resolves it.
    [conflict] = session.scalars(sa.select(ParticipantConflict)).all()
    assert (conflict.field, conflict.recorded, conflict.given) == (
        ConflictField.TRN,
        None,
        "7654321",
    )
    signed_in(client, session, Role.DFE)
    listed = client.get("/dfe/participants/conflicts")
    rows = table_rows(listed, "[data-conflicts]")
    assert len(rows) == 1
    assert rows[0][1:5] == ["pat@example.com", "TRN", "Not given", "7654321"]
    assert "Beta Learning" in rows[0][5]
    url = f"/dfe/participants/conflicts/{conflict.id}"
    detail = client.get(url)
    copies = {row[0].split()[0]: row for row in table_rows(detail, "[data-claims]")}
    assert copies[str(mine.id)][4] == "Not given"
    assert copies[str(conflict.claim_id)][4] == "7654321"

    empty = submit(client, url, {"note": "  "})
    assert error_summary(empty) == [("Enter what was done to resolve the conflict", "#note")]
    done = submit(client, url, {"note": "Beta confirmed the TRN; Alpha told"})
    assert done.status_code == 302
    session.expire_all()
    assert conflict.resolution == "Beta confirmed the TRN; Alpha told"
    assert conflict.resolved_dt is not None
    assert "No conflicting details to resolve" in client.get(
        "/dfe/participants/conflicts"
    ).get_data(as_text=True)
    resolved = client.get("/dfe/participants/conflicts?show=resolved")
    assert len(table_rows(resolved, "[data-conflicts]")) == 1
    # Resolved once: no form to resolve it again.
    assert page(client.get(url)).select_one("textarea[name=note]") is None


def test_only_dfe_see_conflicts(client, session, provider_b):
    sign_in_provider(client, session, provider_b)
    assert client.get("/dfe/participants/conflicts").status_code == 403
    assert client.get("/dfe/participants/conflicts/1").status_code == 403


def test_a_page_refusal_for_another_providers_claim_names_nothing_of_it(
    client, session, provider_a, provider_b
):
    a_enrols_pat(session, provider_a)  # funded, on the NPQ

    response = b_enrols(
        client, session, provider_b, "npq-senco", full_name="Pat Beta", email="pat@example.com"
    )

    [(message, field)] = error_summary(response)
    assert message == (
        "pat@example.com already has a place on SENCO National Professional Qualification:"
        " one person may hold one place on a programme"
    )
    assert field == "#email"
    body = response.get_data(as_text=True)
    for secret in (A_TRN, "Recorded-By-A", "Alpha Training", "Alpha Secret", "funded claim"):
        assert secret not in body, secret
