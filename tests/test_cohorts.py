"""Cohorts within a provider's allocation."""

from datetime import date

import pytest

from tests import factories
from tracker import places
from tracker.cohorts import create_cohort, update_cohort
from tracker.errors import DomainError
from tracker.models import CohortStatus


def _edit(session, cohort, **changes):
    fields = {
        "name": cohort.name,
        "starts_on": cohort.starts_on,
        "ends_on": cohort.ends_on,
        "places": cohort.places,
        "status": cohort.status,
    }
    return update_cohort(session, cohort, **{**fields, **changes})


def test_a_cohort_offers_no_more_than_the_allocation(session):
    provider = factories.create_provider(session)
    prog = factories.programme(session)
    factories.create_allocation(session, provider=provider, prog=prog, places=30)

    with pytest.raises(DomainError, match="allocation of 30 places") as error:
        create_cohort(
            session,
            provider,
            prog,
            name="Spring",
            starts_on=date(2027, 1, 4),
            ends_on=date(2027, 5, 1),
            places=31,
        )
    assert error.value.field == "places"


def test_a_cohort_cannot_shrink_below_its_funded_places(session):
    cohort = factories.create_cohort(session, places=3)
    for i in range(2):
        places.claim_place(
            session,
            cohort,
            full_name=f"P {i}",
            email=f"p{i}@example.com",
            setting=factories.create_setting(session),
        )

    with pytest.raises(DomainError, match="2 places in this cohort are already funded"):
        _edit(session, cohort, places=1)


def test_a_cohort_with_funded_claims_cannot_be_cancelled(session):
    cohort = factories.create_cohort(session, places=3)
    made = places.claim_place(
        session,
        cohort,
        full_name="P",
        email="p@example.com",
        setting=factories.create_setting(session),
    ).claim

    with pytest.raises(DomainError, match="Move or withdraw the 1 funded participants") as error:
        _edit(session, cohort, status=CohortStatus.CANCELLED)
    assert error.value.field == "status"

    places.withdraw(session, made, reason="Cohort not running")
    assert _edit(session, cohort, status=CohortStatus.CANCELLED).status == CohortStatus.CANCELLED


def test_a_cohort_cannot_be_renamed_to_another_of_the_providers_names(session):
    cohort = factories.create_cohort(session, name="Spring")
    factories.create_cohort(session, prog=cohort.programme, provider=cohort.provider, name="Autumn")

    with pytest.raises(DomainError, match="already have a cohort called Autumn") as error:
        _edit(session, cohort, name="Autumn")
    assert error.value.field == "name"
    assert _edit(session, cohort, name="Spring").name == "Spring"
