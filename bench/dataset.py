"""Benchmark data sets, built once and cached under ``bench/.data/`` (SQLite) or as
PostgreSQL databases ``bench_<size>``.

* ``small`` and ``10k`` are the demo generator (``tracker.demo.load_demo``) at scale 0.02
  and 1.0: every claim and declaration decided by the place ledger's rules, and checked
  against them after the load.
* ``100k`` and ``1m`` are **demo data replicated**: the 10k set cloned 10 and 100 times
  with set-based SQL (one ``INSERT ... SELECT`` per table over a table of copy numbers,
  with id offsets for cohorts, participants, claims and declarations). Settings and
  providers are shared by the copies, so the caps that count across cohorts (provider
  allocations, programme targets, places per setting, programme-wide region quotas) are
  multiplied by the number of copies: no cap is exceeded (checked after the build by
  ``over_cap``). The claim counts the dashboards read are kept by the triggers on
  ``claims`` as the copies are inserted; ``flask tracker figures check`` is run after the
  build (``figures_check``) and a set with any drift is refused.

A run never changes a cached set: it works on a copy (a file copy on SQLite, ``CREATE
DATABASE ... TEMPLATE`` on PostgreSQL) and drops the copy afterwards.
"""

import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET_KEY = "bench-secret-key"  # noqa: S105  (a local, throw-away benchmark database)

# size -> (demo scale, copies of the demo)
SIZES = {"small": (0.02, 1), "10k": (1.0, 1), "100k": (1.0, 10), "1m": (1.0, 100)}


def app_for(url: str):
    from tracker import create_app
    from tracker.config import DevelopmentConfig

    config = {k: getattr(DevelopmentConfig, k) for k in dir(DevelopmentConfig) if k.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET_KEY)
    return create_app(config)


def _pg(name: str) -> str:
    base = sa.make_url(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1))
    return base.set(database=name).render_as_string(hide_password=False)


