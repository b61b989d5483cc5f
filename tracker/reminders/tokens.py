"""Unsubscribe links: a signed token naming a participant, and what following it does.

The token does not expire: an unsubscribe link in an old email must still work. It
is signed with SECRET_KEY and a salt of its own, so it is good for nothing else.
"""

import logging
from datetime import datetime

from flask import current_app, has_app_context
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from tracker.models import Participant
from tracker.models.base import utcnow

logger = logging.getLogger(__name__)

_SALT = "reminders-unsubscribe"


def _serializer(secret_key: str | None = None) -> URLSafeSerializer:
    if secret_key is None:
        secret_key = current_app.config["SECRET_KEY"]
    return URLSafeSerializer(secret_key, salt=_SALT)


def make_unsubscribe_token(participant_id: int, *, secret_key: str | None = None) -> str | None:
    """Return a token that stops a participant's non-essential reminders (None outside an app)."""
    if secret_key is None and not has_app_context():
        return None
    return _serializer(secret_key).dumps({"p": participant_id})


def participant_from_token(
    session: Session, token: str, *, secret_key: str | None = None
) -> Participant | None:
    """Return the participant a token names, or None if it is not a genuine token."""
    try:
        data = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("p"), int):
        return None
    return session.get(Participant, data["p"])


def opt_out(session: Session, participant: Participant, *, now: datetime | None = None) -> None:
    """Stop a participant's non-essential reminders; doing it again changes nothing."""
    if participant.reminders_opted_out_dt is None:
        participant.reminders_opted_out_dt = now or utcnow()
        session.flush()
        logger.info("Participant %s opted out of reminders", participant.id)


def opt_in(session: Session, participant: Participant) -> None:
    """Start a participant's non-essential reminders again."""
    if participant.reminders_opted_out_dt is not None:
        participant.reminders_opted_out_dt = None
        session.flush()
        logger.info("Participant %s opted back in to reminders", participant.id)
