"""claims counted by raw state at each grain, kept by triggers in the claim's own transaction

Five tables (cohort; programme, area and kind of setting; week funded; setting; end reason)
count claims by their raw state, and triggers on ``claims`` keep them as claims are
inserted, updated or deleted, whatever writes them (the ORM, COPY, set-based SQL). The
triggers hold no definitions: what "funded" or "started" means is in tracker.figures.
PostgreSQL uses statement-level triggers over transition tables, so a bulk write costs
one grouped upsert per table, its rows touched in key order; SQLite has only row-level
triggers, each firing only when a column its table counts by has changed. The tables are
filled from the claims already there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_STATUS = sa.Enum(
    'waiting', 'funded', 'started', 'completed', 'withdrawn', 'deferred',
    name='claimstatus', native_enum=False, length=32,
)

# The Monday of the Europe/London week a UTC timestamp falls in. SQLite has no time zones:
# British Summer Time runs from 01:00 UTC on the last Sunday of March (the first Sunday on
# or after the 25th) to 01:00 UTC on the last Sunday of October.
_WEEK = {
    'postgresql': "CAST(date_trunc('week', {r}.funded_dt AT TIME ZONE 'Europe/London') AS date)",
    'sqlite': (
        "date(datetime({r}.funded_dt, CASE WHEN datetime({r}.funded_dt) >="
        " datetime(strftime('%Y', {r}.funded_dt) || '-03-25', 'weekday 0', '+1 hour')"
        " AND datetime({r}.funded_dt) <"
        " datetime(strftime('%Y', {r}.funded_dt) || '-10-25', 'weekday 0', '+1 hour')"
        " THEN '+1 hour' ELSE '+0 hours' END), '-6 days', 'weekday 1')"
    ),
}
_AREA = ('local_authority_id', 'COALESCE({r}.local_authority_id, 0)')
_PROGRAMME = ('programme_id', '{r}.programme_id')
_STATE = [
    ('status', '{r}.status'),
    ('holds_place', '{r}.holds_place'),
    ('has_started', '({r}.started_dt IS NOT NULL)'),
]
_SETTING_JOIN = 'LEFT JOIN settings s ON s.id = {r}.setting_id'

# Each table: its key columns with the expression that gives each from a claims row {r},
# the rows it counts (None: all), a join it needs, and the claims columns it depends on.
GRAINS = [
    {
        'table': 'cohort_claim_counts',
        'key': [('cohort_id', '{r}.cohort_id'), *_STATE],
        'where': None,
        'join': '',
        'depends_on': ['cohort_id', 'status', 'holds_place', 'started_dt'],
    },
    {
        'table': 'area_claim_counts',
        'key': [_PROGRAMME, _AREA, ('setting_kind', "COALESCE(s.kind, '')"), *_STATE],
        'where': None,
        'join': _SETTING_JOIN,
        'depends_on': [
            'programme_id', 'local_authority_id', 'setting_id', 'status', 'holds_place',
            'started_dt',
        ],
    },
    {
        'table': 'weekly_claim_counts',
        'key': [_PROGRAMME, _AREA, ('funded_week', None), ('holds_place', '{r}.holds_place')],
        'where': '{r}.funded_dt IS NOT NULL',
        'join': '',
        'depends_on': ['programme_id', 'local_authority_id', 'funded_dt', 'holds_place'],
    },
    {
        'table': 'setting_claim_counts',
        'key': [('setting_id', '{r}.setting_id'), _PROGRAMME],
        'where': '{r}.setting_id IS NOT NULL',
        'join': '',
        'depends_on': ['setting_id', 'programme_id'],
    },
    {
        'table': 'reason_claim_counts',
        'key': [_PROGRAMME, _AREA, ('status', '{r}.status'), ('reason', 'substr({r}.end_reason, 1, 200)')],
        'where': '{r}.end_reason IS NOT NULL',
        'join': '',
        'depends_on': ['programme_id', 'local_authority_id', 'status', 'end_reason'],
    },
]


def _key(grain, dialect, r):
    return [
        (column, (expression or _WEEK[dialect]).format(r=r))
        for column, expression in grain['key']
    ]


def _rows(grain, dialect, r, source, sign):
    """SELECT the key of each claims row in ``source`` (aliased ``r``), with ``sign``."""
    key = ', '.join(f'{expression} AS {column}' for column, expression in _key(grain, dialect, r))
    where = (grain['where'] or '1 = 1').format(r=r)
    return f"SELECT {key}, {sign} AS d FROM {source} {grain['join'].format(r=r)} WHERE {where}"


def _columns(grain):
    return ', '.join(column for column, _ in grain['key'])


def _upsert_grouped(grain, dialect, sources):
    """Add the signed rows of each (transition table, sign) to the grain's counts, in key order."""
    columns = _columns(grain)
    rows = ' UNION ALL '.join(_rows(grain, dialect, 'r', f'{table} r', sign) for table, sign in sources)
    return (
        f"INSERT INTO {grain['table']} AS t ({columns}, n)"
        f" SELECT {columns}, CAST(sum(d) AS integer) FROM ({rows}) AS delta"
        f" GROUP BY {columns} HAVING sum(d) <> 0 ORDER BY {columns}"
        f" ON CONFLICT ({columns}) DO UPDATE SET n = t.n + excluded.n;"
    )


