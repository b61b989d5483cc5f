"""Settings from the environment."""

import pytest

from tracker import create_app
from tracker.config import ProductionConfig, database_url


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", None)

    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app(ProductionConfig)


def test_production_refuses_to_count_rate_limits_in_each_workers_memory(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "a production secret")
    monkeypatch.setattr(ProductionConfig, "RATELIMIT_STORAGE_URI", "memory://")

    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI must name storage"):
        create_app(ProductionConfig)

    monkeypatch.setattr(ProductionConfig, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    assert create_app(ProductionConfig).config["RATELIMIT_STORAGE_URI"].startswith("redis://")


def test_plain_postgresql_urls_go_through_psycopg_3():
    assert database_url("postgresql://u@h/db", "x") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db", "x") == "postgresql+psycopg://u@h/db"
    assert database_url(None, "sqlite:///default.db") == "sqlite:///default.db"


def test_the_default_database_is_a_sqlite_file_in_the_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TRACKER_ENV", "development")

    app = create_app({"SQLALCHEMY_DATABASE_URI": None})

    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/tracker.sqlite3")
