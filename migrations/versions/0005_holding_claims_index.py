"""an index of the claims holding a place, by cohort, for the place ledger's counts

On PostgreSQL the index is built concurrently, so claims can still be written meanwhile.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Built without blocking writes to claims while it builds (outside a transaction).
        with op.get_context().autocommit_block():
            op.create_index(
                'ix_claims_holding_cohort',
                'claims',
                ['cohort_id'],
                unique=False,
                postgresql_where=sa.text('holds_place'),
                postgresql_concurrently=True,
                if_not_exists=True,
            )
        return
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(
            'ix_claims_holding_cohort',
            ['cohort_id'],
            unique=False,
            sqlite_where=sa.text('holds_place = 1'),
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(
                'ix_claims_holding_cohort',
                table_name='claims',
                postgresql_concurrently=True,
                if_exists=True,
            )
        return
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_holding_cohort', sqlite_where=sa.text('holds_place = 1'))
