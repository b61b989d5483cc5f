"""one funded place per person and programme: merge re-enrolments into the deferred claim

A participant deferred during training could not resume, so providers enrolled them
again: a second claim, a second funded place, progress restarted at the first milestone.
Each such pair becomes one claim: the earliest claim that holds a place takes on the
later claim's cohort, status and declarations (a milestone already declared on it is
voided on the later claim, naming the claim it was merged into); the later claim is
withdrawn with that reason and gives its place back. Nothing is deleted. Then the
database refuses a second funded place for one person on one programme.

Places given back here are funded from the waiting lists by the scheduler's daily
``fund-when-due`` job (run also when the scheduler starts), or the next ledger operation.

Revision ID: 0008
Revises: 0007_sessions
Create Date: 2026-12-02 18:00:00

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007_sessions'
branch_labels = None
depends_on = None

_HOLDING_SQLITE, _HOLDING_POSTGRESQL = sa.text('holds_place = 1'), sa.text('holds_place')
_WAITING = sa.text("status = 'waiting'")

claims = sa.table(
    'claims',
    sa.column('id', sa.Integer),
    sa.column('programme_id', sa.Integer),
    sa.column('participant_id', sa.Integer),
    sa.column('cohort_id', sa.Integer),
    sa.column('status', sa.String),
    sa.column('holds_place', sa.Boolean),
    sa.column('claimed_dt', sa.DateTime),
    sa.column('started_dt', sa.DateTime),
    sa.column('completed_dt', sa.DateTime),
    sa.column('ended_dt', sa.DateTime),
    sa.column('end_reason', sa.Text),
    sa.column('updated_dt', sa.DateTime),
)
declarations = sa.table(
    'declarations',
    sa.column('id', sa.Integer),
    sa.column('claim_id', sa.Integer),
    sa.column('milestone_id', sa.Integer),
    sa.column('voided_dt', sa.DateTime),
    sa.column('void_reason', sa.Text),
)


def merge_funded_twice(conn) -> int:
    """Merge every person's second funded place on a programme into their first; return how many."""
    now = datetime.now(UTC).replace(tzinfo=None)
    pairs = conn.execute(
        sa.select(claims.c.programme_id, claims.c.participant_id)
        .where(claims.c.holds_place.is_(True))
        .group_by(claims.c.programme_id, claims.c.participant_id)
        .having(sa.func.count() > 1)
    ).all()
    merged = 0
    for programme_id, participant_id in pairs:
        held = conn.execute(
            sa.select(claims)
            .where(
                claims.c.programme_id == programme_id,
                claims.c.participant_id == participant_id,
                claims.c.holds_place.is_(True),
            )
            .order_by(claims.c.claimed_dt, claims.c.id)
        ).all()
        first, later = held[0], held[1:]
        declared = set(
            conn.scalars(
                sa.select(declarations.c.milestone_id).where(
                    declarations.c.claim_id == first.id, declarations.c.voided_dt.is_(None)
                )
            )
        )
        for claim in later:
            reason = f'Merged into claim {first.id}: the participant resumed after a deferral'
            for declaration_id, milestone_id in conn.execute(
                sa.select(declarations.c.id, declarations.c.milestone_id).where(
                    declarations.c.claim_id == claim.id, declarations.c.voided_dt.is_(None)
                )
            ).all():
                if milestone_id in declared:
                    conn.execute(
                        declarations.update()
                        .where(declarations.c.id == declaration_id)
                        .values(voided_dt=now, void_reason=f'{reason}, where it was declared')
                    )
                else:
                    conn.execute(
                        declarations.update()
                        .where(declarations.c.id == declaration_id)
                        .values(claim_id=first.id)
                    )
                    declared.add(milestone_id)
            # The later claim ends first: one person has one live claim at any moment.
            conn.execute(
                claims.update()
                .where(claims.c.id == claim.id)
                .values(
                    status='withdrawn',
                    holds_place=False,
                    end_reason=reason,
                    ended_dt=now,
                    updated_dt=now,
                )
            )
            conn.execute(
                claims.update()
                .where(claims.c.id == first.id)
                .values(
                    cohort_id=claim.cohort_id,
                    # It had started before (it held a place): a later claim not yet
                    # started goes on as training resumed.
                    status='started' if claim.status == 'funded' else claim.status,
                    started_dt=first.started_dt or claim.started_dt,
                    completed_dt=claim.completed_dt,
                    ended_dt=claim.ended_dt,
                    end_reason=claim.end_reason,
                    updated_dt=now,
                )
            )
            merged += 1
    # A claim still waiting for someone who holds a place on the programme could never be
    # funded now: it ends, pointing to the claim that holds the place.
    holder = sa.alias(claims, 'holder')
    waiting = conn.execute(
        sa.select(claims.c.id, holder.c.id)
        .join(
            holder,
            sa.and_(
                holder.c.programme_id == claims.c.programme_id,
                holder.c.participant_id == claims.c.participant_id,
                holder.c.holds_place.is_(True),
            ),
        )
        .where(claims.c.status == 'waiting')
    ).all()
    for claim_id, holder_id in waiting:
        conn.execute(
            claims.update()
            .where(claims.c.id == claim_id)
            .values(
                status='withdrawn',
                end_reason=f'The participant holds a funded place on claim {holder_id}:'
                ' a deferral resumes on that claim',
                ended_dt=now,
                updated_dt=now,
            )
        )
    return merged


def upgrade():
    merge_funded_twice(op.get_bind())
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(
            'uq_claims_one_funded_place',
            ['programme_id', 'participant_id'],
            unique=True,
            sqlite_where=_HOLDING_SQLITE,
            postgresql_where=_HOLDING_POSTGRESQL,
        )
        batch_op.create_index(
            'ix_claims_waiting_reason',
            ['programme_id', 'waiting_reason'],
            unique=False,
            sqlite_where=_WAITING,
            postgresql_where=_WAITING,
        )


def downgrade():
    # The merged claims stay merged: splitting them again would give back a second place.
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_claims_waiting_reason', sqlite_where=_WAITING, postgresql_where=_WAITING
        )
        batch_op.drop_index(
            'uq_claims_one_funded_place',
            sqlite_where=_HOLDING_SQLITE,
            postgresql_where=_HOLDING_POSTGRESQL,
        )
