"""Fixtures for the API: accounts with tokens, and a way to send them."""

from dataclasses import dataclass

import pytest

from tests import factories
from tracker.accounts import create_user
from tracker.extensions import limiter
from tracker.models import Provider, Role, SettingKind
from tracker.tokens import create_token


@pytest.fixture(autouse=True)
def forget_counted_requests(app):
    # Requests are counted per token id, and ids start again in each test's database.
    limiter.reset()
    yield
    limiter.reset()


@dataclass
class Caller:
    """A token and the organisation it acts for."""

    secret: str
    provider: Provider | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


_emails = iter(range(1, 10**6))


def make_caller(session, role: Role, provider: Provider | None = None) -> Caller:
    user = create_user(
        session,
        email=f"api-user-{next(_emails)}@example.com",
        role=role,
        organisation=provider.ukprn if provider else None,
    )
    _token, secret = create_token(session, user)
    session.commit()
    return Caller(secret, provider)


@pytest.fixture
def dfe(session) -> Caller:
    return make_caller(session, Role.DFE)


@pytest.fixture
def provider(session) -> Caller:
    """A provider with an allocation of 100 places on each programme."""
    organisation = factories.create_provider(session)
    for code in ("npq-senco", "ey-senco-l3", "ep-doctorate"):
        factories.create_allocation(
            session, provider=organisation, prog=factories.programme(session, code), places=100
        )
    return make_caller(session, Role.PROVIDER, organisation)


@pytest.fixture
def other_provider(session) -> Caller:
    organisation = factories.create_provider(session)
    factories.create_allocation(
        session,
        provider=organisation,
        prog=factories.programme(session, "npq-senco"),
        places=100,
    )
    return make_caller(session, Role.PROVIDER, organisation)


@pytest.fixture
def school(session):
    setting = factories.create_setting(session, kind=SettingKind.SCHOOL, urn="100001")
    session.commit()
    return setting
