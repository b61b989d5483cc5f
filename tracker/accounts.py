"""User accounts: who may sign in, for which organisation, with what password."""

import logging
import re

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from tracker.errors import DomainError
from tracker.models import LocalAuthority, Provider, Role, Setting, User
from tracker.participants import normalise_email

logger = logging.getLogger(__name__)

# argon2-cffi's defaults are RFC 9106's low-memory profile (Argon2id, 64 MiB, t=3),
# above OWASP's minimum for Argon2id.
_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            f"Password must be {MIN_PASSWORD_LENGTH} characters or more", field="password"
        )
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


EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    if not EMAIL_PATTERN.match(email):
        raise DomainError("Enter an email address in the correct format", field="email")
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise DomainError(f"An account for {email} already exists", field="email")
    user = User(
        email=email,
        role=role,
        full_name=full_name,
        password_hash=hash_password(password) if password else None,
        **_organisation(session, role, organisation),
    )
    session.add(user)
    session.flush()
    logger.info("Account %s created with role %s", user.id, role.value)
    return user
