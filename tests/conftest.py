"""Fixtures: every test that takes ``app`` runs on SQLite and on PostgreSQL.

The schema is built by the migrations (``flask db upgrade``), as in production, so the
migrations are tested too. PostgreSQL comes from ``TEST_DATABASE_URL``; without it those
tests skip, unless ``REQUIRE_POSTGRES=1`` (set in CI), where they fail instead.
"""

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade

from tracker import create_app
from tracker.config import TestConfig
from tracker.extensions import db
from tracker.models import COUNT_TABLES

BACKENDS = ("sqlite", "postgresql")
# Rows the migrations load; tests may change them, so they are put back after each test.
REFERENCE_TABLES = ("regions", "local_authorities", "programmes", "milestones", "programme_targets")

_apps: dict = {}


class RequestByRequestClient(FlaskClient):
    """A test client whose every request runs as in production: in an application context
    of its own, so with its own ``g`` and its own database session, which is removed (what
    it did not commit, rolled back) when the request ends.

    The ``app`` fixture keeps one application context pushed for the whole test, with the
    test's session in it. What the test set up there is committed before each request (a
    browser can only see what was committed), and the test reads the request's results
    afresh afterwards: so a view that forgets to commit fails its tests.
    """

    def open(self, *args, **kwargs):
        db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


def _config_dict() -> dict:
    return {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    return url


def _private_postgres_database(url: str) -> str:
    """Create a database of this test run's own beside the one named, and return its URL.

    Test runs started at the same time on one server must not drop each other's tables.
    """
    base = sa.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{base.database}_run_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    _created_databases.append((base, name))
    return base.set(database=name).render_as_string(hide_password=False)


_created_databases: list = []


def pytest_sessionfinish(session, exitstatus):
    for app in _apps.values():
        with app.app_context():
            db.engine.dispose()
    for base, name in _created_databases:
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _build_app(backend: str, tmp_path_factory):
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        url = f"sqlite:///{path}"
    else:
        url = _private_postgres_database(_postgres_url())
    app = create_app({**_config_dict(), "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        snapshot = {
            table: [
                dict(row._mapping)
                for row in db.session.execute(sa.select(db.metadata.tables[table]))
            ]
            for table in REFERENCE_TABLES
        }
        db.session.rollback()
    app.extensions["test_reference_snapshot"] = snapshot
    return app


def _clean(app) -> None:
    """Empty every table, then put the reference rows back as the migrations left them."""
    snapshot = app.extensions["test_reference_snapshot"]
    with app.app_context():
        db.session.rollback()
        metadata = db.metadata
        with db.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                if table.name not in ("regions", "local_authorities", "programmes"):
                    conn.execute(table.delete())
            # Deleting claims moved the claim counts (by trigger): empty them last.
            for model in COUNT_TABLES:
                conn.execute(model.__table__.delete())
            programmes = metadata.tables["programmes"]
            for row in snapshot["programmes"]:
                conn.execute(programmes.update().where(programmes.c.id == row["id"]).values(**row))
            for name in ("milestones", "programme_targets"):
                if snapshot[name]:
                    conn.execute(metadata.tables[name].insert(), snapshot[name])


def pytest_collection_modifyitems(config, items):
    """Page tests (tests/web) run on one database: PostgreSQL, the production database, when
    the run has one, else SQLite. What the pages do to data is the domain's, tested on both
    by the other tests; a page test module that depends on the database's own behaviour says
    so with ``pytestmark = pytest.mark.both_databases``."""
    one = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    pages = Path(__file__).parent / "web"
    kept, dropped = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("app")
        if (
            backend not in (None, one)
            and item.path.is_relative_to(pages)
            and item.get_closest_marker("both_databases") is None
        ):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@contextmanager
def app_on(backend: str, tmp_path_factory):
    """The app on one database, in an application context; emptied afterwards."""
    if backend not in _apps:
        _apps[backend] = _build_app(backend, tmp_path_factory)
    app = _apps[backend]
    app.config["BACKEND"] = backend
    try:
        with app.app_context():
            yield app
    finally:
        _clean(app)


@pytest.fixture(params=BACKENDS)
def app(request, tmp_path_factory):
    with app_on(request.param, tmp_path_factory) as app:
        yield app


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture
def client(app):
    return RequestByRequestClient(app, app.response_class)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    """Argon2id at its least cost in tests: the service's cost is there for attackers.

    A hash records its own cost, so one made here verifies anywhere, and the service's
    own cost is tested in tests/test_accounts.py.
    """
    from argon2 import PasswordHasher

    from tracker import accounts

    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    accounts._hasher = accounts.PASSWORD_HASHER
