"""id sequences catch up with their rows: 0002 gave the regions their ids by hand

On PostgreSQL, rows inserted with explicit ids leave the table's sequence behind, so the
next row added without one takes an id already used (0002 loaded the nine regions as
ids 1 to 9 and left ``regions_id_seq`` at 1). Every table's id sequence is moved to its
highest id. SQLite finds the next id from the rows, so there is nothing to do there.

Revision ID: 0010_id_sequences
Revises: 0009_participant_details
Create Date: 2026-12-06 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_id_sequences'
down_revision = '0009_participant_details'
branch_labels = None
depends_on = None


def catch_up_sequences(bind) -> None:
    """Move each table's id sequence to the table's highest id (PostgreSQL only)."""
    if bind.dialect.name != "postgresql":
        return
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        if "id" not in {column["name"] for column in inspector.get_columns(table)}:
            continue
        sequence = bind.scalar(
            sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table}
        )
        if sequence is None:
            continue
        bind.execute(
            sa.text(
                f'SELECT setval(:sequence, COALESCE((SELECT max(id) FROM "{table}"), 0) + 1,'
                " false)"
            ),
            {"sequence": sequence},
        )


def upgrade():
    catch_up_sequences(op.get_bind())


def downgrade():
    # A sequence ahead of its rows is harmless: nothing to undo.
    pass
