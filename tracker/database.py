"""How the service talks to its two databases, so that the same rules hold on both.

SQLite allows one writer at a time and ignores ``SELECT ... FOR UPDATE``. A transaction
that reads first and writes later can find, at its first write, that another process
has written meanwhile, and then fails rather than waits. So every SQLite transaction
starts with ``BEGIN IMMEDIATE``: it takes the write lock up front and waits for it
(``busy_timeout``), which serialises transactions across processes. PostgreSQL keeps
its default READ COMMITTED isolation; the place ledger serialises its decisions there
with a row lock (see ``tracker.places``).
"""

from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

SQLITE_BUSY_TIMEOUT_MS = 60_000
# Keeps each IN (...) list well inside SQLite's limit on bound parameters.
IN_CHUNK = 500
# Fewer rows than this are quicker to INSERT than to COPY.
COPY_FROM = 20


@sa.event.listens_for(Engine, "connect")
def _configure_sqlite_connection(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # Let SQLAlchemy's "begin" event below emit BEGIN, instead of pysqlite's own
    # transaction handling, which begins late and never immediately.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@sa.event.listens_for(Engine, "begin")
def _begin_sqlite_immediately(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(bind) -> bool:
    return bind.dialect.name == "sqlite"


def one_of(bind, column, values: Iterable) -> Iterator[sa.ColumnElement[bool]]:
    """Conditions that ``column`` is one of ``values``: one query for each, together all of them.

    PostgreSQL takes the values as one array (``= ANY``), in one query however many: a
    long IN (...) list costs the driver time for every placeholder, on every query.
    SQLite takes IN lists of ``IN_CHUNK`` values.
    """
    values = list(values)
    if not values:
        return
    if bind.dialect.name == "postgresql":
        item_type = column.type
        if getattr(item_type, "length", None) is not None:
            # Cast to VARCHAR(n), a longer value would be cut short, and might then match.
            item_type = item_type.copy()
            item_type.length = None
        yield column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(item_type)))
        return
    for start in range(0, len(values), IN_CHUNK):
        yield column.in_(values[start : start + IN_CHUNK])


def count_rows(session, query: sa.Select) -> int:
    """How many rows a query gives: a list's length, for its pages (not a figure of the
    service: those are counted in tracker.figures)."""
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def insert_one(connection: sa.Connection, table: sa.Table, row: dict) -> int:
    """Insert one row and return its id, in one statement."""
    return connection.execute(sa.insert(table).returning(table.c.id), row).scalar_one()


def insert_rows(connection: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert many rows, each a dict of the same columns, as fast as the database allows.

    PostgreSQL loads them with COPY, several times faster than an INSERT per row: each
    value is converted by its column's type as for an INSERT, and an error is raised as
    SQLAlchemy's, as from any statement. SQLite, and a few rows, take one executemany
    INSERT. Give every column but the id: COPY gives a column left out the database's
    default, not the model's.
    """
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name != "postgresql" or len(rows) < COPY_FROM:
        connection.execute(sa.insert(table), rows)
        return
    names = list(rows[0])
    converters = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    quote = dialect.identifier_preparer.quote
    statement = (
        f"COPY {dialect.identifier_preparer.format_table(table)}"
        f" ({', '.join(quote(name) for name in names)}) FROM STDIN"
    )
    pairs = list(zip(names, converters, strict=True))
    dbapi_error = dialect.loaded_dbapi.Error
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        row[name] if convert is None else convert(row[name])
                        for name, convert in pairs
                    ]
                )
    except dbapi_error as error:
        raise sa.exc.DBAPIError.instance(
            statement, None, error, dbapi_error, dialect=dialect
        ) from error


def reserve_ids(connection: sa.Connection, table: sa.Table, count: int) -> list[int]:
    """Reserve ``count`` new ids for rows of ``table`` to be inserted with their ids given,
    in increasing order, so that rows written in bulk need not read their ids back.

    PostgreSQL takes them from the table's id sequence, which then stays ahead of the rows;
    SQLite gives the next ids after the highest, which the transaction's write lock (taken
    as it begins, see above) keeps for it.
    """
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        sequence = sa.func.pg_get_serial_sequence(table.name, "id")
        ids = connection.scalars(
            sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, count))
        ).all()
        return sorted(ids)
    first = connection.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))) + 1
    return list(range(first, first + count))
