"""Every attempt to sign in goes in the sign-in history, and none in the audit trail."""

import pytest
import sqlalchemy as sa

from tracker.accounts import create_user, deactivate_user, set_password, sign_in_with_password
from tracker.models import AuditEvent, Role, SignInAttempt, SignInOutcome
from tracker.sign_ins import USER_AGENT_LENGTH

PASSWORD = "correct horse battery staple"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0"


def attempts(session) -> list[tuple]:
    return [
        (a.email, a.user_id, a.outcome, a.address, a.user_agent)
        for a in session.scalars(sa.select(SignInAttempt).order_by(SignInAttempt.id))
    ]


def audit_events(session) -> list[tuple]:
    return session.execute(
        sa.select(AuditEvent.action, AuditEvent.entity_type, AuditEvent.changes).order_by(
            AuditEvent.id
        )
    ).all()


def test_each_attempt_is_kept_with_its_outcome_address_and_browser(session):
    lee = create_user(session, email="lee@example.com", role=Role.DFE, password=PASSWORD)
    new = create_user(session, email="new@example.com", role=Role.DFE)
    gone = create_user(session, email="gone@example.com", role=Role.DFE, password=PASSWORD)
    gone.is_active = False
    tries = [
        (" LEE@example.com", PASSWORD),
        ("lee@example.com", "not the password"),
        ("nobody@example.com", PASSWORD),
        ("new@example.com", PASSWORD),
        ("gone@example.com", PASSWORD),
    ]

    signed_in = [
        sign_in_with_password(
            session, email=email, password=password, address="192.0.2.7", user_agent=BROWSER
        )
        for email, password in tries
    ]

    assert signed_in == [lee, None, None, None, None]
    assert attempts(session) == [
        ("lee@example.com", lee.id, SignInOutcome.SIGNED_IN, "192.0.2.7", BROWSER),
        ("lee@example.com", lee.id, SignInOutcome.WRONG_PASSWORD, "192.0.2.7", BROWSER),
        ("nobody@example.com", None, SignInOutcome.UNKNOWN_EMAIL, "192.0.2.7", BROWSER),
        ("new@example.com", new.id, SignInOutcome.NO_PASSWORD_YET, "192.0.2.7", BROWSER),
        ("gone@example.com", gone.id, SignInOutcome.DEACTIVATED, "192.0.2.7", BROWSER),
    ]


@pytest.mark.parametrize("typed", [PASSWORD, "lee", "lee@", "@example.com"])
def test_what_is_typed_as_the_email_address_is_kept_only_when_it_is_one(session, typed):
    # A password typed in the wrong box must not land in the history.
    sign_in_with_password(session, email=typed, password="anything at all")

    assert attempts(session) == [("", None, SignInOutcome.UNKNOWN_EMAIL, None, None)]


def test_the_browser_is_kept_without_control_characters_and_cut_to_length(session):
    sign_in_with_password(
        session,
        email="lee@example.com",
        password=PASSWORD,
        address="2001:db8::1",
        user_agent="Agent\r\nX-Injected: yes\x00" + "x" * 400,
    )

    [(_email, _user, _outcome, address, user_agent)] = attempts(session)
    assert address == "2001:db8::1"
    assert user_agent.startswith("AgentX-Injected: yes")
    assert len(user_agent) == USER_AGENT_LENGTH


def test_signing_in_writes_no_audit_row_but_changes_to_the_account_still_do(session):
    lee = create_user(session, email="lee@example.com", role=Role.DFE, password=PASSWORD)
    admin = create_user(session, email="admin@example.com", role=Role.DFE, password=PASSWORD)
    session.flush()
    before = len(audit_events(session))

    for _ in range(3):
        assert sign_in_with_password(session, email="lee@example.com", password=PASSWORD) is lee
    sign_in_with_password(session, email="lee@example.com", password="wrong password")
    assert len(audit_events(session)) == before
    assert lee.last_sign_in_dt is not None

    deactivate_user(session, lee, by=admin)
    session.flush()
    assert audit_events(session)[before:] == [
        ("update", "users", {"is_active": [True, False]}),
    ]


def test_no_password_nor_its_hash_is_kept_anywhere_a_sign_in_writes(session):
    create_user(session, email="lee@example.com", role=Role.DFE, password=PASSWORD)
    sign_in_with_password(session, email="lee@example.com", password=PASSWORD)
    sign_in_with_password(session, email="lee@example.com", password="a wrong guess")

    kept = " ".join(map(str, attempts(session) + audit_events(session)))
    assert PASSWORD not in kept
    assert "a wrong guess" not in kept
    assert "argon2" not in kept


def test_a_new_password_is_in_the_audit_trail_but_never_its_value(session):
    lee = create_user(session, email="lee@example.com", role=Role.DFE, password=PASSWORD)
    created = audit_events(session)[-1]
    set_password(session, lee, "another long passphrase of mine")

    assert created[2]["password_hash"] == "set"
    assert audit_events(session)[-1] == ("update", "users", {"password_hash": "changed"})
    kept = " ".join(map(str, audit_events(session)))
    assert "argon2" not in kept
    assert "another long passphrase" not in kept
