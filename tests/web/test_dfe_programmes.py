"""DfE staff see each programme's target and places used, change targets and allocations."""

from datetime import date

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import banner, error_summary, heading, page, sign_in, submit, text
from tests.web.conftest import PASSWORD
from tests.web.records import claim, field_error, summary, table_rows
from tracker.models import Allocation, AuditEvent, ProgrammeTarget, Region, RegionQuota


@pytest.fixture
def dfe_client(client, dfe_user):
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    return client


def test_programmes_show_their_target_and_places_used(dfe_client, session):
    ey = factories.programme(session)
    factories.set_programme_places(session, ey, 7000)
    cohort = factories.create_cohort(session, prog=ey)
    setting = factories.create_setting(session)
    claim(session, cohort, setting, "Ann One")
    claim(session, cohort, setting, "Ben Two")

    response = dfe_client.get("/dfe/programmes")

    assert heading(response) == "Programmes and targets"
    row = page(response).select_one('[data-programme="ey-senco-l3"]')
    assert text(row.select_one("[data-target]")) == "7,000"
    assert text(row.select_one("[data-used]")) == "2"


def test_dfe_changes_a_target_and_the_history_shows_who_and_why(dfe_client, session, dfe_user):
    ey = factories.programme(session)
    factories.set_programme_places(session, ey, 5000)
    session.commit()

    response = submit(
        dfe_client,
        "/dfe/programmes/ey-senco-l3/target",
        {
            "places": "7,000",
            "effective_on": ["1", "4", "2024"],
            "note": "Raised in the extension announcement",
        },
    )

    assert response.status_code == 302
    shown = dfe_client.get(response.headers["Location"])
    assert banner(shown) == (
        "Target for Level 3 early years SENCo qualification set to 7,000 places from 1 April 2024"
    )
    assert summary(shown)["Target in force today"] == "7,000 places"
    history = table_rows(shown, "[data-target-history]")
    assert history[0][:2] == ["7,000", "1 April 2024"]
    assert history[0][2].startswith("Dee Eff")
    assert history[0][3] == "Raised in the extension announcement"
    assert history[1][:2] == ["5,000", "1 January 2023"]
    target = session.scalars(sa.select(ProgrammeTarget).where(ProgrammeTarget.places == 7000)).one()
    assert target.created_by_id == dfe_user.id
    assert (
        session.scalar(
            sa.select(AuditEvent.actor).where(
                AuditEvent.entity_type == "programme_targets", AuditEvent.entity_id == target.id
            )
        )
        == "dfe@example.com"
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"places": "", "effective_on": ["1", "4", "2024"], "note": "x"},
            "places",
            "Enter the number of places",
        ),
        (
            {"places": "lots", "effective_on": ["1", "4", "2024"], "note": "x"},
            "places",
            "Enter the number of places as a whole number, like 20",
        ),
        (
            {"places": "-5", "effective_on": ["1", "4", "2024"], "note": "x"},
            "places",
            "Enter a number of places from 0 to 1,000,000",
        ),
        (
            {"places": "²", "effective_on": ["1", "4", "2024"], "note": "x"},
            "places",
            "Enter the number of places as a whole number, like 20",
        ),
        (
            {"places": "10", "effective_on": ["²", "4", "2024"], "note": "x"},
            "effective_on",
            "Date the target takes effect must be a real date",
        ),
        (
            {"places": "9" * 40, "effective_on": ["1", "4", "2024"], "note": "x"},
            "places",
            "Enter a number of places from 0 to 1,000,000",
        ),
        (
            {"places": "10", "effective_on": ["31", "2", "2025"], "note": "x"},
            "effective_on",
            "Date the target takes effect must be a real date",
        ),
        (
            {"places": "10", "effective_on": ["1", "4", "99999"], "note": "x"},
            "effective_on",
            "Date the target takes effect must be a real date, with a 4-digit year",
        ),
        (
            {"places": "10", "effective_on": ["", "", ""], "note": "x"},
            "effective_on",
            "Enter the date the target takes effect",
        ),
        (
            {"places": "10", "effective_on": ["1", "", "2024"], "note": "x"},
            "effective_on",
            "Date the target takes effect must include a month",
        ),
        (
            {"places": "10", "effective_on": ["1", "4", "2024"], "note": "   "},
            "note",
            "Enter a note saying why the target changed",
        ),
    ],
)
def test_a_target_that_cannot_be_saved_is_shown_again_with_its_error(
    dfe_client, session, data, field, message
):
    response = submit(dfe_client, "/dfe/programmes/ey-senco-l3/target", data)

    assert response.status_code == 200
    assert page(response).title.string.startswith("Error: ")
    [(shown, link)] = error_summary(response)
    assert shown == message
    assert link.startswith(f"#{field}")
    assert field_error(response, field) == message
    # What was typed is shown again.
    html = page(response)
    assert html.select_one("#places")["value"] == data["places"]
    assert [i.get("value", "") for i in html.select("input[name=effective_on]")] == data[
        "effective_on"
    ]
    assert text(html.select_one("#note")) == data["note"].strip()
    assert session.scalar(sa.select(sa.func.count()).select_from(ProgrammeTarget)) == 2


