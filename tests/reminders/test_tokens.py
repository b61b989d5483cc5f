"""Unsubscribe tokens, and opting out of reminders."""

from datetime import UTC, datetime

from tracker.models import Participant
from tracker.reminders.tokens import (
    make_unsubscribe_token,
    opt_in,
    opt_out,
    participant_from_token,
)


def _participant(session) -> Participant:
    participant = Participant(full_name="Ada Lovelace", email="ada@example.com")
    session.add(participant)
    session.flush()
    return participant


def test_a_token_names_its_participant(session):
    participant = _participant(session)

    token = make_unsubscribe_token(participant.id)

    assert participant_from_token(session, token) is participant


def test_a_tampered_token_or_one_signed_with_another_key_names_no_one(session):
    participant = _participant(session)
    token = make_unsubscribe_token(participant.id)

    assert participant_from_token(session, token[:-2] + "xx") is None
    assert participant_from_token(session, "nonsense") is None
    other = make_unsubscribe_token(participant.id, secret_key="another key")
    assert participant_from_token(session, other) is None


def test_opting_out_is_recorded_once_and_can_be_undone(session):
    participant = _participant(session)
    first = datetime(2026, 3, 2, 9, tzinfo=UTC)

    opt_out(session, participant, now=first)
    opt_out(session, participant)

    assert participant.reminders_opted_out_dt == first
    opt_in(session, participant)
    assert participant.reminders_opted_out_dt is None
