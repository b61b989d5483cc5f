"""How the service talks to its two databases, so that the same rules hold on both.

SQLite allows one writer at a time and ignores ``SELECT ... FOR UPDATE``. A transaction
that reads first and writes later can find, at its first write, that another process
has written meanwhile, and then fails rather than waits. So every SQLite transaction
starts with ``BEGIN IMMEDIATE``: it takes the write lock up front and waits for it
(``busy_timeout``), which serialises transactions across processes. PostgreSQL keeps
its default READ COMMITTED isolation; the place ledger serialises its decisions there
with a row lock (see ``tracker.places``).
"""

import sqlalchemy as sa
from sqlalchemy.engine import Engine

SQLITE_BUSY_TIMEOUT_MS = 60_000


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
