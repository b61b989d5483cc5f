"""Record every change to the service's records, and who made it.

A listener on the session writes one ``audit_events`` row per inserted, changed or
deleted object at each flush, in the same transaction as the change itself, so the
trail cannot miss a change or record one that was rolled back. Rows inserted in bulk,
without the ORM's unit of work, are recorded by ``record_created`` in the same way.
"""

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.database import insert_rows
from tracker.models import AuditEvent
from tracker.models.base import utcnow

SYSTEM_ACTOR = (None, "system")

_actor: contextvars.ContextVar[tuple[int | None, str]] = contextvars.ContextVar(
    "audit_actor", default=SYSTEM_ACTOR
)


def set_actor(user=None, *, label: str | None = None) -> contextvars.Token:
    """Name who the following changes are made by: a user, or a label such as 'demo'."""
    if user is not None:
        return _actor.set((user.id, user.email))
    return _actor.set((None, label or "system"))


def reset_actor(token: contextvars.Token) -> None:
    """Go back to whoever was acting before ``set_actor`` returned this token."""
    _actor.reset(token)


@contextlib.contextmanager
def acting_as(user=None, *, label: str | None = None) -> Iterator[None]:
    token = set_actor(user, label=label)
    try:
        yield
    finally:
        _actor.reset(token)


# Values JSON holds as they are (a str subclass such as a StrEnum is not one of them).
_JSON_NATIVE = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    if type(value) in _JSON_NATIVE:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@functools.cache
def _audited(mapper) -> tuple:
    """The column attributes the trail records: all but bookkeeping, the columns marked
    ``NOT_AUDITED`` (tracker.models.base)."""
    return tuple(
        attr
        for attr in mapper.column_attrs
        if attr.columns[0].info.get("audited", True) is not False
    )


def _is_secret(attr) -> bool:
    return attr.columns[0].info.get("audited") == "secret"


def _secret(value) -> str | None:
    """What the trail says of a secret's value (``SECRET``): that there is one, no more."""
    return None if value is None else "set"


def _column_changes(obj, action: str) -> dict[str, Any]:
    """What an event records: each changed column's old and new values for an update, every
    column's value for a record created or deleted."""
    state = sa.inspect(obj)
    changes: dict[str, Any] = {}
    for attr in _audited(state.mapper):
        if _is_secret(attr):
            if action == "update" and state.attrs[attr.key].history.has_changes():
                changes[attr.key] = "changed" if getattr(obj, attr.key) is not None else None
            elif action == "create":
                changes[attr.key] = _secret(getattr(obj, attr.key))
            continue
        if action == "update":
            history = state.attrs[attr.key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            changes[attr.key] = [_plain(old), _plain(new)]
        elif action == "delete":
            # What the object held, without loading: its row is gone.
            changes[attr.key] = _plain(state.dict.get(attr.key))
        else:
            changes[attr.key] = _plain(getattr(obj, attr.key))
    return changes


def _is_json_native(attr) -> bool:
    try:
        return attr.columns[0].type.python_type in _JSON_NATIVE
    except NotImplementedError:
        return False


def record_created(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Record rows of ``model`` inserted without the unit of work, as the listener records them.

    Each row holds every column's value by attribute name, its id included: the event's
    changes are the same as for an object added to the session and flushed.
    """
    if not rows:
        return
    actor_id, actor = _actor.get()
    now = utcnow()
    entity_type = model.__table__.name
    attrs = _audited(sa.inspect(model))
    keys = [attr.key for attr in attrs]
    to_plain = [attr.key for attr in attrs if not _is_json_native(attr) and not _is_secret(attr)]
    # Values to convert (moments, statuses) are mostly the same few objects in every row
    # of a batch, such as the moment it was made: each object is converted once.
    converted: dict[int, Any] = {}
    events = []
    secrets = [attr.key for attr in attrs if _is_secret(attr)]
    for row in rows:
        changes = {key: row[key] for key in keys}
        for key in secrets:
            changes[key] = _secret(changes[key])
        for key in to_plain:
            value = changes[key]
            if value is not None:
                plain = converted.get(id(value))
                if plain is None:
                    plain = converted[id(value)] = _plain(value)
                changes[key] = plain
        events.append(
            {
                "occurred_dt": now,
                "actor_id": actor_id,
                "actor": actor,
                "action": "create",
                "entity_type": entity_type,
                "entity_id": row["id"],
                "changes": changes,
            }
        )
    insert_rows(session.connection(), AuditEvent.__table__, events)


@sa.event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush_context) -> None:
    actor_id, actor = _actor.get()
    now = utcnow()
    rows = []
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if isinstance(obj, AuditEvent) or not hasattr(obj, "__table__"):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _column_changes(obj, action)
            if action == "update" and not changes:
                continue
            rows.append(
                {
                    "occurred_dt": now,
                    "actor_id": actor_id,
                    "actor": actor,
                    "action": action,
                    "entity_type": obj.__table__.name,
                    "entity_id": getattr(obj, "id", None),
                    # A deletion keeps what the record held, so the trail can say what went.
                    "changes": changes,
                }
            )
    if rows:
        session.connection().execute(sa.insert(AuditEvent.__table__), rows)
