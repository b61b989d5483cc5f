"""User accounts: who may sign in, for which organisation, with what password."""

import contextlib
import functools
import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from tracker.errors import DomainError
from tracker.models import (
    LocalAuthority,
    Provider,
    Role,
    Setting,
    SignInOutcome,
    User,
    UserSession,
)
from tracker.models.base import utcnow
from tracker.participants import is_email_address, normalise_email
from tracker.passwords import check_password as check_new_password
from tracker.sign_ins import record_attempt

logger = logging.getLogger(__name__)

# argon2-cffi's defaults are RFC 9106's low-memory profile (Argon2id, 64 MiB, t=3),
# above OWASP's minimum for Argon2id.
PASSWORD_HASHER = PasswordHasher()
# What hashes and checks passwords (tests put a cheaper one in its place).
_hasher = PASSWORD_HASHER


def hash_password(password: str, *, email: str | None = None) -> str:
    """Hash a password the rules allow (tracker.passwords); raise DomainError for another."""
    check_new_password(password, email=email)
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_local_authority(session: Session, code: str) -> LocalAuthority | None:
    """Find a local authority by DfE 3-digit code, current ONS code or former ONS code."""
    code = code.strip().upper()
    return session.scalar(
        sa.select(LocalAuthority).where(
            sa.or_(
                LocalAuthority.la_code == code,
                LocalAuthority.ons_code == code,
                LocalAuthority.former_ons_code == code,
            )
        )
    )


def _organisation(session: Session, role: Role, code: str | None) -> dict:
    if role == Role.DFE:
        if code:
            raise DomainError("DfE accounts belong to no organisation", field="organisation")
        return {}
    if not code:
        raise DomainError(f"A {role.value} account needs an organisation", field="organisation")
    code = code.strip()
    if role == Role.PROVIDER:
        provider = session.scalar(sa.select(Provider).where(Provider.ukprn == code))
        if provider is None:
            raise DomainError(f"No provider has UKPRN {code}", field="organisation")
        return {"provider": provider}
    if role == Role.SETTING:
        setting = session.scalar(sa.select(Setting).where(Setting.urn == code.upper()))
        if setting is None:
            raise DomainError(f"No setting has URN {code}", field="organisation")
        return {"setting": setting}
    local_authority = find_local_authority(session, code)
    if local_authority is None:
        raise DomainError(f"No local authority has the code {code}", field="organisation")
    return {"local_authority": local_authority}


def create_user(
    session: Session,
    *,
    email: str,
    role: Role,
    organisation: str | None = None,
    password: str | None = None,
    full_name: str = "",
) -> User:
    """Add an account for one organisation; without a password it cannot sign in yet."""
    email = normalise_email(email)
    if not is_email_address(email):
        raise DomainError("Enter an email address in the correct format", field="email")
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise DomainError(f"An account for {email} already exists", field="email")
    user = User(
        email=email,
        role=role,
        full_name=full_name,
        password_hash=hash_password(password, email=email) if password else None,
        **_organisation(session, role, organisation),
    )
    session.add(user)
    session.flush()
    logger.info("Account %s created with role %s", user.id, role.value)
    return user


def set_password(session: Session, user: User, password: str) -> User:
    """Give the account a new password, ending every session and any set-password link."""
    user.password_hash = hash_password(password, email=user.email)
    session.flush()
    end_all_sessions(session, user)
    logger.info("Account %s set a new password", user.id)
    return user


def deactivate_user(session: Session, user: User, *, by: User) -> User:
    """Stop an account signing in; its records and history stay."""
    if user.id == by.id:
        raise DomainError("You cannot deactivate your own account", field="user")
    if not user.is_active:
        raise DomainError(f"The account for {user.email} is already deactivated", field="user")
    user.is_active = False
    session.flush()
    end_all_sessions(session, user)
    logger.info("Account %s deactivated by %s", user.id, by.id)
    return user


@functools.cache
def _unused_hash() -> str:
    return _hasher.hash("a password no account has")


def authenticate(
    session: Session, *, email: str, password: str
) -> tuple[User | None, SignInOutcome]:
    """Check an email address and password: the account the address names, if any, and the
    outcome, which is ``SIGNED_IN`` only when the account may sign in with that password.
    """
    user = session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None or not user.password_hash:
        # Take as long as a real check, so response times do not tell which emails have accounts.
        with contextlib.suppress(VerificationError):
            _hasher.verify(_unused_hash(), password)
        return user, SignInOutcome.UNKNOWN_EMAIL if user is None else SignInOutcome.NO_PASSWORD_YET
    if not check_password(user, password):
        return user, SignInOutcome.WRONG_PASSWORD
    if not user.is_active:
        return user, SignInOutcome.DEACTIVATED
    return user, SignInOutcome.SIGNED_IN


