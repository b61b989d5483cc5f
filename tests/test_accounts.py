"""The account rules behind the sign-in and account pages."""

from datetime import timedelta

import pytest

from tests import factories
from tracker.accounts import (
    authenticate,
    create_user,
    deactivate_user,
    organisation_name,
    record_sign_in,
    set_password,
    set_password_token,
    user_for_set_password_token,
)
from tracker.errors import DomainError
from tracker.models import Role

SECRET = "a secret key for tests"
PASSWORD = "correct horse battery staple"
DAY = timedelta(days=1)


def test_authenticate_answers_none_without_saying_what_was_wrong(session):
    user = create_user(session, email="lee@example.com", role=Role.DFE, password=PASSWORD)

    assert authenticate(session, email=" LEE@example.com", password=PASSWORD) is user
    assert authenticate(session, email="lee@example.com", password="not it at all") is None
    assert authenticate(session, email="nobody@example.com", password=PASSWORD) is None


def test_a_deactivated_account_is_refused_with_a_reason_only_for_its_right_password(session):
    user = create_user(session, email="lee@example.com", role=Role.DFE, password=PASSWORD)
    user.is_active = False

    assert authenticate(session, email="lee@example.com", password="not it at all") is None
    with pytest.raises(DomainError, match="deactivated"):
        authenticate(session, email="lee@example.com", password=PASSWORD)


def test_record_sign_in_notes_when(session):
    user = create_user(session, email="lee@example.com", role=Role.DFE, password=PASSWORD)
    record_sign_in(session, user, PASSWORD)
    assert user.last_sign_in_dt is not None


def test_a_set_password_link_works_until_a_password_is_set(session):
    user = create_user(session, email="new@example.com", role=Role.DFE)
    token = set_password_token(user, secret_key=SECRET)

    assert user_for_set_password_token(session, token, secret_key=SECRET, max_age=DAY) is user
    set_password(session, user, PASSWORD)

    with pytest.raises(DomainError, match="already been used"):
        user_for_set_password_token(session, token, secret_key=SECRET, max_age=DAY)
    assert authenticate(session, email="new@example.com", password=PASSWORD) is user


def test_a_set_password_link_carries_no_password_hash(session):
    user = create_user(session, email="new@example.com", role=Role.DFE, password=PASSWORD)
    token = set_password_token(user, secret_key=SECRET)
    # The payload is only signed, so anyone holding the link can read it.
    assert user.password_hash.split("$")[-1] not in token
    assert "argon2" not in token


def test_a_set_password_link_from_another_key_or_for_a_deactivated_account_fails(session):
    user = create_user(session, email="new@example.com", role=Role.DFE)
    token = set_password_token(user, secret_key=SECRET)

    with pytest.raises(DomainError, match="not valid"):
        user_for_set_password_token(session, token, secret_key="another key", max_age=DAY)
    user.is_active = False
    with pytest.raises(DomainError, match="no longer valid"):
        user_for_set_password_token(session, token, secret_key=SECRET, max_age=DAY)


def test_a_password_too_short_is_refused(session):
    user = create_user(session, email="new@example.com", role=Role.DFE)
    with pytest.raises(DomainError, match="12 characters"):
        set_password(session, user, "short")
    assert user.password_hash is None


def test_deactivating_an_account(session):
    dfe = create_user(session, email="dfe@example.com", role=Role.DFE)
    user = create_user(
        session, email="la@example.com", role=Role.LOCAL_AUTHORITY, organisation="201"
    )

    deactivate_user(session, user, by=dfe)

    assert not user.is_active
    with pytest.raises(DomainError, match="already deactivated"):
        deactivate_user(session, user, by=dfe)
    with pytest.raises(DomainError, match="your own account"):
        deactivate_user(session, dfe, by=dfe)


def test_organisation_name_says_which_organisation_and_its_code(session):
    provider = factories.create_provider(session, name="Best Training", ukprn="10000042")
    user = create_user(session, email="p@example.com", role=Role.PROVIDER, organisation="10000042")
    dfe = create_user(session, email="d@example.com", role=Role.DFE)

    assert organisation_name(user) == f"{provider.name} (UKPRN 10000042)"
    assert organisation_name(dfe) == "Department for Education"