def test_an_unknown_programme_is_not_found(dfe_client):
    assert dfe_client.get("/dfe/programmes/a%00b").status_code == 404
    assert dfe_client.get(f"/dfe/programmes/{'x' * 500}/target").status_code == 404
    assert dfe_client.get("/dfe/programmes/no-such-thing").status_code == 404
    assert dfe_client.get("/dfe/programmes/no-such-thing/target").status_code == 404
    assert dfe_client.get("/dfe/programmes/no-such-thing/allocations").status_code == 404


def test_allocations_show_places_used_by_each_provider(dfe_client, session):
    ey = factories.programme(session)
    provider = factories.create_provider(session, name="Early Years Trust", ukprn="10000042")
    cohort = factories.create_cohort(session, prog=ey, provider=provider, allocation=300)
    claim(session, cohort, factories.create_setting(session))

    response = dfe_client.get("/dfe/programmes/ey-senco-l3/allocations")

    rows = table_rows(response, "[data-allocations]")
    assert rows == [
        [
            "Early Years Trust UKPRN 10000042",
            "300",
            "1",
            "Change the allocation of Early Years Trust",
        ]
    ]


def test_dfe_sets_an_allocation(dfe_client, session):
    ey = factories.programme(session)
    factories.set_programme_places(session, ey, 1000)
    factories.create_provider(session, name="New Provider", ukprn="10000077")
    session.commit()

    response = submit(
        dfe_client,
        "/dfe/programmes/ey-senco-l3/allocations/set",
        {"provider": " 10000077 ", "places": "250"},
    )

    assert response.status_code == 302
    shown = dfe_client.get(response.headers["Location"])
    assert banner(shown) == f"New Provider may fill 250 places on {ey.name}"
    assert table_rows(shown, "[data-allocations]")[0][1] == "250"

    # Changing it starts from what it is now.
    form = dfe_client.get("/dfe/programmes/ey-senco-l3/allocations/set?ukprn=10000077")
    assert page(form).select_one("#provider")["value"] == "10000077"
    assert page(form).select_one("#places")["value"] == "250"


def test_an_allocation_above_the_programmes_places_is_refused_on_the_field(dfe_client, session):
    ey = factories.programme(session)
    factories.set_programme_places(session, ey, 1000)
    factories.create_provider(session, ukprn="10000078")
    session.commit()

    response = submit(
        dfe_client,
        "/dfe/programmes/ey-senco-l3/allocations/set",
        {"provider": "10000078", "places": "1001"},
    )

    assert response.status_code == 200
    message = "An allocation cannot be more than the programme's 1,000 places"
    assert error_summary(response) == [(message, "#places")]
    assert field_error(response, "places") == message
    assert page(response).select_one("#places")["value"] == "1001"
    assert session.scalar(sa.select(sa.func.count()).select_from(Allocation)) == 0


