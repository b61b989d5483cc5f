"""Talking to both databases the same way: bulk inserts and long lists of values."""

import pytest
import sqlalchemy as sa

from tracker.database import COPY_FROM, IN_CHUNK, insert_rows, one_of, reserve_ids
from tracker.models import Participant
from tracker.models.base import utcnow


def _people(n: int, *, start: int = 0) -> list[dict]:
    now = utcnow()
    return [
        {
            "full_name": f"Person {i}",
            "email": f"person.{i}@example.com",
            "trn": None,
            "reminders_opted_out_dt": None,
            "created_dt": now,
        }
        for i in range(start, start + n)
    ]


# A few rows are INSERTed; from COPY_FROM rows PostgreSQL takes them by COPY.
SIZES = pytest.mark.parametrize("n", [3, COPY_FROM + 2], ids=["few", "many"])


@SIZES
def test_rows_inserted_in_bulk_read_back_as_written(session, n):
    rows = _people(n)
    rows[1]["full_name"] = "Tab\there, new\nline, back\\slash and “quotes”"
    rows[2]["trn"] = "1234567"

    insert_rows(session.connection(), Participant.__table__, rows)

    stored = session.scalars(sa.select(Participant).order_by(Participant.email)).all()
    assert [(p.full_name, p.email, p.trn, p.created_dt) for p in stored] == [
        (r["full_name"], r["email"], r["trn"], r["created_dt"])
        for r in sorted(rows, key=lambda r: r["email"])
    ]


@SIZES
def test_a_duplicate_in_a_bulk_insert_is_an_integrity_error_and_the_transaction_goes_on(session, n):
    insert_rows(session.connection(), Participant.__table__, _people(n))

    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        insert_rows(session.connection(), Participant.__table__, _people(n, start=n - 1))

    assert session.scalar(sa.select(sa.func.count()).select_from(Participant)) == n


def test_one_of_finds_every_value_asked_for_and_nothing_else(session):
    n = 2 * IN_CHUNK + 1
    rows = _people(n)
    for i, row in enumerate(rows):
        row["trn"] = f"{1_000_000 + i}"
    insert_rows(session.connection(), Participant.__table__, rows)
    wanted = [row["trn"] for row in rows[1:]]
    # Longer than the column's 7 characters: must not match the first TRN, which it starts with.
    asked = [*wanted, "10000001", "9999999"]

    found = [
        trn
        for condition in one_of(session.get_bind(), Participant.trn, asked)
        for trn in session.scalars(sa.select(Participant.trn).where(condition))
    ]

    assert sorted(found) == wanted
    assert list(one_of(session.get_bind(), Participant.trn, [])) == []


@SIZES
def test_rows_given_reserved_ids_keep_them_and_later_rows_come_after(session, n):
    table = Participant.__table__
    insert_rows(session.connection(), table, _people(2))
    before = session.scalar(sa.select(sa.func.max(Participant.id)))

    ids = reserve_ids(session.connection(), table, n)
    rows = [{**row, "id": id_} for row, id_ in zip(_people(n, start=10), ids, strict=True)]
    insert_rows(session.connection(), table, rows)
    insert_rows(session.connection(), table, _people(1, start=100))

    assert ids == sorted(ids) and len(set(ids)) == n and ids[0] > before
    stored = dict(session.execute(sa.select(Participant.email, Participant.id)).all())
    assert [stored[row["email"]] for row in rows] == ids
    assert stored["person.100@example.com"] > ids[-1]  # the id sequence stays ahead
