"""Accounts to sign in with, and a clean count of failed sign-ins for every test."""

import itertools

import pytest

from tests import factories
from tests.conftest import RequestByRequestClient
from tracker.accounts import create_user
from tracker.extensions import limiter
from tracker.models import Role

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def forget_failed_sign_ins(app):
    # The rate limiter counts in memory shared by every test: start each from nothing.
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def other_client(app):
    """A second browser, somewhere else."""
    client = RequestByRequestClient(app, app.response_class)
    client.environ_base["REMOTE_ADDR"] = "192.0.2.1"
    return client


def create_account(session, *, role: Role = Role.DFE, password: str | None = PASSWORD, **kw):
    """An account of this role, for a new organisation of the right kind unless one is named."""
    organisation = kw.pop("organisation", None)
    if organisation is None and role == Role.PROVIDER:
        organisation = factories.create_provider(session).ukprn
    elif organisation is None and role == Role.SETTING:
        organisation = factories.create_setting(session).urn
    elif organisation is None and role == Role.LOCAL_AUTHORITY:
        organisation = "201"
    user = create_user(
        session,
        email=kw.pop("email", f"{role.value}-{next(_numbers)}@example.com"),
        role=role,
        organisation=organisation,
        password=password,
        **kw,
    )
    session.commit()
    return user


@pytest.fixture
def dfe_user(session):
    return create_account(session, role=Role.DFE, email="dfe@example.com", full_name="Dee Eff")
