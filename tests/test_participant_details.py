"""Each organisation's copy of a person's details: CSV enrolment, reminders, conflicts."""

import pytest
import sqlalchemy as sa

from tests import factories
from tracker import imports, places
from tracker.errors import DomainError
from tracker.models import (
    Claim,
    ClaimStatus,
    ConflictField,
    OutboxMessage,
    Participant,
    ParticipantConflict,
    SettingKind,
)
from tracker.participants import resolve_conflict

A_NAME = "Patricia Recorded-By-A"


def a_enrols(session, email="pat@example.com", *, name=A_NAME, trn="1234567"):
    """Provider A's claim on the EP programme for a person."""
    cohort = factories.create_cohort(
        session, prog=factories.programme(session, "ep-doctorate"), name="Alpha Secret"
    )
    return places.claim_place(
        session,
        cohort,
        full_name=name,
        email=email,
        trn=trn,
        local_authority=factories.local_authority(session, "330"),
    ).claim


def test_a_csv_naming_known_people_keeps_its_own_copies_and_records_each_conflict(session):
    first = a_enrols(session, "pat@example.com", trn=None)
    second = a_enrols(session, "sam@example.com", name="Sam Recorded-By-A", trn="2222222")
    npq = factories.create_cohort(session, prog=factories.programme(session, "npq-senco"))
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)
    csv = (
        "full_name,email,trn,setting_urn\r\n"
        f"Pat Beta,PAT@example.com,7654321,{school.urn}\r\n"
        f"Sam Beta,sam@example.com,,{school.urn}\r\n"
        f"New Person,new@example.com,,{school.urn}\r\n"
    ).encode()

    made = imports.import_enrolments(session, npq, csv)

    claims = [session.get(Claim, c.id) for c in made]
    assert [(c.full_name, c.email, c.trn) for c in claims] == [
        ("Pat Beta", "pat@example.com", "7654321"),
        ("Sam Beta", "sam@example.com", None),
        ("New Person", "new@example.com", None),
    ]
    assert claims[0].participant_id == first.participant_id
    assert claims[1].participant_id == second.participant_id
    # A's claims, and the people's records, keep what A gave.
    session.expire_all()
    assert (first.full_name, first.trn) == (A_NAME, None)
    assert (second.full_name, second.trn) == ("Sam Recorded-By-A", "2222222")
    assert session.get(Participant, second.participant_id).full_name == "Sam Recorded-By-A"
    conflicts = session.execute(
        sa.select(
            ParticipantConflict.claim_id,
            ParticipantConflict.field,
            ParticipantConflict.recorded,
            ParticipantConflict.given,
        ).order_by(ParticipantConflict.claim_id, ParticipantConflict.field)
    ).all()
    assert conflicts == [
        (claims[0].id, ConflictField.FULL_NAME, A_NAME, "Pat Beta"),
        (claims[0].id, ConflictField.TRN, None, "7654321"),
        (claims[1].id, ConflictField.FULL_NAME, "Sam Recorded-By-A", "Sam Beta"),
    ]


def test_the_same_name_in_other_capitals_is_no_conflict(session):
    a_enrols(session, trn=None)
    npq = factories.create_cohort(session, prog=factories.programme(session, "npq-senco"))

    places.claim_place(
        session,
        npq,
        full_name="  patricia   RECORDED-by-a ",
        email="pat@example.com",
        setting=factories.create_setting(session, kind=SettingKind.SCHOOL),
    )

    assert session.scalar(sa.select(sa.func.count()).select_from(ParticipantConflict)) == 0


def test_reminders_about_a_claim_use_the_details_its_maker_gave(session):
    a_enrols(session)
    npq = factories.create_cohort(
        session, prog=factories.programme(session, "npq-senco"), places=1, name="Beta Cohort"
    )
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)
    holder = places.claim_place(
        session, npq, full_name="Someone Else", email="else@example.com", setting=school
    ).claim
    waiting = places.claim_place(
        session, npq, full_name="Pat Beta", email="pat@example.com", setting=school
    ).claim
    assert waiting.status == ClaimStatus.WAITING

    places.withdraw(session, holder, reason="Left the school")

    messages = session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.rule_code == "place-offered")
    ).all()
    assert messages
    for message in messages:
        assert "Pat Beta" in message.subject + message.body
        assert "Recorded-By-A" not in message.subject + message.body
        assert "1234567" not in message.body


def test_a_conflict_is_resolved_once_with_a_note(session):
    a_enrols(session)
    npq = factories.create_cohort(session, prog=factories.programme(session, "npq-senco"))
    places.claim_place(
        session,
        npq,
        full_name="Pat Beta",
        email="pat@example.com",
        setting=factories.create_setting(session, kind=SettingKind.SCHOOL),
    )
    conflict = session.scalar(sa.select(ParticipantConflict))

    with pytest.raises(DomainError, match="Enter what was done"):
        resolve_conflict(session, conflict, note=" \n ")
    resolve_conflict(session, conflict, note="Both   checked")
    assert conflict.resolution == "Both checked" and conflict.is_resolved
    with pytest.raises(DomainError, match="already resolved"):
        resolve_conflict(session, conflict, note="Again")


def test_the_conflicts_command_lists_them_for_dfe(runner, session):
    a_enrols(session)
    npq = factories.create_cohort(
        session,
        prog=factories.programme(session, "npq-senco"),
        provider=factories.create_provider(session, name="Beta Learning"),
    )
    places.claim_place(
        session,
        npq,
        full_name="Pat Beta",
        email="pat@example.com",
        setting=factories.create_setting(session, kind=SettingKind.SCHOOL),
    )
    session.commit()

    result = runner.invoke(args=["tracker", "participants", "conflicts"])

    assert result.exit_code == 0, result.output
    assert "pat@example.com Full name" in result.output
    assert f"recorded '{A_NAME}'" in result.output and "gives 'Pat Beta'" in result.output
    assert "Beta Learning" in result.output
    assert result.output.rstrip().endswith("1 conflict to resolve.")
    resolved = runner.invoke(args=["tracker", "participants", "conflicts", "--resolved"])
    assert resolved.output.strip() == "0 conflicts resolved."


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        ("name@example.com", True),
        ("Ann.O'Neil+npq@school.sch.uk", True),
        ("name@localhost", False),
        ("two words@example.com", False),
        ("name@@example.com", False),
        ("name@example..com", False),
        (f"{'a' * 250}@b.co", False),
    ],
)
def test_email_addresses_are_checked_by_email_validators_rules(email, valid):
    from tracker.participants import is_email_address

    assert is_email_address(email.lower()) is valid
