"""DfE staff read the sign-in history: each attempt, newest first, filtered and paged."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.browser import error_summary, page, sign_in, text
from tests.web.conftest import PASSWORD, create_account
from tracker.models import AuditEvent, Role, SignInAttempt, SignInOutcome


@pytest.fixture
def dfe_client(client, dfe_user):
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    return client


def shown(response) -> list[tuple[str, str]]:
    """Each attempt on the page: (email address, outcome)."""
    return [
        (text(row.select_one("[data-email]")), row.select_one("[data-outcome]")["data-outcome"])
        for row in page(response).select("[data-attempt]")
    ]


def test_sign_ins_through_the_page_are_in_the_history_and_not_in_the_audit_trail(
    client, other_client, session, dfe_user
):
    other_client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (Macintosh) Safari/605"
    sign_in(other_client, "DFE@example.com", "not the password")
    sign_in(other_client, "someone@example.com", "a guess")
    sign_in(client, dfe_user.email, PASSWORD)
    audited_before = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    response = client.get("/dfe/sign-ins")

    assert shown(response) == [
        ("dfe@example.com", "signed-in"),
        ("someone@example.com", "unknown-email"),
        ("dfe@example.com", "wrong-password"),
    ]
    rows = page(response).select("[data-attempt]")
    assert text(rows[2].select_one("[data-outcome]")) == "Wrong password"
    assert text(rows[2].select_one("[data-address]")) == "192.0.2.1"
    assert text(rows[2].select_one("[data-user-agent]")) == "Mozilla/5.0 (Macintosh) Safari/605"
    # An attempt on a known account links the account.
    assert rows[0].select_one("[data-email] a")["href"] == f"/admin/accounts/{dfe_user.id}"
    assert rows[1].select_one("[data-email] a") is None
    caption = text(page(response).select_one("[data-sign-ins] caption"))
    assert caption == "3 attempts to sign in"
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audited_before
    assert not session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "sign_in_attempts")
    ).all()


def attempt(session, *, when, email="lee@example.com", outcome=SignInOutcome.SIGNED_IN):
    session.execute(
        sa.insert(SignInAttempt).values(
            attempted_dt=when, email=email, outcome=outcome, address="198.51.100.4"
        )
    )


def test_the_history_is_filtered_by_email_address_and_outcome(dfe_client, session):
    when = datetime(2026, 3, 1, 9, tzinfo=UTC)
    attempt(session, when=when, email="ann@example.com", outcome=SignInOutcome.WRONG_PASSWORD)
    attempt(session, when=when, email="joann@example.com")
    attempt(session, when=when, email="", outcome=SignInOutcome.UNKNOWN_EMAIL)

    by_email = shown(dfe_client.get("/dfe/sign-ins?email=+ANN@example.com"))
    by_outcome = shown(dfe_client.get("/dfe/sign-ins?outcome=unknown-email"))

    assert by_email == [("ann@example.com", "wrong-password")]
    assert by_outcome == [("Not an email address", "unknown-email")]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("outcome=guessed", "Select an outcome from the list"),
        ("email=a%00b", "Email address must not contain special characters"),
        (f"email={'a' * 255}", "Email address must be 254 characters or fewer"),
    ],
)
def test_impossible_filters_are_errors_not_crashes(dfe_client, session, query, message):
    response = dfe_client.get(f"/dfe/sign-ins?{query}")

    assert response.status_code == 200
    assert [m for m, _ in error_summary(response)] == [message]
    assert shown(response) == []


def test_the_history_is_paged_newest_first(dfe_client, session):
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    for minute in range(55):
        attempt(session, when=start + timedelta(minutes=minute), email=f"p{minute}@example.com")

    first = shown(dfe_client.get("/dfe/sign-ins?outcome=signed-in&email="))
    second = shown(dfe_client.get("/dfe/sign-ins?outcome=signed-in&email=&page=2"))

    # 55 made here, and the DfE user's own sign-in (the newest).
    assert len(first) == 50 and len(second) == 6
    assert first[:2] == [("dfe@example.com", "signed-in"), ("p54@example.com", "signed-in")]
    assert second[-1] == ("p0@example.com", "signed-in")
    assert dfe_client.get("/dfe/sign-ins?page=3").status_code == 404


def test_the_history_is_linked_from_home_the_audit_trail_and_each_account(
    dfe_client, session, dfe_user
):
    for url in ("/dfe/", "/dfe/audit", f"/admin/accounts/{dfe_user.id}"):
        links = [a["href"] for a in page(dfe_client.get(url)).select("main a")]
        assert any(href.startswith("/dfe/sign-ins") for href in links), url
    account = page(dfe_client.get(f"/admin/accounts/{dfe_user.id}"))
    link = account.select_one("main a[href^='/dfe/sign-ins']")
    assert link["href"] == "/dfe/sign-ins?email=dfe@example.com"
    assert shown(dfe_client.get(link["href"])) == [("dfe@example.com", "signed-in")]


def test_only_dfe_sees_the_history(client, session):
    user = create_account(session, role=Role.PROVIDER)
    sign_in(client, user.email, PASSWORD)
    assert client.get("/dfe/sign-ins").status_code == 403
