"""Input anyone can type that no record can hold: refused with a 4xx and a reason, never a 500."""

import pytest

from tests.browser import error_summary, page, sign_in, submit, text
from tests.web.conftest import PASSWORD, create_account
from tracker.models import Role, User


@pytest.fixture
def dfe_client(client, dfe_user):
    sign_in(client, dfe_user.email, PASSWORD)
    return client


def test_a_nul_in_the_sign_in_email_is_a_wrong_sign_in_not_a_crash(client, dfe_user):
    response = sign_in(client, "dfe\x00@example.com", PASSWORD)

    assert response.status_code == 200
    assert error_summary(response) == [("Enter a correct email address and password", "#email")]


@pytest.mark.parametrize(
    "target",
    [
        "/dfe/\r\nSet-Cookie: x=1",
        "/dfe/\x00",
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "/" + "a" * 5000,
    ],
)
def test_sign_in_goes_home_when_the_page_to_go_back_to_is_not_a_plain_path(
    client, dfe_user, target
):
    url = "/sign-in"
    token = page(client.get(url)).select_one("input[name=csrf_token]")["value"]
    response = client.post(
        url,
        query_string={"next": target},
        data={"email": dfe_user.email, "password": PASSWORD, "csrf_token": token},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/dfe/"


def test_sign_in_goes_back_to_a_plain_path(client, dfe_user):
    token = page(client.get("/sign-in")).select_one("input[name=csrf_token]")["value"]
    response = client.post(
        "/sign-in?next=/dfe/reminders/",
        data={"email": dfe_user.email, "password": PASSWORD, "csrf_token": token},
    )

    assert response.headers["Location"] == "/dfe/reminders/"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "a" * 250 + "@example.com"}, "Email address must be 254 characters or fewer"),
        (
            {"email": "new\x00@example.com"},
            "Enter an email address in the correct format, like name@example.com",
        ),
        ({"full_name": "New\x00Person"}, "Full name must not contain special characters"),
        (
            {"role": "provider", "organisation": "1000\x000001"},
            "Organisation code must not contain special characters",
        ),
        (
            {"role": "provider", "organisation": "1" * 300},
            "Organisation code must be 20 characters or fewer",
        ),
    ],
)
def test_account_fields_no_record_can_hold_are_refused_on_the_form(
    dfe_client, session, fields, message
):
    data = {"full_name": "New Person", "email": "new@example.com", "role": "dfe", **fields}

    response = submit(dfe_client, "/admin/accounts/new", data)

    assert response.status_code == 200
    assert [m for m, _ in error_summary(response)] == [message]
    assert session.query(User).count() == 1


@pytest.mark.parametrize("user_id", ["2147483648", "99999999999999999999", "0"])
def test_an_account_id_out_of_range_is_not_found(dfe_client, user_id):
    assert dfe_client.get(f"/admin/accounts/{user_id}").status_code == 404
    assert dfe_client.get(f"/admin/accounts/{user_id}/deactivate").status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"subject": "Hello\r\nBcc: everyone@example.com"},
            "The subject must be one line, without special characters",
        ),
        ({"subject": "Hello\x00"}, "The subject must be one line, without special characters"),
        ({"body": "Dear ${recipient_name}\x00"}, "The wording must not contain special characters"),
    ],
)
def test_reminder_fields_no_mail_can_carry_are_refused(dfe_client, fields, message):
    data = {
        "days": "45",
        "audience": ["participant"],
        "subject": "Nothing recorded",
        "body": "Dear ${recipient_name}",
        "is_enabled": "yes",
        **fields,
    }

    response = submit(dfe_client, "/dfe/reminders/npq-senco/no-progress", data)

    assert response.status_code == 200
    assert [m for m, _ in error_summary(response)] == [message]


@pytest.mark.parametrize(
    "path", ["/dfe/reminders/%00/%00", "/dfe/reminders/npq-senco/%00", "/dfe/programmes/a%00b"]
)
def test_a_nul_in_an_address_is_not_found(dfe_client, path):
    assert dfe_client.get(path).status_code == 404


def test_a_local_authority_asking_for_a_nul_area_is_not_found(client, session):
    user = create_account(session, role=Role.LOCAL_AUTHORITY)
    sign_in(client, user.email, PASSWORD)

    assert client.get("/dashboard/la/%00").status_code == 404
    assert client.get("/dashboard/la/" + "9" * 1000).status_code == 404


def test_a_value_longer_than_any_field_is_refused(dfe_client):
    response = dfe_client.get("/dfe/audit", query_string={"actor": "a" * 20_001})

    assert response.status_code == 400
    assert "longer than 20,000 characters" in text(page(response).select_one("[data-reason]"))
