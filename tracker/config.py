"""Settings read from the environment, one class per situation."""

import os
import secrets
from datetime import timedelta


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
    # A signed-in session ends after this long without a request; every request restarts it
    # (Flask re-signs the cookie each time and refuses one older than this).
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)
    # However busy, a session ends this long after signing in (kept on the server, so
    # signing out, a new password or deactivation also end it at once).
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=12)
    # How long before then a page warns that the session is ending and offers to keep it.
    SESSION_TIMEOUT_WARNING = timedelta(minutes=2)
    # Wrong passwords allowed before sign-in is refused with 429 (Flask-Limiter rate strings):
    # per account, counted since its last successful sign-in; and per address, set higher
    # because a whole council or school office may share one.
    SIGN_IN_FAILURES_PER_ACCOUNT = "10 per 15 minutes"
    SIGN_IN_FAILURES_PER_ADDRESS = "50 per 15 minutes"
    # How long the link a new account sets its password with keeps working (once).
    SET_PASSWORD_LINK_MAX_AGE = timedelta(days=3)
    # Where the phase banner's feedback link and the content pages send people.
    SUPPORT_EMAIL = os.environ.get("SUPPORT_EMAIL", "send.workforce.tracker@education.gov.uk")
    # Refuse larger uploads before reading them (a CSV of enrolments is at most 5 MB).
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024
    # Rate limits (Flask-Limiter): shared storage such as redis:// when there are several
    # processes, else each keeps its own count (production refuses to start on memory://).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # What the counts' keys begin with, so services sharing one Redis count apart.
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "tracker")
    # Requests one API token may make (a Flask-Limiter rate string).
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "300 per minute")
    # Where the dashboards' rendered figures are kept (Flask-Caching, tracker/web/figure_cache.py),
    # under a version that only ledger operations move: Redis (CACHE_REDIS_URL) shared by
    # every worker in production, else each process keeps its own. CACHE_DEFAULT_TIMEOUT is
    # the longest a figure is kept, for a change that took no ledger lock.
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL")
    CACHE_TYPE = "RedisCache" if CACHE_REDIS_URL else "SimpleCache"
    # Services sharing one Redis keep their figures apart by this prefix.
    CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "tracker-figures:")
    CACHE_DEFAULT_TIMEOUT = int(os.environ.get("CACHE_DEFAULT_TIMEOUT", "60"))
    # While claims keep coming, the dashboards' figures are worked out again at most this
    # often (seconds; each page says when its figures were worked out). 0: after every change.
    FIGURES_MAX_AGE_SECONDS = int(os.environ.get("FIGURES_MAX_AGE_SECONDS", "10"))

    # The service's public address, for links in emails (sent with no request to go by).
    SERVICE_URL = os.environ.get("SERVICE_URL", "http://127.0.0.1:5000")
    # Reminders (see tracker.reminders.backends): outbox keeps and logs them, smtp or
    # notify sends them.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "outbox")
    MAIL_FROM = os.environ.get("MAIL_FROM", "send-workforce-tracker@localhost")
    SMTP_HOST = os.environ.get("SMTP_HOST", "localhost")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "0").lower() in ("1", "true", "yes")
    SMTP_TIMEOUT_SECONDS = float(os.environ.get("SMTP_TIMEOUT_SECONDS", "30"))
    NOTIFY_API_KEY = os.environ.get("NOTIFY_API_KEY")
    # A Notify email template with ((subject)) and ((body)), for rules that name none.
    NOTIFY_TEMPLATE_ID = os.environ.get("NOTIFY_TEMPLATE_ID")
    # How long a sender holds a message: longer than any one attempt to send it.
    REMINDERS_LEASE_SECONDS = int(os.environ.get("REMINDERS_LEASE_SECONDS", "300"))


class DevelopmentConfig(Config):
    # Development runs on http://127.0.0.1, so the cookie cannot be Secure there.
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    SECRET_KEY = Config.SECRET_KEY or secrets.token_hex(32)


class TestConfig(DevelopmentConfig):
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105
    WTF_CSRF_ENABLED = True
    # Tests share one app while each empties the database: nothing is kept between them
    # (tests/web/test_figure_cache.py puts a cache in place to test keeping).
    CACHE_TYPE = "NullCache"
    CACHE_NO_NULL_WARNING = True
    FIGURES_MAX_AGE_SECONDS = 0


class ProductionConfig(Config):
    # Several workers each counting in memory would multiply every limit by their number.
    REQUIRE_SHARED_RATELIMIT_STORAGE = True


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
