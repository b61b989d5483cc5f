"""Who a participant is: one record per email address and per TRN, caught at enrolment."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session, joinedload

from tracker.audit import record_created
from tracker.database import insert_one, insert_rows, one_of
from tracker.errors import DomainError
from tracker.models import Claim, Cohort, ConflictField, Participant, ParticipantConflict, User
from tracker.models.base import utcnow

TRN_PATTERN = re.compile(r"^\d{7}$")


def is_email_address(email: str) -> bool:
    """Whether ``email`` is an address mail can be sent to, by its form (email-validator's
    rules: RFC 5321/5322 syntax and a real-looking domain; nothing is looked up)."""
    if len(email) > 254:
        return False
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


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


@dataclass(frozen=True)
class Person:
    """A person named in a claim, with their email and TRN in canonical form."""

    full_name: str
    email: str
    trn: str | None = None

    @classmethod
    def clean(cls, *, full_name: str, email: str, trn: str | None = None) -> "Person":
        """Check and normalise what was typed; DomainError names the field that is wrong."""
        for name, value in (("full_name", full_name), ("email", email), ("trn", trn)):
            # PostgreSQL cannot store a NUL character in text: refuse it as bad input.
            if value and "\x00" in value:
                raise DomainError("Remove the hidden characters from this entry", field=name)
        full_name = " ".join((full_name or "").split())
        if not full_name:
            raise DomainError("Enter the participant's full name", field="full_name")
        if len(full_name) > 200:
            raise DomainError("The full name must be 200 characters or fewer", field="full_name")
        email = normalise_email(email or "")
        if not email:
            raise DomainError("Enter the participant's email address", field="email")
        if not is_email_address(email):
            raise DomainError(
                "Enter an email address in the correct format, like name@example.com",
                field="email",
            )
        return cls(full_name, email, normalise_trn(trn))


def _load(session: Session, column, values: Iterable) -> dict:
    found = {}
    for condition in one_of(session.get_bind(), column, sorted(set(values))):
        for participant in session.scalars(sa.select(Participant).where(condition)):
            found[getattr(participant, column.key)] = participant
    return found


def match_participants(
    session: Session, people: list[Person]
) -> tuple[list[Participant | None], dict[int, DomainError]]:
    """Match each person to their existing record by email address (None for someone new).

    The same person must never become two records: a TRN recorded with another email
    address, or the same email or TRN twice among ``people``, is an error for that entry,
    returned by its index. An email address recorded with another name or TRN matches:
    the difference is a conflict (``differences``), not an error.
    """
    by_email = _load(session, Participant.email, (p.email for p in people))
    by_trn = _load(session, Participant.trn, (p.trn for p in people if p.trn))
    matches: list[Participant | None] = []
    errors: dict[int, DomainError] = {}
    first_with_email: dict[str, int] = {}
    first_with_trn: dict[str, int] = {}
    for index, person in enumerate(people):
        matches.append(None)
        if person.email in first_with_email:
            errors[index] = DomainError(f"{person.email} appears more than once", field="email")
            continue
        first_with_email[person.email] = index
        if person.trn:
            if person.trn in first_with_trn:
                errors[index] = DomainError(f"TRN {person.trn} appears more than once", field="trn")
                continue
            first_with_trn[person.trn] = index
        existing = by_email.get(person.email)
        holder = by_trn.get(person.trn) if person.trn else None
        # The messages name nothing of the record matched: it may be another organisation's.
        if holder is not None and existing is None:
            errors[index] = DomainError(
                f"TRN {person.trn} is already recorded with a different email address:"
                " check the email address and the TRN",
                field="trn",
            )
        elif holder is not None and holder is not existing:
            errors[index] = DomainError(
                "The email address and the TRN are recorded for two different people: check both",
                field="trn",
            )
        else:
            # A name or TRN that differs from the record is the caller's own copy, kept on
            # its claim, and a conflict for DfE (see ``differences``): never a refusal that
            # would tell the caller what someone else recorded.
            matches[index] = existing
    return matches, errors


def add_participants(session: Session, people: list[Person]) -> list[int]:
    """Add records for new people, with their audit trail; return their ids, in order.

    A clash with another transaction's new record (the same email or TRN) raises
    IntegrityError here. In bulk, not through the unit of work: an import adds thousands
    of people at once. Their ids are read back by email (one person's, as it is inserted).
    """
    if not people:
        return []
    now = utcnow()
    rows = [
        {
            "full_name": p.full_name,
            "email": p.email,
            "trn": p.trn,
            "reminders_opted_out_dt": None,
            "created_dt": now,
        }
        for p in people
    ]
    connection = session.connection()
    if len(rows) == 1:
        rows[0]["id"] = insert_one(connection, Participant.__table__, rows[0])
    else:
        insert_rows(connection, Participant.__table__, rows)
        ids = {}
        for condition in one_of(connection, Participant.email, [p.email for p in people]):
            query = sa.select(Participant.email, Participant.id).where(condition)
            ids.update(connection.execute(query).all())
        for row in rows:
            row["id"] = ids[row["email"]]
    record_created(session, Participant, rows)
    return [row["id"] for row in rows]


def differences(
    record: Participant, person: Person
) -> list[tuple[ConflictField, str | None, str | None]]:
    """How a person's details, as one claim gives them, differ from the ledger's record:
    (field, recorded, given) for a different name, or a TRN the record lacks or has not.
    A TRN left out is no difference: the organisation did not give one."""
    found: list[tuple[ConflictField, str | None, str | None]] = []
    if record.full_name.casefold() != person.full_name.casefold():
        found.append((ConflictField.FULL_NAME, record.full_name, person.full_name))
    if person.trn and person.trn != record.trn:
        found.append((ConflictField.TRN, record.trn, person.trn))
    return found


def add_conflicts(session: Session, rows: list[dict]) -> None:
    """Record conflicts (participant_id, claim_id, field, recorded, given), with their audit
    trail, in bulk as the claims they belong to are written."""
    if not rows:
        return
    now = utcnow()
    rows = [
        {
            **row,
            "created_dt": now,
            "resolved_dt": None,
            "resolved_by_id": None,
            "resolution": None,
        }
        for row in rows
    ]
    connection = session.connection()
    if len(rows) == 1:
        rows[0]["id"] = insert_one(connection, ParticipantConflict.__table__, rows[0])
    else:
        # The claims are new: every conflict on them is one of these, known by claim and field.
        insert_rows(connection, ParticipantConflict.__table__, rows)
        table = ParticipantConflict.__table__
        ids = {}
        for condition in one_of(connection, table.c.claim_id, {r["claim_id"] for r in rows}):
            query = sa.select(table.c.claim_id, table.c.field, table.c.id).where(condition)
            ids.update({(c, ConflictField(f)): i for c, f, i in connection.execute(query)})
        for row in rows:
            row["id"] = ids[(row["claim_id"], ConflictField(row["field"]))]
    record_created(session, ParticipantConflict, rows)


def conflicts_query(*, resolved: bool = False) -> sa.Select:
    """Conflicts still to resolve (or those resolved), newest first, with their claims'
    cohorts, providers and settings: for DfE, who may see every copy."""
    done = ParticipantConflict.resolved_dt.is_not(None)
    return (
        sa.select(ParticipantConflict)
        .where(done if resolved else sa.not_(done))
        .options(
            joinedload(ParticipantConflict.participant),
            joinedload(ParticipantConflict.claim)
            .joinedload(Claim.cohort)
            .joinedload(Cohort.provider),
            joinedload(ParticipantConflict.claim).joinedload(Claim.setting),
            joinedload(ParticipantConflict.claim).joinedload(Claim.programme),
        )
        .order_by(ParticipantConflict.created_dt.desc(), ParticipantConflict.id.desc())
    )


def resolve_conflict(
    session: Session, conflict: ParticipantConflict, *, note: str, by: User | None = None
) -> None:
    """Mark a conflict resolved, saying what was done (the organisations asked, a copy
    corrected by its organisation). Neither copy is changed here."""
    if conflict.is_resolved:
        raise DomainError("This conflict is already resolved", field="note")
    note = " ".join((note or "").split())
    if not note:
        raise DomainError("Enter what was done to resolve the conflict", field="note")
    if len(note) > 2000:
        raise DomainError("The note must be 2,000 characters or fewer", field="note")
    conflict.resolved_dt = utcnow()
    conflict.resolved_by_id = by.id if by else None
    conflict.resolution = note
    session.flush()
