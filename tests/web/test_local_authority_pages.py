"""Local authorities see the settings, claims and progress of their own area, and no other."""

from datetime import date, timedelta

import pytest

from tests import factories
from tests.browser import error_summary, heading, page, text
from tests.web.records import claim, signed_in, table_rows
from tracker import places
from tracker.models import Role, SettingKind
from tracker.progress import record_declaration


@pytest.fixture
def la_client(client, session):
    # LA 201 is the City of London; 202 (Camden) is its neighbour, in the same region.
    signed_in(client, session, Role.LOCAL_AUTHORITY, organisation="201")
    return client


@pytest.fixture
def area(session):
    """Two settings in the signed-in authority's area, one in Camden, and their claims."""
    here = factories.create_setting(session, la_code="201", name="Acorns Nursery", urn="EY200001")
    also = factories.create_setting(
        session,
        la_code="201",
        name="Bluebell Childminding",
        urn="EY200002",
        kind=SettingKind.CHILDMINDER,
    )
    camden = factories.create_setting(session, la_code="202", name="Camden Kids", urn="EY300001")
    cohort = factories.create_cohort(session, places=2, name="Spring")
    cohort.starts_on = date.today() - timedelta(days=3)  # noqa: DTZ011
    claims = {
        "ann": claim(session, cohort, here, "Ann Acorn"),
        "ben": claim(session, cohort, also, "Ben Bluebell"),
        "cam": claim(session, cohort, camden, "Cam Camden"),
        "dee": claim(session, cohort, here, "Dee Acorn"),  # waits behind Cam, who gets Ben's place
    }
    record_declaration(
        session, claims["ann"], milestone_code="started", declared_on=cohort.starts_on
    )
    places.withdraw(session, claims["ben"], reason="Moved away")
    session.commit()
    return claims


def test_the_settings_are_those_of_the_area_only(la_client, area):
    response = la_client.get("/local-authority/settings")

    assert heading(response) == "Settings in your area"
    rows = table_rows(response, "[data-settings]")
    assert [row[:3] for row in rows] == [
        ["Acorns Nursery", "EY200001", "Group-based early years setting"],
        ["Bluebell Childminding", "EY200002", "Childminder"],
    ]
    # Live claims and completed claims for each.
    assert [row[3:] for row in rows] == [["2", "0"], ["0", "0"]]
    assert "Camden" not in text(page(response).select_one("main"))


def test_settings_are_searched_by_name_or_urn(la_client, area):
    by_name = table_rows(la_client.get("/local-authority/settings?q=blueBELL"), "[data-settings]")
    assert [row[0] for row in by_name] == ["Bluebell Childminding"]
    by_urn = table_rows(la_client.get("/local-authority/settings?q=ey200001"), "[data-settings]")
    assert [row[0] for row in by_urn] == ["Acorns Nursery"]
    # Another area's setting is not found, even by its URN.
    nothing = la_client.get("/local-authority/settings?q=EY300001")
    assert page(nothing).select_one("[data-no-results]") is not None
    wild = la_client.get("/local-authority/settings?q=%25")
    assert page(wild).select_one("[data-no-results]") is not None
    nul = la_client.get("/local-authority/settings?q=a%00b")
    assert [m for m, _ in error_summary(nul)] == ["Search must not contain special characters"]


def test_settings_are_paged(la_client, session):
    for n in range(30):
        factories.create_setting(session, la_code="201", name=f"Setting {n:02d}")
    session.commit()
    assert len(table_rows(la_client.get("/local-authority/settings"), "[data-settings]")) == 25
    second = la_client.get("/local-authority/settings?page=2")
    assert len(table_rows(second, "[data-settings]")) == 5
    assert la_client.get("/local-authority/settings?page=3").status_code == 404
    assert la_client.get(f"/local-authority/settings?page={'9' * 40}").status_code == 404


def test_claims_are_counted_by_programme_and_status_for_the_area_only(la_client, area):
    response = la_client.get("/local-authority/claims")

    row = page(response).select_one('[data-status-counts] [data-programme="ey-senco-l3"]')
    counts = {cell["data-status"]: text(cell) for cell in row.select("[data-status]")}
    assert counts == {
        "waiting": "1",
        "funded": "0",
        "started": "1",
        "completed": "0",
        "withdrawn": "1",
        "deferred": "0",
    }


def test_the_claims_list_shows_progress_and_is_filtered(la_client, area):
    rows = {r[0]: r for r in table_rows(la_client.get("/local-authority/claims"), "[data-claims]")}

    assert set(rows) == {"Ann Acorn", "Ben Bluebell", "Dee Acorn"}
    assert rows["Ann Acorn"][3:] == ["In training", "1 of 4"]
    assert rows["Dee Acorn"][3] == "Waiting, number 1 on the waiting list"

    waiting = table_rows(la_client.get("/local-authority/claims?status=waiting"), "[data-claims]")
    assert [r[0] for r in waiting] == ["Dee Acorn"]
    by_setting = table_rows(
        la_client.get("/local-authority/claims?setting=ey200002"), "[data-claims]"
    )
    assert [r[0] for r in by_setting] == ["Ben Bluebell"]
    # Another area's setting shows nothing, even named.
    other = la_client.get("/local-authority/claims?setting=EY300001")
    assert page(other).select_one("[data-no-results]") is not None
    npq = la_client.get("/local-authority/claims?programme=npq-senco")
    assert page(npq).select_one("[data-no-results]") is not None


@pytest.mark.parametrize("query", ["programme=nope", "status=vanished", "setting=" + "X" * 500])
def test_odd_filters_are_errors_not_crashes(la_client, area, query):
    response = la_client.get(f"/local-authority/claims?{query}")
    assert response.status_code == 200
    assert error_summary(response)
    assert page(response).select_one("[data-no-results]") is not None


def test_another_authority_sees_its_own_area_not_this_one(client, session, area):
    signed_in(client, session, Role.LOCAL_AUTHORITY, organisation="202")
    settings = table_rows(client.get("/local-authority/settings"), "[data-settings]")
    assert [row[0] for row in settings] == ["Camden Kids"]
    claims = table_rows(client.get("/local-authority/claims"), "[data-claims]")
    assert [row[0] for row in claims] == ["Cam Camden"]


@pytest.mark.parametrize("role", [Role.DFE, Role.PROVIDER, Role.SETTING])
def test_only_local_authorities_may_use_these_pages(client, session, role):
    signed_in(client, session, role)
    for url in ["/local-authority/", "/local-authority/settings", "/local-authority/claims"]:
        assert client.get(url).status_code == 403, url


def test_strangers_are_asked_to_sign_in(client):
    for url in ["/local-authority/", "/local-authority/settings", "/local-authority/claims"]:
        assert client.get(url).headers["Location"].startswith("/sign-in?next=")
