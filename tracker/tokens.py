"""API tokens: created for a provider or DfE account, stored hashed, revoked by DfE."""

import hashlib
import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from tracker.access import API_ROLES
from tracker.errors import DomainError
from tracker.models import ApiToken, Role, User
from tracker.models.base import utcnow

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "swt_"  # noqa: S105  (marks a token for people and secret scanners)
PREFIX_LENGTH = 12
# How stale last_used_dt may get before a request records its use again.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, user: User) -> tuple[ApiToken, str]:
    """Issue a new token for a provider or DfE account; the secret is returned only here."""
    if user.role not in API_ROLES:
        raise DomainError("API tokens are for provider and DfE accounts", field="email")
    if not user.is_active:
        raise DomainError(f"The account {user.email} is deactivated", field="email")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, token_hash=hash_token(secret), prefix=secret[:PREFIX_LENGTH])
    session.add(token)
    session.flush()
    logger.info("API token %s (%s) created for user %s", token.id, token.prefix, user.id)
    return token, secret


def revoke_token(session: Session, token: ApiToken, *, by: User | None = None) -> ApiToken:
    """Revoke a token at once; only DfE may do it (or the command line, with no user)."""
    if by is not None and by.role != Role.DFE:
        raise DomainError("Only DfE can revoke API tokens", field="token")
    if token.is_revoked:
        raise DomainError(f"Token {token.prefix} is already revoked", field="token")
    token.revoked_dt = utcnow()
    token.revoked_by_id = by.id if by else None
    session.flush()
    logger.info("API token %s (%s) revoked", token.id, token.prefix)
    return token


def find_token(session: Session, prefix_or_secret: str) -> ApiToken:
    """Return the one token named by its 12-character prefix (as listed) or its whole secret."""
    text = prefix_or_secret.strip()
    if len(text) > PREFIX_LENGTH:
        where = ApiToken.token_hash == hash_token(text)
    else:
        where = ApiToken.prefix == text
    matches = session.scalars(sa.select(ApiToken).where(where)).all()
    if len(matches) != 1:
        raise DomainError(
            f"No single API token matches {text[:PREFIX_LENGTH]!r}: give its "
            f"{PREFIX_LENGTH}-character prefix or the whole token",
            field="token",
        )
    return matches[0]


def verify_token(session: Session, secret: str) -> ApiToken | None:
    """Return the live token for a secret and note its use, or None if unknown or revoked."""
    token = session.scalar(
        sa.select(ApiToken)
        .where(ApiToken.token_hash == hash_token(secret))
        .options(joinedload(ApiToken.user))
    )
    if token is None or token.is_revoked or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_dt is not None and token.last_used_dt >= now - LAST_USED_RESOLUTION:
        return token
    # A plain UPDATE, not a change to the object: noting use is not an audited change,
    # and it is written at most once per LAST_USED_RESOLUTION (the condition holds that
    # when two requests race).
    session.execute(
        sa.update(ApiToken)
        .where(
            ApiToken.id == token.id,
            sa.or_(
                ApiToken.last_used_dt.is_(None),
                ApiToken.last_used_dt < now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_dt=now)
        .execution_options(synchronize_session=False)
    )
    return token


def user_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        )
    )
