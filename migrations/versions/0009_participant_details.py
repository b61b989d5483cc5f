"""participant details per claim: each organisation sees the details it gave

Every claim keeps the person's name, email address and TRN as the organisation making it
gave them; pages, the API, exports and reminders show that copy, never another
organisation's. The participant record stays the ledger's: it matches a person across
organisations, and is never shown to them. Existing claims take their copy from the
participant record as it is now (until now there was one copy, shared). Where a claim
names a known person with a different name or TRN, the difference is kept in
``participant_conflicts`` for DfE to resolve.

SQLite adds a NOT NULL column only with a default: the name and email columns carry an
empty-string default there, which the service never relies on (every claim is written
with its details). Rebuilding ``claims`` to drop it would drop its triggers (0006).

Revision ID: 0009_participant_details
Revises: 0008
Create Date: 2026-12-10 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_participant_details'
down_revision = '0008'
branch_labels = None
depends_on = None

claims = sa.table(
    'claims',
    sa.column('participant_id', sa.Integer),
    sa.column('full_name', sa.String),
    sa.column('email', sa.String),
    sa.column('trn', sa.String),
)
participants = sa.table(
    'participants',
    sa.column('id', sa.Integer),
    sa.column('full_name', sa.String),
    sa.column('email', sa.String),
    sa.column('trn', sa.String),
)


def _copy_from_participants():
    of_claim = participants.c.id == claims.c.participant_id
    op.execute(
        claims.update().values(
            full_name=sa.select(participants.c.full_name).where(of_claim).scalar_subquery(),
            email=sa.select(participants.c.email).where(of_claim).scalar_subquery(),
            trn=sa.select(participants.c.trn).where(of_claim).scalar_subquery(),
        )
    )


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        # No rebuild of claims (its triggers would go): columns are added in place.
        op.add_column(
            'claims',
            sa.Column('full_name', sa.String(length=200), nullable=False, server_default=''),
        )
        op.add_column(
            'claims',
            sa.Column('email', sa.String(length=254), nullable=False, server_default=''),
        )
        op.add_column('claims', sa.Column('trn', sa.String(length=7), nullable=True))
        _copy_from_participants()
    else:
        op.add_column('claims', sa.Column('full_name', sa.String(length=200), nullable=True))
        op.add_column('claims', sa.Column('email', sa.String(length=254), nullable=True))
        op.add_column('claims', sa.Column('trn', sa.String(length=7), nullable=True))
        _copy_from_participants()
        op.alter_column('claims', 'full_name', nullable=False)
        op.alter_column('claims', 'email', nullable=False)

    op.create_table(
        'participant_conflicts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('claim_id', sa.Integer(), nullable=False),
        sa.Column(
            'field',
            sa.Enum('full_name', 'trn', name='conflictfield', native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column('recorded', sa.String(length=200), nullable=True),
        sa.Column('given', sa.String(length=200), nullable=True),
        sa.Column('created_dt', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resolved_dt', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['claim_id'], ['claims.id'], name=op.f('fk_participant_conflicts_claim_id_claims')
        ),
        sa.ForeignKeyConstraint(
            ['participant_id'],
            ['participants.id'],
            name=op.f('fk_participant_conflicts_participant_id_participants'),
        ),
        sa.ForeignKeyConstraint(
            ['resolved_by_id'],
            ['users.id'],
            name=op.f('fk_participant_conflicts_resolved_by_id_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_participant_conflicts')),
    )
    with op.batch_alter_table('participant_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participant_conflicts_claim_id'), ['claim_id'])
        batch_op.create_index(batch_op.f('ix_participant_conflicts_created_dt'), ['created_dt'])
        batch_op.create_index(
            batch_op.f('ix_participant_conflicts_participant_id'), ['participant_id']
        )


def downgrade():
    # The participant record holds the details first given for each person; the claims'
    # own copies, and the conflicts between them, go.
    with op.batch_alter_table('participant_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participant_conflicts_participant_id'))
        batch_op.drop_index(batch_op.f('ix_participant_conflicts_created_dt'))
        batch_op.drop_index(batch_op.f('ix_participant_conflicts_claim_id'))
    op.drop_table('participant_conflicts')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): no rebuild, triggers kept.
    op.drop_column('claims', 'trn')
    op.drop_column('claims', 'email')
    op.drop_column('claims', 'full_name')
