"""Sessions are kept on the server: signing out, a new password or deactivation end them,
and a copy of the cookie replayed afterwards signs no one in."""

from datetime import timedelta

import sqlalchemy as sa

from tests.browser import csrf_token, sign_in, sign_out, submit
from tests.web.conftest import PASSWORD, create_account
from tracker.accounts import set_password
from tracker.models import Role, UserSession


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(client, cookie: str):
    client.set_cookie("session", cookie)
    return client.get("/provider/")


def test_a_cookie_replayed_after_signing_out_signs_no_one_in(client, session):
    user = create_account(session, role=Role.PROVIDER)
    sign_in(client, user.email, PASSWORD)
    assert client.get("/provider/").status_code == 200
    stolen = _cookie(client)

    sign_out(client)
    response = _replay(client, stolen)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")
    assert session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


def test_signing_out_in_one_browser_leaves_the_other_signed_in(client, other_client, session):
    user = create_account(session, role=Role.PROVIDER)
    sign_in(client, user.email, PASSWORD)
    sign_in(other_client, user.email, PASSWORD)

    sign_out(client)

    assert client.get("/provider/").status_code == 302
    assert other_client.get("/provider/").status_code == 200


def test_a_new_password_ends_every_session(client, other_client, session):
    user = create_account(session, role=Role.PROVIDER)
    sign_in(client, user.email, PASSWORD)
    sign_in(other_client, user.email, PASSWORD)
    stolen = _cookie(other_client)

    set_password(session, user, "a new and different passphrase")
    session.commit()

    assert client.get("/provider/").status_code == 302
    assert _replay(other_client, stolen).status_code == 302


def test_deactivating_an_account_ends_its_sessions(client, other_client, session, dfe_user):
    user = create_account(session, role=Role.PROVIDER)
    sign_in(other_client, user.email, PASSWORD)
    stolen = _cookie(other_client)
    sign_in(client, dfe_user.email, PASSWORD)

    submit(client, f"/admin/accounts/{user.id}/deactivate")

    assert session.scalar(sa.select(UserSession.id).where(UserSession.user_id == user.id)) is None
    assert _replay(other_client, stolen).status_code == 302


def test_a_session_ends_at_its_absolute_lifetime_however_busy(app, client, session):
    user = create_account(session, role=Role.PROVIDER)
    sign_in(client, user.email, PASSWORD)
    lifetime = app.config["SESSION_ABSOLUTE_LIFETIME"]
    token = csrf_token(client, "/provider/")
    assert client.post("/session/keep-alive", headers={"X-CSRFToken": token}).status_code == 204

    # Signed in just under the lifetime ago: still in; just over: out, keep-alive or not.
    started = session.scalar(sa.select(UserSession.created_dt))
    session.execute(
        sa.update(UserSession).values(created_dt=started - lifetime + timedelta(minutes=1))
    )
    session.commit()
    assert client.get("/provider/").status_code == 200
    session.execute(
        sa.update(UserSession).values(created_dt=started - lifetime - timedelta(minutes=1))
    )
    session.commit()
    assert client.get("/provider/").status_code == 302


def test_a_session_id_from_another_account_signs_no_one_in(app, client, other_client, session):
    provider_user = create_account(session, role=Role.PROVIDER)
    other_user = create_account(session, role=Role.PROVIDER)
    sign_in(client, provider_user.email, PASSWORD)
    sign_in(other_client, other_user.email, PASSWORD)
    with other_client.session_transaction() as theirs:
        their_session_id = theirs["session_id"]

    with client.session_transaction() as mine:
        mine["session_id"] = their_session_id

    assert client.get("/provider/").status_code == 302
