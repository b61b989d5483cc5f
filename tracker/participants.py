"""Who a participant is: one record per email address and per TRN, caught at enrolment."""

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.errors import DomainError
from tracker.models import Participant

TRN_PATTERN = re.compile(r"^\d{7}$")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_trn(trn: str | None) -> str | None:
    """Return a TRN as its 7 digits, or None when none was given; refuse anything else."""
    if trn is None:
        return None
    trn = re.sub(r"[\s-]", "", trn)
    if not trn:
        return None
    if not TRN_PATTERN.match(trn):
        raise DomainError("Enter a teacher reference number (TRN) of 7 digits", field="trn")
    return trn


def find_or_add_participant(
    session: Session, *, full_name: str, email: str, trn: str | None = None
) -> Participant:
    """Return the one participant with this email (and TRN), adding them if new.

    The same person must never become two records: an email address recorded with one
    TRN, or a TRN recorded with another email address, is refused rather than merged.
    """
    full_name = " ".join(full_name.split())
    if not full_name:
        raise DomainError("Enter the participant's full name", field="full_name")
    email = normalise_email(email)
    if "@" not in email:
        raise DomainError("Enter an email address in the correct format", field="email")
    trn = normalise_trn(trn)

    by_email = session.scalar(sa.select(Participant).where(Participant.email == email))
    by_trn = session.scalar(sa.select(Participant).where(Participant.trn == trn)) if trn else None
    if by_trn is not None and by_trn is not by_email:
        raise DomainError(
            f"TRN {trn} is already recorded for a participant with a different email address",
            field="trn",
        )
    if by_email is not None:
        if trn and by_email.trn and by_email.trn != trn:
            raise DomainError(f"{email} is already recorded with a different TRN", field="trn")
        if trn and by_email.trn is None:
            by_email.trn = trn
        return by_email

    participant = Participant(full_name=full_name, email=email, trn=trn)
    # Another transaction may add the same person at this moment (claims on two
    # programmes are not serialised with each other): if so, use that record.
    try:
        with session.begin_nested():
            session.add(participant)
    except sa.exc.IntegrityError:
        existing = session.scalar(sa.select(Participant).where(Participant.email == email))
        if existing is None:
            raise DomainError(
                f"TRN {trn} is already recorded for a participant with a different email address",
                field="trn",
            ) from None
        return existing
    return participant