def _upsert_row(grain, r, sign):
    """Add one claims row (NEW or OLD, in a SQLite trigger) to the grain's counts."""
    columns = _columns(grain)
    key = ', '.join(expression for _, expression in _key(grain, 'sqlite', r))
    where = (grain['where'] or '1 = 1').format(r=r)
    return (
        f"INSERT INTO {grain['table']} ({columns}, n)"
        f" SELECT {key}, {sign} FROM (SELECT 1) AS one {grain['join'].format(r=r)} WHERE {where}"
        f" ON CONFLICT ({columns}) DO UPDATE SET n = n + excluded.n;"
    )


_POSTGRESQL_OPERATIONS = {
    'insert': ('INSERT', 'REFERENCING NEW TABLE AS new_rows', [('new_rows', 1)]),
    'update': (
        'UPDATE',
        'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows',
        [('old_rows', -1), ('new_rows', 1)],
    ),
    'delete': ('DELETE', 'REFERENCING OLD TABLE AS old_rows', [('old_rows', -1)]),
}


def _create_postgresql_triggers(bind):
    for name, (event, referencing, sources) in _POSTGRESQL_OPERATIONS.items():
        body = '\n  '.join(_upsert_grouped(grain, 'postgresql', sources) for grain in GRAINS)
        bind.exec_driver_sql(
            f"CREATE FUNCTION claim_counts_after_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  {body}\n  RETURN NULL;\nEND\n$$"
        )
        bind.exec_driver_sql(
            f"CREATE TRIGGER claim_counts_after_{name} AFTER {event} ON claims {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION claim_counts_after_{name}()"
        )


def _create_sqlite_triggers(bind):
    for name, event, r, sign in (('insert', 'INSERT', 'NEW', 1), ('delete', 'DELETE', 'OLD', -1)):
        body = '\n  '.join(_upsert_row(grain, r, sign) for grain in GRAINS)
        bind.exec_driver_sql(
            f"CREATE TRIGGER claim_counts_after_{name} AFTER {event} ON claims\n"
            f"BEGIN\n  {body}\nEND"
        )
    for grain in GRAINS:
        changed = ' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in grain['depends_on'])
        bind.exec_driver_sql(
            f"CREATE TRIGGER {grain['table']}_after_claim_update AFTER UPDATE ON claims"
            f" WHEN {changed}\nBEGIN\n  {_upsert_row(grain, 'OLD', -1)}\n"
            f"  {_upsert_row(grain, 'NEW', 1)}\nEND"
        )


def _fill(bind, dialect):
    for grain in GRAINS:
        columns = _columns(grain)
        rows = _rows(grain, dialect, 'r', 'claims r', 1)
        bind.exec_driver_sql(
            f"INSERT INTO {grain['table']} ({columns}, n)"
            f" SELECT {columns}, count(*) FROM ({rows}) AS claim_keys GROUP BY {columns}"
        )


# The monthly uptake summary called those in training "Started" and the places not yet
# started "${funded}"; a saved summary is reworded to the figures' definitions.
_SUMMARY_WORDS = [
    ('Funded (not yet started): ${funded}', 'Funded, not yet started: ${funded_not_started}'),
    ('Started: ${started}', 'In training: ${in_training}'),
]


def upgrade():
    op.create_table('area_claim_counts',
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('local_authority_id', sa.Integer(), nullable=False),
    sa.Column('setting_kind', sa.String(length=32), nullable=False),
    sa.Column('status', _STATUS, nullable=False),
    sa.Column('holds_place', sa.Boolean(), nullable=False),
    sa.Column('has_started', sa.Boolean(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('programme_id', 'local_authority_id', 'setting_kind', 'status', 'holds_place', 'has_started', name=op.f('pk_area_claim_counts'))
    )
    op.create_table('cohort_claim_counts',
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('status', _STATUS, nullable=False),
    sa.Column('holds_place', sa.Boolean(), nullable=False),
    sa.Column('has_started', sa.Boolean(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('cohort_id', 'status', 'holds_place', 'has_started', name=op.f('pk_cohort_claim_counts'))
    )
    op.create_table('reason_claim_counts',
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('local_authority_id', sa.Integer(), nullable=False),
    sa.Column('status', _STATUS, nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('programme_id', 'local_authority_id', 'status', 'reason', name=op.f('pk_reason_claim_counts'))
    )
    op.create_table('setting_claim_counts',
    sa.Column('setting_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('setting_id', 'programme_id', name=op.f('pk_setting_claim_counts'))
    )
    op.create_table('weekly_claim_counts',
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('local_authority_id', sa.Integer(), nullable=False),
    sa.Column('funded_week', sa.Date(), nullable=False),
    sa.Column('holds_place', sa.Boolean(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('programme_id', 'local_authority_id', 'funded_week', 'holds_place', name=op.f('pk_weekly_claim_counts'))
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    rules = sa.table('reminder_rules', sa.column('code', sa.String), sa.column('body', sa.Text))
    for old, new in _SUMMARY_WORDS:
        op.execute(
            rules.update()
            .where(rules.c.code == 'uptake-summary')
            .values(body=sa.func.replace(rules.c.body, old, new))
        )
    _fill(bind, dialect)
    if dialect == 'postgresql':
        _create_postgresql_triggers(bind)
    else:
        _create_sqlite_triggers(bind)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        for name in _POSTGRESQL_OPERATIONS:
            bind.exec_driver_sql(f'DROP TRIGGER claim_counts_after_{name} ON claims')
            bind.exec_driver_sql(f'DROP FUNCTION claim_counts_after_{name}()')
    else:
        for name in ('insert', 'delete'):
            bind.exec_driver_sql(f'DROP TRIGGER claim_counts_after_{name}')
        for grain in GRAINS:
            bind.exec_driver_sql(f"DROP TRIGGER {grain['table']}_after_claim_update")
    for grain in reversed(GRAINS):
        op.drop_table(grain['table'])
