"""sign-in history: every attempt to sign in, kept apart from the audit trail

Each sign-in used to write a change to the account (its last sign-in) to the audit trail,
and failed attempts were only logged: the trail filled with sign-ins, and a security
reviewer had no record of the failures. Attempts now have a table of their own; the
account's last sign-in is no longer audited.

The audit rows of past sign-ins (an account's update whose only change is its last sign-in)
move to the new table as successful sign-ins, with their time, account and email address:
what they said is kept where it belongs, and the audit trail is left with the changes.
Where they came from and with what browser was never recorded, so it stays empty for them.
Downgrading puts every successful sign-in back in the audit trail as the earlier version
recorded it; failed attempts, which it had no place for, go.

Revision ID: 0013_sign_in_history
Revises: 0012_provider_claim_counts
Create Date: 2026-12-12 10:00:00

"""
from datetime import UTC

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_sign_in_history'
down_revision = '0012_provider_claim_counts'
branch_labels = None
depends_on = None

BATCH = 500

audit_events = sa.table(
    'audit_events',
    sa.column('id', sa.Integer),
    sa.column('occurred_dt', sa.DateTime(timezone=True)),
    sa.column('actor_id', sa.Integer),
    sa.column('actor', sa.String),
    sa.column('action', sa.String),
    sa.column('entity_type', sa.String),
    sa.column('entity_id', sa.Integer),
    sa.column('changes', sa.JSON),
)
users = sa.table('users', sa.column('id', sa.Integer), sa.column('email', sa.String))
sign_in_attempts = sa.table(
    'sign_in_attempts',
    sa.column('id', sa.Integer),
    sa.column('attempted_dt', sa.DateTime(timezone=True)),
    sa.column('user_id', sa.Integer),
    sa.column('email', sa.String),
    sa.column('outcome', sa.String),
)
SIGN_IN_CHANGE = 'last_sign_in_dt'


def _move_sign_ins_out_of_the_audit_trail(bind) -> None:
    account_updates = sa.select(audit_events.c.id, audit_events.c.changes).where(
        audit_events.c.entity_type == 'users', audit_events.c.action == 'update'
    )
    last_id = 0
    while rows := bind.execute(
        account_updates.where(audit_events.c.id > last_id).order_by(audit_events.c.id).limit(BATCH)
    ).all():
        last_id = rows[-1].id
        ids = [row.id for row in rows if set(row.changes or {}) == {SIGN_IN_CHANGE}]
        if not ids:
            continue
        bind.execute(
            sign_in_attempts.insert().from_select(
                ['attempted_dt', 'user_id', 'email', 'outcome'],
                sa.select(
                    audit_events.c.occurred_dt,
                    audit_events.c.entity_id,
                    sa.func.coalesce(users.c.email, audit_events.c.actor),
                    sa.literal('signed-in'),
                )
                .select_from(
                    audit_events.outerjoin(users, users.c.id == audit_events.c.entity_id)
                )
                .where(audit_events.c.id.in_(ids))
                .order_by(audit_events.c.id),
            )
        )
        bind.execute(audit_events.delete().where(audit_events.c.id.in_(ids)))


def _put_sign_ins_back_in_the_audit_trail(bind) -> None:
    """One audit row per successful sign-in, as the earlier version wrote them: a change to
    the account's last sign-in, from the one before (none at first) to this one."""
    attempts = bind.execute(
        sa.select(
            sign_in_attempts.c.user_id, sign_in_attempts.c.email, sign_in_attempts.c.attempted_dt
        )
        .where(
            sign_in_attempts.c.outcome == 'signed-in', sign_in_attempts.c.user_id.is_not(None)
        )
        .order_by(
            sign_in_attempts.c.user_id, sign_in_attempts.c.attempted_dt, sign_in_attempts.c.id
        )
        .execution_options(yield_per=BATCH)
    )
    previous: tuple[int, str] | None = None
    for partition in attempts.partitions():
        rows = []
        for user_id, email, attempted_dt in partition:
            # SQLite gives the moment back without its zone: it was stored in UTC.
            when = (
                attempted_dt.replace(tzinfo=UTC)
                if attempted_dt.tzinfo is None
                else attempted_dt.astimezone(UTC)
            )
            before = previous[1] if previous and previous[0] == user_id else None
            previous = (user_id, when.isoformat())
            rows.append(
                {
                    'occurred_dt': when,
                    'actor_id': user_id,
                    'actor': email,
                    'action': 'update',
                    'entity_type': 'users',
                    'entity_id': user_id,
                    'changes': {SIGN_IN_CHANGE: [before, previous[1]]},
                }
            )
        bind.execute(audit_events.insert(), rows)


def upgrade():
    op.create_table('sign_in_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempted_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('outcome', sa.Enum('signed-in', 'unknown-email', 'no-password-yet', 'wrong-password', 'deactivated', name='signinoutcome', native_enum=False, length=32), nullable=False),
    sa.Column('address', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_attempts'))
    )
    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_attempts_attempted_dt'), ['attempted_dt'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_attempts_email'), ['email'], unique=False)

    _move_sign_ins_out_of_the_audit_trail(op.get_bind())


def downgrade():
    _put_sign_ins_back_in_the_audit_trail(op.get_bind())

    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_attempts_email'))
        batch_op.drop_index(batch_op.f('ix_sign_in_attempts_attempted_dt'))

    op.drop_table('sign_in_attempts')
