"""A provider sees only its own cohorts and participants: anyone else's ids answer 404."""

import pytest

from tests import factories
from tests.browser import csrf_token, heading, sign_in
from tests.web.conftest import PASSWORD, create_account
from tests.web.provider_pages import enrol, sign_in_provider, started_cohort
from tracker.models import ClaimStatus, Role

# The last part of the path of each page that takes a form.
POSTED = {
    "edit",
    "close",
    "enrol",
    "upload",
    "declarations",
    "declare",
    "withdraw",
    "defer",
    "move",
}


def _pages(cohort_id: int, claim_id: int) -> list[str]:
    return [
        f"/provider/cohorts/{cohort_id}",
        f"/provider/cohorts/{cohort_id}/edit",
        f"/provider/cohorts/{cohort_id}/close",
        f"/provider/cohorts/{cohort_id}/enrol",
        f"/provider/cohorts/{cohort_id}/upload",
        f"/provider/cohorts/{cohort_id}/template.csv",
        f"/provider/cohorts/{cohort_id}/declarations?claims={claim_id}",
        f"/provider/claims/{claim_id}",
        f"/provider/claims/{claim_id}/declare",
        f"/provider/claims/{claim_id}/withdraw",
        f"/provider/claims/{claim_id}/defer",
        f"/provider/claims/{claim_id}/move",
    ]


@pytest.fixture
def theirs(session):
    """Another provider's cohort with one participant."""
    other = factories.create_provider(session, name="Someone Else Ltd")
    cohort = started_cohort(session, other)
    [claim] = enrol(session, cohort)
    return cohort, claim


def test_every_page_of_another_providers_records_is_not_found(client, session, theirs):
    cohort, claim = theirs
    me = factories.create_provider(session)
    mine = started_cohort(session, me)
    [my_claim] = enrol(session, mine)
    sign_in_provider(client, session, me)

    for url in _pages(mine.id, my_claim.id):
        assert client.get(url).status_code == 200, url
    token = csrf_token(client, f"/provider/cohorts/{mine.id}/edit")
    for url in _pages(cohort.id, claim.id):
        assert client.get(url).status_code == 404, url
        assert heading(client.get(url)) == "Page not found", url
        if url.rsplit("/", 1)[-1].split("?")[0] in POSTED:
            response = client.post(url.split("?")[0], data={"csrf_token": token})
            assert response.status_code == 404, url
    # Their participant, ticked on my cohort's page, is not found either.
    url = f"/provider/cohorts/{mine.id}/declarations?claims={my_claim.id}&claims={claim.id}"
    assert client.get(url).status_code == 404
    session.refresh(claim)
    assert claim.status == ClaimStatus.FUNDED


def test_ids_too_large_for_the_database_are_not_found(client, session):
    sign_in_provider(client, session)
    for url in _pages(2**63, 10**30):
        assert client.get(url).status_code == 404, url


def test_their_cohorts_are_not_listed(client, session, theirs):
    cohort, _ = theirs
    sign_in_provider(client, session)
    response = client.get("/provider/cohorts")
    assert cohort.name not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.DFE, Role.SETTING, Role.LOCAL_AUTHORITY])
def test_only_providers_may_use_the_provider_pages(client, session, theirs, role):
    cohort, claim = theirs
    user = create_account(session, role=role)
    sign_in(client, user.email, PASSWORD)
    for url in ["/provider/", "/provider/cohorts", *_pages(cohort.id, claim.id)]:
        assert client.get(url).status_code == 403, url


def test_the_provider_pages_ask_a_stranger_to_sign_in(client, theirs):
    cohort, _ = theirs
    response = client.get(f"/provider/cohorts/{cohort.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
