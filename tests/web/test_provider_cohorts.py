"""A provider lists its cohorts, creates and changes them within its allocation, and closes them."""

from datetime import date

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import banner, error_summary, heading, page, submit, text
from tests.web.provider_pages import enrol, sign_in_provider, table_rows
from tracker.models import Cohort, CohortStatus


@pytest.fixture
def provider(session):
    provider = factories.create_provider(session, name="Learning Trust")
    factories.create_allocation(
        session, provider=provider, prog=factories.programme(session), places=30
    )
    session.commit()
    return provider


def cohort_form(**changes) -> dict:
    data = {
        "programme": "ey-senco-l3",
        "name": "Spring 2027",
        "starts_on": ["1", "3", "2027"],
        "ends_on": ["30", "6", "2027"],
        "places": "20",
    }
    return {**data, **changes}


def typed_dates(response, name: str) -> list[str]:
    html = page(response)
    return [html.select_one(f"#{name}-{part}")["value"] for part in ("day", "month", "year")]


def test_the_cohorts_page_lists_cohorts_with_their_places(client, session, provider):
    cohort = factories.create_cohort(
        session, provider=provider, places=3, name="Autumn", starts_on=date(2026, 9, 1)
    )
    enrol(session, cohort, 4)  # 3 funded, 1 waiting
    sign_in_provider(client, session, provider)

    response = client.get("/provider/cohorts")

    assert heading(response) == "Cohorts"
    assert table_rows(response, "[data-cohorts]") == [
        [
            "Autumn",
            "Level 3 early years SENCo qualification",
            "1 September 2026 to 28 February 2027",
            "3",
            "3",
            "1",
            "0",
            "Open",
        ]
    ]
    assert table_rows(response, "[data-allocations]") == [
        ["Level 3 early years SENCo qualification", "30", "3", "27"]
    ]
    nav = [text(a) for a in page(response).select(".govuk-service-navigation__item a")]
    assert nav[:2] == ["Home", "Cohorts"]


def test_a_provider_creates_a_cohort(client, session, provider):
    sign_in_provider(client, session, provider)

    response = submit(client, "/provider/cohorts/new", cohort_form())

    assert response.status_code == 302
    cohort = session.scalars(sa.select(Cohort).where(Cohort.provider_id == provider.id)).one()
    assert (cohort.name, cohort.starts_on, cohort.ends_on, cohort.places) == (
        "Spring 2027",
        date(2027, 3, 1),
        date(2027, 6, 30),
        20,
    )
    shown = client.get(response.headers["Location"])
    assert banner(shown) == "Cohort Spring 2027 created"
    assert heading(shown) == "Spring 2027"


def test_the_create_page_shows_the_allocation_and_places_left(client, session, provider):
    sign_in_provider(client, session, provider)
    response = client.get("/provider/cohorts/new")
    assert text(page(response).select_one("[data-allocation-summary] p")) == (
        "Level 3 early years SENCo qualification: your allocation is 30 places,"
        " 0 funded so far, 30 left."
    )
    radios = [i["value"] for i in page(response).select("input[name=programme]")]
    assert radios == ["ey-senco-l3"]