def _pg_admin(sql: str) -> None:
    engine = sa.create_engine(_pg("postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(sql))
    engine.dispose()


def _pg_exists(name: str) -> bool:
    engine = sa.create_engine(_pg("postgres"))
    with engine.connect() as conn:
        found = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    engine.dispose()
    return bool(found)


def cached_url(db: str, size: str) -> str:
    if db == "sqlite":
        return f"sqlite:///{DATA / f'{size}.sqlite3'}"
    return _pg(f"bench_{size}")


def _is_built(db: str, size: str) -> bool:
    if db == "sqlite":
        return (DATA / f"{size}.sqlite3.done").exists()
    if not _pg_exists(f"bench_{size}"):
        return False
    engine = sa.create_engine(cached_url(db, size))
    with engine.connect() as conn:
        done = conn.scalar(
            sa.text(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'bench_done'"
            )
        )
    engine.dispose()
    return bool(done)


def _mark_built(db: str, size: str, url: str, info: dict) -> None:
    """Mark the set built, with how long the build took and what the checks found."""
    if db == "sqlite":
        (DATA / f"{size}.sqlite3.done").write_text(json.dumps(info) + "\n")
        return
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE bench_done (built_at TEXT, info TEXT)"))
        conn.execute(
            sa.text("INSERT INTO bench_done (built_at, info) VALUES (:at, :info)"),
            {"at": time.strftime("%Y-%m-%d %H:%M:%S"), "info": json.dumps(info)},
        )
    engine.dispose()


def build_info(db: str, size: str) -> dict:
    """What ``_mark_built`` recorded about a cached set (empty if it recorded nothing)."""
    try:
        if db == "sqlite":
            return json.loads((DATA / f"{size}.sqlite3.done").read_text())
        engine = sa.create_engine(cached_url(db, size))
        try:
            with engine.connect() as conn:
                info = conn.scalar(sa.text("SELECT info FROM bench_done"))
        finally:
            engine.dispose()
        return json.loads(info) if info else {}
    except (OSError, ValueError, sa.exc.SQLAlchemyError):
        return {}


def server_env(url: str) -> dict:
    """The environment the service runs in against ``url`` (gunicorn, the flask CLI)."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "TRACKER_ENV": "development",
        "SECRET_KEY": SECRET_KEY,
        "API_RATE_LIMIT": "10000000 per minute",
        # With a shared Redis (CACHE_REDIS_URL), each data set's figures are kept apart.
        "CACHE_KEY_PREFIX": f"bench-figures-{sa.make_url(url).database}:",
    }


def figures_check(url: str) -> dict:
    """``flask tracker figures check`` on ``url``: whether it found drift, and how much.

    The command itself (``tracker/cli.py``), run by Flask's CLI runner in this process on
    an app for ``url``: it counts every kept count again from the claims and exits 1 on a
    difference.
    """
    from tracker.extensions import db

    started = time.monotonic()
    app = app_for(url)
    answer = app.test_cli_runner().invoke(args=["tracker", "figures", "check"])
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if answer.exception is not None and not isinstance(answer.exception, SystemExit):
        raise RuntimeError(f"figures check failed: {answer.exception!r}") from answer.exception
    if answer.exit_code not in (0, 1):
        raise RuntimeError(f"figures check exited {answer.exit_code}:\n{answer.output}")
    output = answer.output.strip()
    said = [line for line in output.splitlines() if line.lower().startswith(("no drift", "drift"))]
    found = [line for line in said if line.startswith("Drift: ")]
    differences = int(found[-1].split()[1].replace(",", "")) if found else 0
    return {
        "ok": answer.exit_code == 0,
        "differences": differences,
        "summary": said[-1] if said else output[-500:],
        "seconds": time.monotonic() - started,
    }


def _fresh(db: str, size: str) -> str:
    url = cached_url(db, size)
    if db == "sqlite":
        DATA.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", ".done"):
            Path(f"{DATA / f'{size}.sqlite3'}{suffix}").unlink(missing_ok=True)
    else:
        _pg_admin(f'DROP DATABASE IF EXISTS "bench_{size}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "bench_{size}"')
    return url


def ensure(db: str, size: str, echo=print) -> str:
    """Build the data set unless it is cached; return the cached database's URL.

    A cached data set is brought up to the current schema first (new indexes, say), and
    PostgreSQL's statistics brought up to date, as its autovacuum would in service.
    """
    if _is_built(db, size):
        url = cached_url(db, size)
        _up_to_date(url)
        return url
    scale, copies = SIZES[size]
    if copies == 1:
        started = time.monotonic()
        url = _fresh(db, size)
        _load_demo(url, scale, echo)
    else:
        source = ensure(db, "10k", echo)
        echo(f"building {db} {size}: the 10k set cloned {copies} times")
        started = time.monotonic()
        url = _fresh(db, size)
        if db == "sqlite":
            shutil.copyfile(source.removeprefix("sqlite:///"), url.removeprefix("sqlite:///"))
        else:
            _pg_admin(f'DROP DATABASE IF EXISTS "bench_{size}" WITH (FORCE)')
            _pg_admin(f'CREATE DATABASE "bench_{size}" TEMPLATE "bench_10k"')
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE bench_done"))
            engine.dispose()
        replicate(url, copies)
    problems = over_cap(url)
    if problems:
        raise RuntimeError(f"{db} {size}: caps exceeded after the build: {problems}")
    _up_to_date(url)
    check = figures_check(url)
    if not check["ok"]:
        raise RuntimeError(f"{db} {size}: kept counts drift after the build: {check['summary']}")
    seconds = time.monotonic() - started
    _mark_built(db, size, url, {"seconds": seconds, "copies": copies, "figures_check": check})
    echo(f"built {db} {size} in {seconds:.0f}s (figures check: {check['summary']})")
    return url


def _up_to_date(url: str) -> None:
    """Run any migrations the data set has not had, then VACUUM ANALYZE (PostgreSQL)."""
    from flask_migrate import upgrade

    from tracker.extensions import db

    app = app_for(url)
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    if url.startswith("postgresql"):
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        engine.dispose()


def _load_demo(url: str, scale: float, echo) -> None:
    from flask_migrate import upgrade

    from tracker.demo import load_demo
    from tracker.extensions import db

    app = app_for(url)
    with app.app_context():
        upgrade()
        load_demo(db.session, scale=scale, seed=2023, echo=echo)
        db.session.remove()
        db.engine.dispose()


def _columns(conn, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(conn).get_columns(table)]


def replicate(url: str, copies: int) -> None:
    """Clone the demo ``copies - 1`` more times with INSERT ... SELECT (demo data replicated).

    One statement per table inserts every copy at once: the table's first ``offs`` ids
    joined to a table of copy numbers 1 .. copies - 1, each copy's ids offset by its number.
    On PostgreSQL the statement-level triggers on ``claims`` then add the copies to the kept
    counts in one grouped upsert per count table; on SQLite its row-level triggers add
    each claim as it is inserted.
    """
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        offs = {
            t: conn.scalar(sa.text(f"SELECT coalesce(max(id), 0) FROM {t}"))  # noqa: S608
            for t in ("cohorts", "participants", "claims", "declarations")
        }
        seq = conn.scalar(sa.text("SELECT coalesce(max(ledger_seq), 0) FROM programmes"))
        cols = {t: _columns(conn, t) for t in offs}
        conn.execute(sa.text("CREATE TEMPORARY TABLE bench_copies (copy_no INTEGER PRIMARY KEY)"))
        conn.execute(
            sa.text("INSERT INTO bench_copies (copy_no) VALUES (:k)"),
            [{"k": k} for k in range(1, copies)],
        )

        def copy(table: str, override: dict[str, str]) -> None:
            names = cols[table]
            exprs = [override.get(c, f"{table}.{c}") for c in names]
            conn.execute(
                sa.text(
                    f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608
                    f"SELECT {', '.join(exprs)} FROM {table} CROSS JOIN bench_copies"
                    f" WHERE {table}.id <= {offs[table]} ORDER BY bench_copies.copy_no, {table}.id"
                )
            )

        k = "bench_copies.copy_no"
        copy(
            "cohorts",
            {"id": f"cohorts.id + {k} * {offs['cohorts']}", "name": f"cohorts.name || ' #' || {k}"},
        )
        copy(
            "participants",
            {
                "id": f"participants.id + {k} * {offs['participants']}",
                "email": f"'c' || {k} || '.' || participants.email",
                "trn": "NULL",
            },
        )
        copy(
            "claims",
            {
                "id": f"claims.id + {k} * {offs['claims']}",
                "cohort_id": f"claims.cohort_id + {k} * {offs['cohorts']}",
                "participant_id": f"claims.participant_id + {k} * {offs['participants']}",
                "queue_seq": f"claims.queue_seq + {k} * {seq}",
                "created_by_id": "NULL",
            },
        )
        copy(
            "declarations",
            {
                "id": f"declarations.id + {k} * {offs['declarations']}",
                "claim_id": f"declarations.claim_id + {k} * {offs['claims']}",
            },
        )
        conn.execute(sa.text("DROP TABLE bench_copies"))
        # Caps over several cohorts grow with the copies; each cohort keeps its own places.
        times = {"n": copies, "extra": (copies - 1) * seq}
        for statement in (
            "UPDATE allocations SET places = places * :n",
            "UPDATE programme_targets SET places = places * :n",
            "UPDATE programmes SET places_per_setting = places_per_setting * :n,"
            " ledger_seq = ledger_seq + :extra",
            "UPDATE region_quotas SET places = places * :n WHERE NOT per_cohort",
        ):
            conn.execute(sa.text(statement), times)
        if engine.dialect.name == "postgresql":
            for table in offs:  # the four table names above, never input
                statement = (
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                    f" (SELECT max(id) FROM {table}))"
                )
                conn.execute(sa.text(statement))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


def over_cap(url: str) -> dict[str, int]:
    """How many programmes, allocations, cohorts, region quotas and settings hold more places
    than allowed (``tracker.demo.checks.over_cap``, the demo's own check after it loads)."""
    from sqlalchemy.orm import Session

    from tracker.demo.checks import over_cap as count_over_cap

    engine = sa.create_engine(url)
    with Session(engine) as session:
        found = count_over_cap(session)
    engine.dispose()
    return found


@contextmanager
def working_copy(db: str, size: str, echo=print):
    """A throw-away copy of the cached data set, dropped afterwards; yields its URL."""
    source = ensure(db, size, echo)
    if db == "sqlite":
        path = DATA / f"run-{size}-{os.getpid()}.sqlite3"
        shutil.copyfile(source.removeprefix("sqlite:///"), path)
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        name = f"bench_run_{size}_{os.getpid()}"
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "bench_{size}"')
        try:
            yield _pg(name)
        finally:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
