"""Idempotency keys: the first answer to a request is kept, so a retry can be given it again."""

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import ApiToken, IdempotencyRecord
from tracker.models.base import utcnow

MAX_KEY_LENGTH = 255


def request_fingerprint(body: bytes) -> str:
    """Hash a request body, ignoring key order and spacing when it is JSON."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
        data = canonical.encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):
        # Not JSON, or JSON nested beyond what Python parses: the bytes as they came.
        data = body
    return hashlib.sha256(data).hexdigest()


def find_answer(session: Session, token: ApiToken, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.token_id == token.id, IdempotencyRecord.key == key
        )
    )


def is_same_request(record: IdempotencyRecord, *, method: str, path: str, fingerprint: str) -> bool:
    return (record.method, record.path, record.request_hash) == (method, path, fingerprint)


def keep_answer(
    session: Session,
    token: ApiToken,
    key: str,
    *,
    method: str,
    path: str,
    fingerprint: str,
    status_code: int,
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    """Keep the answer to a request; raises IntegrityError if another request kept one first."""
    # A plain INSERT, outside the audit trail: the answer repeats what the trail already has.
    session.execute(
        sa.insert(IdempotencyRecord).values(
            token_id=token.id,
            key=key,
            method=method,
            path=path,
            request_hash=fingerprint,
            status_code=status_code,
            response_body=body,
            response_headers=headers,
            created_dt=utcnow(),
        )
    )


def forget_answers(session: Session, *, before: datetime) -> int:
    """Delete answers kept before a time (a key need only outlive a client's retries)."""
    result = session.execute(
        sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_dt < before)
    )
    return result.rowcount