def test_more_places_than_the_allocation_is_refused_and_what_was_typed_is_shown(
    client, session, provider
):
    sign_in_provider(client, session, provider)

    response = submit(client, "/provider/cohorts/new", cohort_form(places="31", name="Big"))

    assert response.status_code == 200
    assert text(page(response).select_one("title")).startswith("Error: ")
    assert error_summary(response) == [
        ("A cohort cannot offer more than the allocation of 30 places", "#places")
    ]
    html = page(response)
    assert html.select_one("#places")["value"] == "31"
    assert html.select_one("#name")["value"] == "Big"
    assert typed_dates(response, "starts_on") == ["1", "3", "2027"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Cohort)) == 0


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"starts_on": ["31", "2", "2027"]},
            [("Start date must be a real date", "#starts_on-day")],
        ),
        ({"starts_on": ["", "", ""]}, [("Enter the start date", "#starts_on-day")]),
        ({"starts_on": ["1", "", "2027"]}, [("Start date must include a month", "#starts_on-day")]),
        (
            {"ends_on": ["1", "1", "99999"]},
            [("End date must be a real date, with a 4-digit year", "#ends_on-day")],
        ),
        (
            {"ends_on": ["x", "1", "2027"]},
            [("End date must be a real date", "#ends_on-day")],
        ),
        (
            {"ends_on": ["1", "1", "2027"]},
            [("The end date must be after the start date", "#ends_on-day")],
        ),
        (
            {"places": "99999999999999999999999"},
            [("Enter a number of places from 1 to 100,000", "#places")],
        ),
        ({"places": "-3"}, [("Enter a number of places from 1 to 100,000", "#places")]),
        (
            {"places": "twenty"},
            [("Enter the number of places as a whole number, like 20", "#places")],
        ),
        ({"places": ""}, [("Enter the number of places", "#places")]),
        ({"name": "   "}, [("Enter a name for the cohort", "#name")]),
        ({"name": "x" * 500}, [("The cohort name must be 120 characters or fewer", "#name")]),
        ({"name": "Nul\x00name"}, None),
        ({"programme": "ep-doctorate"}, [("Select the programme", "#programme")]),
        ({"programme": "\x00"}, [("Select the programme", "#programme")]),
    ],
)
def test_odd_inputs_are_refused_on_the_page(client, session, provider, changes, expected):
    sign_in_provider(client, session, provider)
    response = submit(client, "/provider/cohorts/new", cohort_form(**changes))
    if expected is None:
        assert response.status_code == 302
    else:
        assert response.status_code == 200
        assert error_summary(response) == expected


def test_a_cohort_name_used_already_is_refused(client, session, provider):
    factories.create_cohort(session, provider=provider, name="Spring 2027")
    session.commit()
    sign_in_provider(client, session, provider)
    response = submit(client, "/provider/cohorts/new", cohort_form())
    assert error_summary(response) == [("You already have a cohort called Spring 2027", "#name")]


def test_a_provider_changes_a_cohort_but_not_below_its_funded_places(client, session, provider):
    cohort = factories.create_cohort(session, provider=provider, places=5, name="Autumn")
    enrol(session, cohort, 3)
    sign_in_provider(client, session, provider)
    url = f"/provider/cohorts/{cohort.id}/edit"

    form = client.get(url)
    assert page(form).select_one("#name")["value"] == "Autumn"
    assert typed_dates(form, "starts_on") == [
        f"{cohort.starts_on:%d}",
        f"{cohort.starts_on:%m}",
        f"{cohort.starts_on:%Y}",
    ]
    data = {
        "name": "Autumn A",
        "starts_on": ["1", "9", "2027"],
        "ends_on": ["1", "3", "2028"],
        "places": "2",
    }
    refused = submit(client, url, data)
    assert error_summary(refused) == [
        ("3 places in this cohort are already funded: enter 3 or more", "#places")
    ]

    saved = submit(client, url, {**data, "places": "8"})
    assert saved.status_code == 302
    session.refresh(cohort)
    assert (cohort.name, cohort.places, cohort.starts_on) == ("Autumn A", 8, date(2027, 9, 1))


def test_a_provider_closes_a_cohort_after_confirming(client, session, provider):
    cohort = factories.create_cohort(session, provider=provider, name="Autumn")
    session.commit()
    sign_in_provider(client, session, provider)
    url = f"/provider/cohorts/{cohort.id}/close"

    assert heading(client.get(url)) == "Are you sure you want to close Autumn?"
    response = submit(client, url)

    assert response.status_code == 302
    session.refresh(cohort)
    assert cohort.status == CohortStatus.CLOSED
    shown = client.get(response.headers["Location"])
    assert banner(shown) == "Cohort Autumn is closed to new participants"
    assert "Enrol a participant" not in text(page(shown).select_one("main"))
    assert client.get(url).status_code == 404
    assert client.get(f"/provider/cohorts/{cohort.id}/enrol").status_code == 302


def test_a_provider_without_an_allocation_is_told_so(client, session):
    sign_in_provider(client, session)
    response = client.get("/provider/cohorts/new")
    assert "DfE has not allocated you places" in text(page(response).select_one("main"))
    assert page(response).select_one("form input[name=name]") is None
