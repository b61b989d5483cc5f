"""Settings read from the environment, one class per situation."""

import os
import secrets


def database_url(raw: str | None, default: str) -> str:
    """Return a SQLAlchemy URL, sending plain ``postgresql://`` URLs through psycopg 3."""
    url = raw or default
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # None means "a SQLite file in the instance folder"; create_app fills it in.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    TIMEZONE = "Europe/London"


class DevelopmentConfig(Config):
    # Development runs on http://127.0.0.1, so the cookie cannot be Secure there.
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    SECRET_KEY = Config.SECRET_KEY or secrets.token_hex(32)


class TestConfig(DevelopmentConfig):
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105
    WTF_CSRF_ENABLED = True


class ProductionConfig(Config):
    pass


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    """Pick the settings class named by ``TRACKER_ENV`` (development when unset)."""
    name = os.environ.get("TRACKER_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(
            f"TRACKER_ENV={name!r} is not one of {', '.join(sorted(CONFIGS))}"
        ) from None
