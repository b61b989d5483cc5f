"""claims counted by programme and provider: the ledger's counts stay a few rows at any size

The place ledger read the places held by a programme, and by a provider against its
allocation, by adding up the counts kept per cohort: one row or more for every cohort the
programme or provider has ever run, read under the programme's lock on every claim. A
sixth kept table counts claims by programme, provider and raw state (as the cohort's do),
kept by the same triggers as the other five (migration 0006), which are made again with it.

Revision ID: 0012_provider_claim_counts
Revises: 0011_published_snapshots
Create Date: 2026-12-06 03:30:00

"""
import importlib.util
from pathlib import Path

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_provider_claim_counts'
down_revision = '0011_published_snapshots'
branch_labels = None
depends_on = None


def _claim_counts(grains_added=()):
    """Migration 0006, where the kept tables' triggers are written from their grains, loaded
    afresh with these grains added to its own."""
    path = Path(__file__).with_name('0006_claim_counts.py')
    spec = importlib.util.spec_from_file_location('claim_counts_0006', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.GRAINS = [*module.GRAINS, *grains_added]
    return module


PROVIDER_GRAIN = {
    'table': 'provider_claim_counts',
    'key': [
        ('programme_id', '{r}.programme_id'),
        ('provider_id', 'c.provider_id'),
        ('status', '{r}.status'),
        ('holds_place', '{r}.holds_place'),
        ('has_started', '({r}.started_dt IS NOT NULL)'),
    ],
    'where': None,
    'join': 'JOIN cohorts c ON c.id = {r}.cohort_id',
    'depends_on': ['programme_id', 'cohort_id', 'status', 'holds_place', 'started_dt'],
}


def _drop_triggers(bind, counts):
    if bind.dialect.name == 'postgresql':
        for name in counts._POSTGRESQL_OPERATIONS:
            bind.exec_driver_sql(f'DROP TRIGGER claim_counts_after_{name} ON claims')
            bind.exec_driver_sql(f'DROP FUNCTION claim_counts_after_{name}()')
    else:
        for name in ('insert', 'delete'):
            bind.exec_driver_sql(f'DROP TRIGGER claim_counts_after_{name}')
        for grain in counts.GRAINS:
            bind.exec_driver_sql(f"DROP TRIGGER {grain['table']}_after_claim_update")


def _create_triggers(bind, counts):
    if bind.dialect.name == 'postgresql':
        counts._create_postgresql_triggers(bind)
    else:
        counts._create_sqlite_triggers(bind)


def upgrade():
    bind = op.get_bind()
    op.create_table('provider_claim_counts',
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('waiting', 'funded', 'started', 'completed', 'withdrawn', 'deferred', name='claimstatus', native_enum=False, length=32), nullable=False),
    sa.Column('holds_place', sa.Boolean(), nullable=False),
    sa.Column('has_started', sa.Boolean(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('programme_id', 'provider_id', 'status', 'holds_place', 'has_started', name=op.f('pk_provider_claim_counts'))
    )
    if bind.dialect.name == 'postgresql':
        # No claim may be written between the count and the new triggers.
        bind.exec_driver_sql('LOCK TABLE claims IN SHARE MODE')
    _drop_triggers(bind, _claim_counts())
    provider_only = _claim_counts()
    provider_only.GRAINS = [PROVIDER_GRAIN]
    provider_only._fill(bind, bind.dialect.name)
    _create_triggers(bind, _claim_counts([PROVIDER_GRAIN]))


def downgrade():
    bind = op.get_bind()
    _drop_triggers(bind, _claim_counts([PROVIDER_GRAIN]))
    _create_triggers(bind, _claim_counts())
    op.drop_table('provider_claim_counts')