def sign_in_with_password(
    session: Session,
    *,
    email: str,
    password: str,
    address: str | None = None,
    user_agent: str | None = None,
) -> User | None:
    """Sign in with an email address and a password, recording the attempt in the sign-in
    history: the account signed in, or None whatever was wrong.

    None does not say what was wrong, nor whether the account was deactivated: that answer,
    given only for the right password, would tell whoever holds it that it is right. The
    history says, for DfE.
    """
    user, outcome = authenticate(session, email=email, password=password)
    record_attempt(
        session, email=email, user=user, outcome=outcome, address=address, user_agent=user_agent
    )
    if outcome != SignInOutcome.SIGNED_IN:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    # Bookkeeping, left out of the audit trail (see the column): the history has the sign-in.
    user.last_sign_in_dt = utcnow()
    session.flush()
    logger.info("Account %s signed in", user.id)
    return user


# -- sessions ----------------------------------------------------------------------------
# A signed-in browser holds a random session id in its (signed) cookie; the server keeps a
# hash of it. Signing out, a new password and deactivation delete the row, so a copy of the
# cookie replayed afterwards signs no one in. Rows are written with plain statements, outside
# the audit trail: a sign-in is not a change to the service's records.


# Where the signed cookie keeps the session id.
SESSION_ID_KEY = "session_id"


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(session: Session, user: User, *, lifetime: timedelta) -> str:
    """Record a new signed-in session for the account; return the id for its cookie."""
    now = utcnow()
    # The account's sessions that have outlived their lifetime go as a new one starts.
    session.execute(
        sa.delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.created_dt < now - lifetime
        )
    )
    session_id = secrets.token_urlsafe(32)
    session.execute(
        sa.insert(UserSession).values(
            user_id=user.id, token_hash=_session_hash(session_id), created_dt=now
        )
    )
    return session_id


def session_user(
    session: Session, session_id: str | None, user_id: int, *, lifetime: timedelta
) -> User | None:
    """The active account a session id signs in, if the session is live and is that account's."""
    if not session_id or not isinstance(session_id, str):
        return None
    # One query, as loading the account alone was: every signed-in request makes it.
    return session.scalar(
        sa.select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == _session_hash(session_id),
            User.id == user_id,
            User.is_active.is_(True),
            UserSession.created_dt >= utcnow() - lifetime,
        )
    )


def end_session(session: Session, session_id: str | None) -> None:
    """End one signed-in session (signing out)."""
    if session_id and isinstance(session_id, str):
        session.execute(
            sa.delete(UserSession).where(UserSession.token_hash == _session_hash(session_id))
        )


def end_all_sessions(session: Session, user: User) -> int:
    """End every session of the account, wherever it is signed in."""
    result = session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    if result.rowcount:
        logger.info("Ended %d sessions of account %s", result.rowcount, user.id)
    return result.rowcount


def organisation_name(user: User) -> str:
    """Name the organisation the account acts for, with the code people know it by."""
    if user.provider is not None:
        return f"{user.provider.name} (UKPRN {user.provider.ukprn})"
    if user.setting is not None:
        return f"{user.setting.name} (URN {user.setting.urn})"
    if user.local_authority is not None:
        return f"{user.local_authority.name} (LA code {user.local_authority.la_code})"
    return "Department for Education"


# A set-password link carries the account's id and a digest of its password hash as it
# stood when the link was made: setting a password changes the hash, so the link then
# stops working. A digest, because the link is signed, not encrypted, and anyone holding
# it can read what it carries.
_LINK_SALT = "set-password"


def _password_state(user: User) -> str:
    return hashlib.sha256((user.password_hash or "no password yet").encode()).hexdigest()[:32]


def set_password_token(user: User, *, secret_key: str) -> str:
    """Make the token for a one-time link with which the account sets its password."""
    serializer = URLSafeTimedSerializer(secret_key, salt=_LINK_SALT)
    return serializer.dumps([user.id, _password_state(user)])


def user_for_set_password_token(
    session: Session, token: str, *, secret_key: str, max_age: timedelta
) -> User:
    """Return the account a set-password link was made for, while the link may still be used."""
    serializer = URLSafeTimedSerializer(secret_key, salt=_LINK_SALT)
    try:
        user_id, state = serializer.loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise DomainError("This link has expired", field="token") from None
    except (BadSignature, ValueError, TypeError):
        raise DomainError("This link is not valid", field="token") from None
    user = session.get(User, user_id)
    if (
        user is None
        or not user.is_active
        or not hmac.compare_digest(str(state), _password_state(user))
    ):
        raise DomainError("This link has already been used or is no longer valid", field="token")
    return user
