"""DfE staff create and deactivate accounts; a new account sets its password by a one-time link."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from tests import factories
from tests.browser import banner, error_summary, heading, page, sign_in, submit, text
from tests.web.conftest import PASSWORD, create_account
from tracker.accounts import create_user
from tracker.models import AuditEvent, Role, User

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def dfe_client(client, dfe_user):
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    return client


def created_link(response) -> str:
    """The set-password link shown to DfE after creating an account."""
    return text(page(response).select_one("[data-set-password-link] code"))


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.SETTING, Role.LOCAL_AUTHORITY])
def test_only_dfe_staff_may_use_the_admin_pages(client, session, dfe_user, role):
    user = create_account(session, role=role)
    sign_in(client, user.email, PASSWORD)

    for url in ["/admin/", "/admin/accounts", "/admin/accounts/new", f"/admin/accounts/{user.id}"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert heading(response) == "You do not have permission to see this page"
    # A POST needs a CSRF token: the one in the header's sign-out form will do.
    response = submit(client, f"/admin/accounts/{dfe_user.id}/deactivate", form_url="/cookies")
    assert response.status_code == 403
    assert dfe_user.is_active


def test_the_admin_pages_ask_a_stranger_to_sign_in(client):
    response = client.get("/admin/accounts/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_dfe_creates_an_account_and_gets_its_set_password_link(dfe_client, session):
    """The account, its set-password link, and the audit trail naming who created it."""
    provider = factories.create_provider(session, ukprn="10000001")
    session.commit()

    response = submit(
        dfe_client,
        "/admin/accounts/new",
        {
            "full_name": "  Pat   Provider ",
            "email": "Pat@Provider.example",
            "role": "provider",
            "organisation": " 10000001 ",
        },
    )

    assert response.status_code == 302
    account = dfe_client.get(response.headers["Location"])
    assert banner(account) == "Account created for pat@provider.example"
    rows = {
        text(row.select_one("dt")): text(row.select_one("dd"))
        for row in page(account).select(".govuk-summary-list__row")
    }
    assert rows["Name"] == "Pat Provider"
    assert rows["Role"] == "Training provider"
    assert rows["Organisation"] == f"{provider.name} (UKPRN 10000001)"
    assert rows["Status"] == "Password not set"
    assert created_link(account).startswith("http://localhost/set-password/")
    user = session.scalars(sa.select(User).where(User.email == "pat@provider.example")).one()
    created = session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "users", AuditEvent.entity_id == user.id
        )
    ).one()
    assert (created.action, created.actor) == ("create", "dfe@example.com")


def test_the_create_form_shows_what_is_missing(dfe_client):
    response = submit(dfe_client, "/admin/accounts/new", {})

    assert text(page(response).select_one("title")).startswith("Error: Create an account")
    assert error_summary(response) == [
        ("Enter the person's full name", "#full_name"),
        ("Enter an email address", "#email"),
        ("Select what they will do in the service", "#role"),
    ]


BROKEN_RULES = [
    ({"role": "provider", "organisation": "19999999"}, "No provider has UKPRN 19999999"),
    ({"role": "setting"}, "A setting account needs an organisation"),
    ({"role": "dfe", "email": "dfe@example.com"}, "An account for dfe@example.com already exists"),
    ({"role": "dfe", "email": "not an email"}, "Enter an email address in the correct format"),
]


@pytest.mark.parametrize(("fields", "message"), BROKEN_RULES)
def test_the_rules_for_accounts_are_shown_on_their_fields(dfe_client, fields, message):
    data = {"full_name": "Someone", "email": "someone@example.com", "organisation": "", **fields}

    response = submit(dfe_client, "/admin/accounts/new", data)

    assert response.status_code == 200
    field = "#email" if "email" in fields else "#organisation"
    assert error_summary(response) == [(message, field)]
    assert page(response).select_one("input#full_name")["value"] == "Someone"


def test_the_accounts_list_is_paginated(dfe_client, session):
    for n in range(30):  # no password, so no slow hashing
        create_user(session, email=f"person{n:02}@example.com", role=Role.DFE)
    session.commit()

    first = page(dfe_client.get("/admin/accounts"))
    assert text(first.select_one("table[data-accounts] caption")) == "31 accounts, page 1 of 2"
    assert len(first.select("table[data-accounts] tbody tr")) == 25
    next_link = first.select_one(".govuk-pagination__next a")["href"]
    assert next_link == "/admin/accounts?page=2"

    second = page(dfe_client.get(next_link))
    assert len(second.select("table[data-accounts] tbody tr")) == 6
    assert second.select_one(".govuk-pagination__next") is None
    assert dfe_client.get("/admin/accounts?page=9").status_code == 404


def test_dfe_deactivates_an_account_after_confirming(dfe_client, other_client, session):
    user = create_account(session, role=Role.LOCAL_AUTHORITY)
    sign_in(other_client, user.email, PASSWORD)
    confirm_url = f"/admin/accounts/{user.id}/deactivate"

    confirm = dfe_client.get(confirm_url)
    assert heading(confirm) == f"Are you sure you want to deactivate the account for {user.email}?"
    response = submit(dfe_client, confirm_url)

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/accounts"
    assert banner(dfe_client.get("/admin/accounts")) == (
        f"The account for {user.email} has been deactivated"
    )
    session.refresh(user)
    assert not user.is_active
    # Signed in elsewhere, they are signed out at their next request.
    assert other_client.get("/local-authority/").status_code == 302
    assert sign_in(other_client, user.email, PASSWORD).status_code == 200


def test_dfe_staff_cannot_deactivate_themselves(dfe_client, dfe_user):
    account = page(dfe_client.get(f"/admin/accounts/{dfe_user.id}"))
    assert account.select_one(f"a[href='/admin/accounts/{dfe_user.id}/deactivate']") is None

    response = submit(dfe_client, f"/admin/accounts/{dfe_user.id}/deactivate")

    assert error_summary(response) == [("You cannot deactivate your own account", None)]
    assert dfe_user.is_active


def test_the_set_password_link_works_once(app, dfe_client, other_client, session):
    response = submit(
        dfe_client,
        "/admin/accounts/new",
        {"full_name": "New Person", "email": "new@example.com", "role": "dfe"},
    )
    link = created_link(dfe_client.get(response.headers["Location"]))
    path = link.removeprefix("http://localhost")

    form = other_client.get(path)
    assert heading(form) == "Create your password"
    assert "new@example.com" in text(page(form).select_one("main"))
    response = submit(other_client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in"
    assert banner(other_client.get("/sign-in")) == (
        "Your password has been set. You can now sign in."
    )
    assert sign_in(other_client, "new@example.com", NEW_PASSWORD).headers["Location"] == "/dfe/"

    used = other_client.get(path)
    assert used.status_code == 400
    assert heading(used) == "This link cannot be used"
    assert "already been used" in text(page(used).select_one("main"))
    # Once a password is set, DfE is shown no new link for the account.
    user = session.scalars(sa.select(User).where(User.email == "new@example.com")).one()
    assert (
        page(dfe_client.get(f"/admin/accounts/{user.id}")).select_one("[data-set-password-link]")
        is None
    )


def test_the_passwords_must_match_and_be_long_enough(dfe_client, other_client):
    response = submit(
        dfe_client,
        "/admin/accounts/new",
        {"full_name": "New Person", "email": "new@example.com", "role": "dfe"},
    )
    path = created_link(dfe_client.get(response.headers["Location"])).removeprefix(
        "http://localhost"
    )

    short = submit(other_client, path, {"password": "too short", "confirm": "too short"})
    assert error_summary(short) == [("Your password must be 12 characters or more", "#password")]
    different = submit(other_client, path, {"password": NEW_PASSWORD, "confirm": "something else"})
    assert error_summary(different) == [("The passwords you entered do not match", "#confirm")]
    # Neither used the link up.
    assert other_client.get(path).status_code == 200


def test_an_old_or_altered_link_cannot_be_used(app, dfe_client, other_client, monkeypatch):
    response = submit(
        dfe_client,
        "/admin/accounts/new",
        {"full_name": "New Person", "email": "new@example.com", "role": "dfe"},
    )
    path = created_link(dfe_client.get(response.headers["Location"])).removeprefix(
        "http://localhost"
    )

    altered = other_client.get(path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb"))
    assert altered.status_code == 400
    assert "This link is not valid" in text(page(altered).select_one("main"))

    max_age = app.config["SET_PASSWORD_LINK_MAX_AGE"]
    now = TimestampSigner.get_timestamp
    later = max_age + timedelta(minutes=1)
    monkeypatch.setattr(
        TimestampSigner, "get_timestamp", lambda s: now(s) + int(later.total_seconds())
    )
    expired = other_client.get(path)
    assert expired.status_code == 400
    assert "This link has expired" in text(page(expired).select_one("main"))
