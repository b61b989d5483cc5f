"""published snapshots: the public uptake page shows only what was last published

The public page was computed live from the claims, so a reader who made one claim could
see a hidden count change. It now shows the newest published snapshot: its tables already
rounded to the nearest 5 and with small counts hidden, one snapshot a week at most.

Revision ID: 0011_published_snapshots
Revises: 0010_id_sequences
Create Date: 2026-12-09 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_published_snapshots'
down_revision = '0010_id_sequences'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('published_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week_of', sa.Date(), nullable=False),
    sa.Column('published_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('figures_on', sa.Date(), nullable=False),
    sa.Column('published_by', sa.String(length=320), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_snapshots')),
    sa.UniqueConstraint('week_of', name=op.f('uq_published_snapshots_week_of'))
    )


def downgrade():
    op.drop_table('published_snapshots')
