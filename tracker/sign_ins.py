"""The sign-in history: each attempt to sign in, and how it ended.

Rows are written with plain statements, outside the audit trail: a sign-in changes none of
the service's records, and would otherwise bury the changes that do.
"""

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import SignInAttempt, SignInOutcome, User
from tracker.models.base import utcnow
from tracker.participants import is_email_address, normalise_email

ADDRESS_LENGTH = SignInAttempt.address.type.length
USER_AGENT_LENGTH = SignInAttempt.user_agent.type.length
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _header_text(value: str | None, length: int) -> str | None:
    """A header's value as it may be kept: no control characters, no longer than the column."""
    if not value:
        return None
    return _CONTROL_CHARACTERS.sub("", value)[:length] or None


def record_attempt(
    session: Session,
    *,
    email: str,
    user: User | None,
    outcome: SignInOutcome,
    address: str | None,
    user_agent: str | None,
) -> None:
    """Add an attempt to sign in to the history.

    What was typed as the email address is kept only when it names an account or is an email
    address: anything else may be a password typed in the wrong box.
    """
    email = normalise_email(email)
    if user is None and not is_email_address(email):
        email = ""
    session.execute(
        sa.insert(SignInAttempt).values(
            attempted_dt=utcnow(),
            user_id=user.id if user is not None else None,
            email=email,
            outcome=outcome,
            address=_header_text(address, ADDRESS_LENGTH),
            user_agent=_header_text(user_agent, USER_AGENT_LENGTH),
        )
    )


# How each outcome reads on DfE's page (the person signing in was told only "Enter a correct
# email address and password").
OUTCOME_LABELS = {
    SignInOutcome.SIGNED_IN: "Signed in",
    SignInOutcome.UNKNOWN_EMAIL: "No account has this email address",
    SignInOutcome.NO_PASSWORD_YET: "The account has no password yet",
    SignInOutcome.WRONG_PASSWORD: "Wrong password",
    SignInOutcome.DEACTIVATED: "The account is deactivated (the password was right)",
}