@pytest.mark.parametrize("ukprn", ["10000099", "abc", "1" * 60])
def test_an_allocation_for_an_unknown_provider_is_refused(dfe_client, session, ukprn):
    response = submit(
        dfe_client,
        "/dfe/programmes/ey-senco-l3/allocations/set",
        {"provider": ukprn, "places": "10"},
    )

    assert response.status_code == 200
    assert field_error(response, "provider") == f"No provider has UKPRN {ukprn}"


def test_changing_an_unknown_providers_allocation_is_not_found(dfe_client):
    response = dfe_client.get("/dfe/programmes/ey-senco-l3/allocations/set?ukprn=19999999")
    assert response.status_code == 404


def test_the_target_date_is_stored_as_typed(dfe_client, session):
    submit(
        dfe_client,
        "/dfe/programmes/ey-senco-l3/target",
        {"places": "8000", "effective_on": ["29", "2", "2028"], "note": "Leap day"},
    )
    assert session.scalar(
        sa.select(ProgrammeTarget.effective_on).where(ProgrammeTarget.places == 8000)
    ) == date(2028, 2, 29)


def _london_quota(session, prog, places: int) -> RegionQuota:
    london = session.scalar(sa.select(Region).where(Region.name == "London"))
    quota = RegionQuota(programme=prog, name="London", places=places, regions=[london])
    session.add(quota)
    session.commit()
    return quota


def test_dfe_raises_a_region_quota_and_waiting_claims_that_now_fit_are_funded(dfe_client, session):
    ey = factories.programme(session)
    cohort = factories.create_cohort(session, prog=ey, places=10)
    quota = _london_quota(session, ey, 1)
    camden = [factories.create_setting(session, la_code="202") for _ in range(3)]
    claims = [claim(session, cohort, s, f"Person {n}") for n, s in enumerate(camden)]
    assert [c.status.value for c in claims] == ["funded", "waiting", "waiting"]

    shown = dfe_client.get("/dfe/programmes/ey-senco-l3")
    assert table_rows(shown, "[data-region-quotas]") == [
        ["London", "London", "1 on the programme", "1", "Change the places of London"]
    ]
    url = f"/dfe/programmes/ey-senco-l3/quotas/{quota.id}"
    assert page(dfe_client.get(url)).select_one("#places")["value"] == "1"

    response = submit(dfe_client, url, {"places": "2"})

    assert response.status_code == 302
    assert banner(dfe_client.get(response.headers["Location"])) == (
        f"London may hold 2 places on {ey.name}"
    )
    for c in claims:
        session.refresh(c)
    assert [c.status.value for c in claims] == ["funded", "funded", "waiting"]


@pytest.mark.parametrize(
    ("places", "message"),
    [
        ("0", "Claims in London hold 1 funded place on {name}: enter 1 or more"),
        ("", "Enter the number of places"),
        ("lots", "Enter the number of places as a whole number, like 20"),
    ],
)
def test_a_region_quota_below_the_places_held_is_refused_on_the_field(
    dfe_client, session, places, message
):
    ey = factories.programme(session)
    cohort = factories.create_cohort(session, prog=ey, places=10)
    quota = _london_quota(session, ey, 3)
    claim(session, cohort, factories.create_setting(session, la_code="202"))

    response = submit(
        dfe_client, f"/dfe/programmes/ey-senco-l3/quotas/{quota.id}", {"places": places}
    )

    assert response.status_code == 200
    message = message.format(name=ey.name)
    assert error_summary(response) == [(message, "#places")]
    assert page(response).select_one("#places").get("value", "") == places
    session.refresh(quota)
    assert quota.places == 3


def test_another_programmes_region_quota_is_not_found(dfe_client, session):
    quota = _london_quota(session, factories.programme(session, "ep-doctorate"), 5)
    factories.programme(session)
    session.commit()
    assert dfe_client.get(f"/dfe/programmes/ey-senco-l3/quotas/{quota.id}").status_code == 404
    assert dfe_client.get("/dfe/programmes/ep-doctorate/quotas/99999999999").status_code == 404
