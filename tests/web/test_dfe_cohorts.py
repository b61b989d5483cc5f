"""DfE staff see every provider's cohorts, filtered and paged, and the claims in each."""

import pytest

from tests import factories
from tests.browser import error_summary, heading, page, sign_in, text
from tests.web.conftest import PASSWORD
from tests.web.records import claim, summary, table_rows
from tracker import places
from tracker.models import CohortStatus


@pytest.fixture
def dfe_client(client, dfe_user):
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    return client


def cohort_names(response) -> list[str]:
    return [row[0] for row in table_rows(response, "[data-cohorts]")]


def test_cohorts_are_filtered_by_programme_provider_and_status(dfe_client, session):
    ey, npq = factories.programme(session), factories.programme(session, "npq-senco")
    alpha = factories.create_provider(session, name="Alpha", ukprn="10000001")
    beta = factories.create_provider(session, name="Beta", ukprn="10000002")
    factories.create_cohort(session, prog=ey, provider=alpha, name="EY Alpha open")
    factories.create_cohort(
        session, prog=ey, provider=alpha, name="EY Alpha closed", status=CohortStatus.CLOSED
    )
    factories.create_cohort(session, prog=npq, provider=beta, name="NPQ Beta open")
    session.commit()

    everything = dfe_client.get("/dfe/cohorts")
    assert sorted(cohort_names(everything)) == ["EY Alpha closed", "EY Alpha open", "NPQ Beta open"]

    assert cohort_names(dfe_client.get("/dfe/cohorts?programme=npq-senco")) == ["NPQ Beta open"]
    assert sorted(cohort_names(dfe_client.get("/dfe/cohorts?provider=10000001"))) == [
        "EY Alpha closed",
        "EY Alpha open",
    ]
    filtered = dfe_client.get("/dfe/cohorts?programme=ey-senco-l3&provider=10000001&status=open")
    assert cohort_names(filtered) == ["EY Alpha open"]
    # The filters keep what was chosen.
    html = page(filtered)
    assert html.select_one("#status option[selected]")["value"] == "open"
    assert html.select_one("#provider option[selected]")["value"] == "10000001"

    none = dfe_client.get("/dfe/cohorts?programme=npq-senco&provider=10000001")
    assert text(page(none).select_one("[data-no-results]")) == "No cohorts match these filters."


@pytest.mark.parametrize(
    "query", ["programme=nonsense", "provider=99999999", "status=exploded", "provider=%00"]
)
def test_an_unknown_filter_value_is_an_error_not_a_crash(dfe_client, query):
    response = dfe_client.get(f"/dfe/cohorts?{query}")

    assert response.status_code == 200
    assert error_summary(response)
    assert page(response).select_one("[data-no-results]") is not None


def test_cohorts_are_paged(dfe_client, session):
    provider = factories.create_provider(session)
    for n in range(27):
        factories.create_cohort(session, provider=provider, name=f"Cohort {n:02d}")
    session.commit()

    first = dfe_client.get("/dfe/cohorts")
    second = dfe_client.get("/dfe/cohorts?page=2")

    assert len(cohort_names(first)) == 25
    assert len(cohort_names(second)) == 2
    assert "27 cohorts, page 2 of 2" in text(page(second).select_one("caption"))
    next_link = page(first).select_one(".govuk-pagination__next a")
    assert next_link["href"] == "/dfe/cohorts?page=2"


@pytest.mark.parametrize("number", ["0", "-1", "3", "abc", "9" * 30, "100001", "²", "1.5"])
def test_a_page_that_does_not_exist_is_not_found(dfe_client, session, number):
    factories.create_cohort(session)
    session.commit()
    assert dfe_client.get(f"/dfe/cohorts?page={number}").status_code == 404


def test_a_cohort_shows_its_claims_by_status(dfe_client, session):
    provider = factories.create_provider(session, name="Alpha", ukprn="10000001")
    cohort = factories.create_cohort(session, provider=provider, places=2, name="Spring")
    setting, other = factories.create_setting(session), factories.create_setting(session)
    first = claim(session, cohort, setting, "Ann One")
    claim(session, cohort, other, "Ben Two")
    claim(session, cohort, other, "Cat Three")
    places.withdraw(session, first, reason="Left the setting")
    session.commit()

    response = dfe_client.get(f"/dfe/cohorts/{cohort.id}")

    assert heading(response) == "Spring"
    assert summary(response)["Provider"] == "Alpha (UKPRN 10000001)"
    assert summary(response)["Funded places held"] == "2"
    counts = dict((row[0], row[1]) for row in table_rows(response, "[data-claim-counts]"))
    assert counts == {
        "Waiting": "0",
        "Funded, not yet started": "2",
        "In training": "0",
        "Completed": "0",
        "Withdrawn": "1",
        "Deferred": "0",
    }


def test_an_unknown_cohort_is_not_found(dfe_client):
    assert dfe_client.get("/dfe/cohorts/999999").status_code == 404
    assert dfe_client.get(f"/dfe/cohorts/{'9' * 30}").status_code == 404
