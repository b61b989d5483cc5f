"""Schemathesis against the OpenAPI document: no server error, no answer that breaks it.

Every operation is run with generated requests (valid and invalid) under a DfE token and
a provider's token, over a little data so that some ids exist, on SQLite and PostgreSQL
(where a NUL, an over-long string or an id out of range is an error, not a value). Each
answer must also keep out of caches.
"""

from datetime import date, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation

from tests import factories
from tests.api.conftest import make_caller
from tests.conftest import _config_dict
from tracker import create_app
from tracker.models import Role, SettingKind
from tracker.places import london_today


def today() -> date:
    """Today in London, asked for when used (a run may cross midnight)."""
    return london_today()


def _document() -> dict:
    """The document as the app serves it (building it touches no database)."""
    app = create_app({**_config_dict(), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return app.test_client().get("/api/v1/openapi.json").get_json()


# Loaded once at collection: schemathesis's fixture-based loader does not run on pytest 9
# (it sets Function._nodeid, which pytest 9 no longer has). Each test points it at its `app`.
schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def callers(app, session):
    """A DfE token and a provider's token, with a started cohort holding a claim or two."""
    provider = factories.create_provider(session)
    for code in ("npq-senco", "ey-senco-l3", "ep-doctorate"):
        factories.create_allocation(
            session, provider=provider, prog=factories.programme(session, code), places=100
        )
    school = factories.create_setting(session, kind=SettingKind.SCHOOL, urn="100001")
    cohort = factories.create_cohort(
        session,
        prog=factories.programme(session, "npq-senco"),
        provider=provider,
        places=1,
        starts_on=today() - timedelta(days=10),
    )
    session.commit()
    dfe = make_caller(session, Role.DFE)
    own = make_caller(session, Role.PROVIDER, provider)
    client = app.test_client()
    for n in range(2):
        client.post(
            f"/api/v1/cohorts/{cohort.id}/claims",
            json={"full_name": f"P {n}", "email": f"p{n}@example.com", "setting": school.urn},
            headers=own.headers,
        )
    # Generated requests come fast: the limit is tested on its own (test_auth).
    app.config["API_RATE_LIMIT"] = "1000000 per minute"
    yield [dfe, own]
    app.config["API_RATE_LIMIT"] = "300 per minute"


def answers_are_never_cached(ctx, response, case):
    """Every API answer is for its asker only: no cache may keep it."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    values = headers.get("cache-control")
    if (values if isinstance(values, list) else [values]) != ["no-store"]:
        raise AssertionError(f"Cache-Control is {values!r}")


def _with_token(case, secret: str) -> dict[str, str]:
    """The case's headers with the token, unless the case is about a missing Authorization."""
    headers = dict(case.headers or {})
    missing_on_purpose = case.meta is not None and case.meta.is_negative_at(
        ParameterLocation.HEADER
    )
    if "Authorization" in headers or not missing_on_purpose:
        headers["Authorization"] = f"Bearer {secret}"
    return headers


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_keeps_to_its_document(case, app, callers):
    case.operation.schema.app = app  # this test's backend (SQLite or PostgreSQL)
    for caller in callers:
        case.call_and_validate(
            app=app,
            headers=_with_token(case, caller.secret),
            # A request the document allows may still break a rule of the domain (a full
            # allocation, a URN no setting has): refusing it with 422 is right.
            excluded_checks=[positive_data_acceptance],
            additional_checks=[answers_are_never_cached],
        )
