"""Signing in and out: sessions, failed sign-ins and their throttling, CSRF, time-outs."""

import pytest
from flask import url_for
from itsdangerous import TimestampSigner

from tests.browser import banner, csrf_token, error_summary, heading, page, sign_in, sign_out, text
from tests.web.conftest import PASSWORD, create_account
from tracker.models import Role


def test_signing_in_goes_to_the_home_page_for_the_role(client, session):
    user = create_account(session, role=Role.SETTING, full_name="Sam Setting")

    response = sign_in(client, user.email, PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/setting/"
    home = client.get("/setting/")
    assert heading(home) == "Home"
    assert text(page(home).select_one("[data-signed-in-as]")) == (
        f"You are signed in as Sam Setting for {user.setting.name} (URN {user.setting.urn})."
    )
    navigation = page(home).select(".govuk-service-navigation__item")
    assert [text(item) for item in navigation] == ["Home", "Find a cohort", "Claims", "Sign out"]
    assert navigation[0].select_one("a")["aria-current"] == "page"
    assert user.last_sign_in_dt is not None


def test_each_audience_sees_only_its_own_pages(client, session):
    user = create_account(session, role=Role.PROVIDER)
    sign_in(client, user.email, PASSWORD)

    assert client.get("/provider/").status_code == 200
    for other in ["/dfe/", "/setting/", "/local-authority/"]:
        response = client.get(other)
        assert response.status_code == 403, other
        assert heading(response) == "You do not have permission to see this page"


def test_signing_in_starts_a_new_session_that_times_out(app, client, dfe_user):
    with client.session_transaction() as before:
        before["left-over"] = "from before signing in"

    response = sign_in(client, dfe_user.email, PASSWORD)

    with client.session_transaction() as after:
        assert "left-over" not in after
        assert after.permanent
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie


def test_the_session_ends_after_30_minutes_without_a_request(client, dfe_user, monkeypatch):
    sign_in(client, dfe_user.email, PASSWORD)
    now = TimestampSigner.get_timestamp

    def minutes_later(minutes):
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda s: now(s) + minutes * 60)

    # Each request starts the 30 minutes again: 29 minutes, then 29 more, is still signed in.
    minutes_later(29)
    assert client.get("/dfe/").status_code == 200
    minutes_later(58)
    assert client.get("/dfe/").status_code == 200
    minutes_later(58 + 31)
    response = client.get("/dfe/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_a_wrong_password_shows_the_error_and_keeps_the_email(client, dfe_user):
    response = sign_in(client, "  DFE@example.com ", "not the password")

    assert response.status_code == 200
    assert text(page(response).select_one("title")).startswith("Error: Sign in")
    assert error_summary(response) == [("Enter a correct email address and password", "#email")]
    html = page(response)
    assert html.select_one("input#email")["value"] == "  DFE@example.com "
    assert "Enter a correct email address and password" in text(html.select_one("#email-error"))
    assert not html.select_one("input#password").get("value")
    assert client.get("/dfe/").status_code == 302


def test_an_unknown_email_gets_the_same_error(client):
    response = sign_in(client, "nobody@example.com", "whatever it is")
    assert error_summary(response) == [("Enter a correct email address and password", "#email")]


def test_empty_fields_are_asked_for(client):
    response = sign_in(client, "", "")
    assert error_summary(response) == [
        ("Enter your email address", "#email"),
        ("Enter your password", "#password"),
    ]


def test_an_account_without_a_password_cannot_sign_in(client, session):
    user = create_account(session, password=None)
    response = sign_in(client, user.email, "")
    assert error_summary(response) == [("Enter your password", "#password")]
    response = sign_in(client, user.email, "anything at all")
    assert error_summary(response)[0][0] == "Enter a correct email address and password"


def test_a_deactivated_account_gets_the_answer_a_wrong_password_gets(client, session):
    # Told apart, the answer would confirm to whoever holds the password that it is right.
    user = create_account(session)
    user.is_active = False
    session.commit()

    right = sign_in(client, user.email, PASSWORD)
    wrong = sign_in(client, user.email, "not the password at all")

    assert error_summary(right) == error_summary(wrong)
    assert error_summary(right) == [("Enter a correct email address and password", "#email")]
    assert client.get("/dfe/").status_code == 302


def test_the_11th_wrong_password_in_a_row_is_refused(client, other_client, session, dfe_user):
    for attempt in range(10):
        response = sign_in(client, dfe_user.email, f"wrong password {attempt}")
        assert response.status_code == 200, attempt

    response = sign_in(client, dfe_user.email, "wrong password 10")

    assert response.status_code == 429
    assert heading(response) == "Sorry, there have been too many attempts"
    assert "You can try again in 15 minutes." in text(page(response).select_one("main"))
    assert int(response.headers["Retry-After"]) == 15 * 60
    # Even the right password waits: guessing cannot go on.
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 429
    # Another account from elsewhere is not held up by it.
    other = create_account(session)
    assert sign_in(other_client, other.email, PASSWORD).status_code == 302


def test_signing_in_starts_the_count_of_wrong_passwords_again(app, client, dfe_user, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_IN_FAILURES_PER_ACCOUNT", "3 per 15 minutes")
    for _ in range(2):
        sign_in(client, dfe_user.email, "wrong password")
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    sign_out(client)

    for _ in range(3):
        assert sign_in(client, dfe_user.email, "wrong password").status_code == 200
    assert sign_in(client, dfe_user.email, "wrong password").status_code == 429


def test_wrong_passwords_are_counted_per_address_too(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_IN_FAILURES_PER_ADDRESS", "3 per 15 minutes")
    for n in range(3):
        assert sign_in(client, f"guess{n}@example.com", "a password").status_code == 200

    response = sign_in(client, "guess-again@example.com", "a password")

    assert response.status_code == 429
    assert heading(response) == "Sorry, there have been too many attempts"


def test_signing_out_needs_a_post_with_the_csrf_token(client, dfe_user):
    sign_in(client, dfe_user.email, PASSWORD)

    assert client.get("/sign-out").status_code == 405
    refused = client.post("/sign-out")
    assert refused.status_code == 400
    assert heading(refused) == "Sorry, there is a problem with your request"
    assert client.get("/dfe/").status_code == 200

    response = sign_out(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in"
    assert banner(client.get("/sign-in")) == "You have signed out"
    assert client.get("/dfe/").status_code == 302


def test_every_form_post_without_a_csrf_token_is_refused(app, client, dfe_user):
    sign_in(client, dfe_user.email, PASSWORD)
    api_prefix = "/api/"
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.rule.startswith(api_prefix)
    ]
    assert {rule.endpoint for rule in rules} >= {
        "auth.sign_in",
        "auth.sign_out",
        "auth.keep_alive",
        "auth.set_password_page",
        "admin.create_account",
        "admin.deactivate_account",
    }
    for rule in rules:
        with app.test_request_context():
            url = url_for(rule.endpoint, **{name: 1 for name in rule.arguments})
        response = client.post(url, data={"email": dfe_user.email, "password": PASSWORD})
        assert response.status_code == 400, url
        assert "did not come from this service" in text(page(response).select_one("main"))


def test_keep_alive_restarts_the_session_for_the_warning_script(client, dfe_user):
    sign_in(client, dfe_user.email, PASSWORD)
    token = csrf_token(client, "/dfe/")

    assert client.post("/session/keep-alive", headers={"X-CSRFToken": token}).status_code == 204

    sign_out(client)
    ended = client.post(
        "/session/keep-alive", headers={"X-CSRFToken": csrf_token(client, "/sign-in")}
    )
    assert ended.status_code == 302


def test_the_signed_out_page_says_why(client, dfe_user):
    response = client.get("/signed-out")
    assert heading(response) == "You have been signed out"
    assert "30 minutes" in text(page(response).select_one("main"))
    sign_in(client, dfe_user.email, PASSWORD)
    assert client.get("/signed-out").headers["Location"] == "/dfe/"


def test_a_page_that_needs_an_account_comes_back_after_signing_in(client, dfe_user):
    response = client.get("/admin/accounts")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=%2Fadmin%2Faccounts"

    response = submit_sign_in_form(client, "/sign-in?next=%2Fadmin%2Faccounts", dfe_user.email)

    assert response.headers["Location"] == "/admin/accounts"


@pytest.mark.parametrize("next_page", ["https://example.net/", "//example.net/", "/\\example.net"])
def test_signing_in_never_sends_people_to_another_site(client, dfe_user, next_page):
    response = submit_sign_in_form(client, f"/sign-in?next={next_page}", dfe_user.email)
    assert response.headers["Location"] == "/dfe/"


def submit_sign_in_form(client, url: str, email: str):
    token = csrf_token(client, url)
    return client.post(url, data={"email": email, "password": PASSWORD, "csrf_token": token})
