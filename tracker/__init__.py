"""The SEND workforce training tracker: create_app builds the Flask application."""

import logging
import os
from pathlib import Path

from flask import Flask

from tracker import formats
from tracker.config import Config, config_from_environment, database_url

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: type[Config] | dict | None = None) -> Flask:
    """Build the application; nothing connects or starts until a request or command needs it."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    from tracker import input_guard

    # First: a route takes its converters as it is added, and the guard runs before all else.
    input_guard.init_app(app)
    settings = config if isinstance(config, type) else config_from_environment()
    app.config.from_object(settings)
    if isinstance(config, dict):
        app.config.update(config)

    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in production (TRACKER_ENV=production)")
    if app.config.get("REQUIRE_SHARED_RATELIMIT_STORAGE") and app.config[
        "RATELIMIT_STORAGE_URI"
    ].startswith("memory://"):
        raise RuntimeError(
            "RATELIMIT_STORAGE_URI must name storage the workers share, such as "
            "redis://host:6379, in production: with memory:// each worker counts apart, "
            "multiplying every limit by the number of workers"
        )

    os.makedirs(app.instance_path, exist_ok=True)
    default_db = "sqlite:///" + os.path.join(app.instance_path, "tracker.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(
        app.config.get("SQLALCHEMY_DATABASE_URI"), default_db
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Alembic names each of its plugins as it loads them: not news to anyone running a command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from tracker import audit, database  # noqa: F401  (registers the engine and audit hooks)
    from tracker.extensions import cache, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)

    from tracker.models import User

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # Only a session the server still holds signs anyone in: see accounts.start_session.
        from flask import session

        from tracker.accounts import SESSION_ID_KEY, session_user

        try:
            account_id = int(user_id)
        except (TypeError, ValueError):
            return None
        return session_user(
            db.session,
            session.get(SESSION_ID_KEY),
            account_id,
            lifetime=app.config["SESSION_ABSOLUTE_LIFETIME"],
        )

    from tracker.web.health import bp as health_bp

    app.register_blueprint(health_bp)

    from tracker.api import init_api

    init_api(app)

    from govuk_frontend_wtf.main import WTFormsHelpers
    from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

    # The pages' templates, then GOV.UK Frontend's macros and the form widgets' templates
    # under their own prefixes, as LandRegistry's govuk-frontend-flask loads them.
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(ROOT / "templates"),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    WTFormsHelpers(app)
    from tracker.web.forms import error_summary

    # Every error summary's links land on an input, date fields' on their day box.
    app.jinja_env.globals["wtforms_errors"] = error_summary
    app.jinja_env.filters.update(formats.FILTERS)

    from tracker.web import (
        admin,
        auth,
        dashboard,
        dfe,
        errors,
        layout,
        local_authority,
        pages,
        provider,
        public,
        reminders,
        security,
        setting,
    )

    # After the API: web.errors' handler for HTTPException replaces the API's app-wide one
    # and hands it the API's paths.
    for web in (
        security,
        layout,
        errors,
        pages,
        auth,
        admin,
        dfe,
        provider,
        setting,
        local_authority,
        dashboard,
        public,
        reminders,
    ):
        app.register_blueprint(web.bp)
    app.register_blueprint(reminders.links)

    from tracker.cli import tracker_cli

    app.cli.add_command(tracker_cli)
    return app
