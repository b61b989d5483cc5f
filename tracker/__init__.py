"""The SEND workforce training tracker: create_app builds the Flask application."""

import logging
import os
from pathlib import Path

from flask import Flask

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
    settings = config if isinstance(config, type) else config_from_environment()
    app.config.from_object(settings)
    if isinstance(config, dict):
        app.config.update(config)

    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in production (TRACKER_ENV=production)")

    os.makedirs(app.instance_path, exist_ok=True)
    default_db = "sqlite:///" + os.path.join(app.instance_path, "tracker.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(
        app.config.get("SQLALCHEMY_DATABASE_URI"), default_db
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    from tracker import audit, database  # noqa: F401  (registers the engine and audit hooks)
    from tracker.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)

    from tracker.models import User

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.is_active else None

    from tracker.web.health import bp as health_bp

    app.register_blueprint(health_bp)

    from tracker.cli import tracker_cli

    app.cli.add_command(tracker_cli)
    return app
