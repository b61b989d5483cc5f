"""The account rules behind the sign-in and account pages."""

from datetime import timedelta

import pytest

from tests import factories
from tracker.accounts import (
    create_user,
    deactivate_user,
    organisation_name,
    set_password,
    set_password_token,
    sign_in_with_password,
    user_for_set_password_token,
)
from tracker.errors import DomainError
from tracker.models import Role

SECRET = "a secret key for tests"
PASSWORD = "correct horse battery staple"
DAY = timedelta(days=1)


def test_signing_in_answers_none_without_saying_what_was_wrong(session):
    user = create_user(session, email="lee@example.com", role=Role.DFE, password=PASSWORD)

    assert sign_in_with_password(session, email=" LEE@example.com", password=PASSWORD) is user
    assert sign_in_with_password(session, email="lee@example.com", password="not it at all") is None
    assert sign_in_with_password(session, email="nobody@example.com", password=PASSWORD) is None


def test_a_deactivated_account_is_refused_as_a_wrong_password_is(session):
    user = create_user(session, email="lee@example.com", role=Role.DFE, password=PASSWORD)
    user.is_active = False

    assert sign_in_with_password(session, email="lee@example.com", password="not it at all") is None
    assert sign_in_with_password(session, email="lee@example.com", password=PASSWORD) is None


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pass", "12 characters or more"),
        ("x" * 257, "256 characters or fewer"),
        ("aaaaaaaaaaaaaaaa", "repeated"),
        ("abababababab", "repeated"),
        ("123123123123", "repeated"),
        ("password1234", "most common passwords"),
        ("QWERTYUIOP12", "most common passwords"),
        ("Password2026!!", "most common passwords"),
        ("iloveyou123456", "most common passwords"),
        ("lee.wong.1970@example.com", "your email address"),
    ],
)
def test_a_password_easy_to_guess_is_refused(session, password, reason):
    with pytest.raises(DomainError, match=reason) as refused:
        create_user(session, email="lee.wong.1970@example.com", role=Role.DFE, password=password)

    assert refused.value.field == "password"


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "ThreeRandomWords", "bicycle lamp 2027 harbour"]
)
def test_a_long_password_not_easy_to_guess_is_taken_without_rules_of_composition(session, password):
    user = create_user(session, email="lee@example.com", role=Role.DFE, password=password)

    assert sign_in_with_password(session, email="lee@example.com", password=password) is user


def test_signing_in_notes_when(session):
    user = create_user(session, email="lee@example.com", role=Role.DFE, password=PASSWORD)
    sign_in_with_password(session, email="lee@example.com", password=PASSWORD)
    assert user.last_sign_in_dt is not None


def test_a_set_password_link_works_until_a_password_is_set(session):
    user = create_user(session, email="new@example.com", role=Role.DFE)
    token = set_password_token(user, secret_key=SECRET)

    assert user_for_set_password_token(session, token, secret_key=SECRET, max_age=DAY) is user
    set_password(session, user, PASSWORD)

    with pytest.raises(DomainError, match="already been used"):
        user_for_set_password_token(session, token, secret_key=SECRET, max_age=DAY)
    assert sign_in_with_password(session, email="new@example.com", password=PASSWORD) is user


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


def test_the_service_hashes_passwords_with_argon2id_above_owasps_minimum():
    from argon2 import Type

    from tracker.accounts import PASSWORD_HASHER

    assert PASSWORD_HASHER.type is Type.ID
    assert PASSWORD_HASHER.memory_cost >= 19 * 1024 and PASSWORD_HASHER.time_cost >= 2
