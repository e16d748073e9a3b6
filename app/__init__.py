"""Application factory of the school information system."""

import logging

from flask import Flask
from flask_appbuilder import AppBuilder
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from app.models import db

log = logging.getLogger(__name__)

migrate = Migrate(render_as_batch=True)
csrf = CSRFProtect()


def _is_unsupported_type_notice(record: logging.LogRecord) -> bool:
    return not record.msg.startswith(("Filter type not supported", "Column %s Type not supported"))


def _quiet_framework_warnings() -> None:
    # FAB logs at every start that it has no search filter or form field for time columns
    # and for its own role names. Nothing can act on it, so only these lines are dropped.
    for name in ("flask_appbuilder.models.filters", "flask_appbuilder.forms"):
        logger = logging.getLogger(name)
        if _is_unsupported_type_notice not in logger.filters:
            logger.addFilter(_is_unsupported_type_notice)


def create_app(config_overrides: dict | None = None) -> Flask:
    """Build the Flask app with its database, security, views and commands."""
    _quiet_framework_warnings()
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object("config")
    if config_overrides:
        app.config.update(config_overrides)

    if app.config.get("PROXY_FIX_X_FOR", 0) > 0:
        # Behind a reverse proxy, request.remote_addr becomes the client's address taken
        # from that many trusted entries of X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"])

    _store_times_in_utc(app)
    db.init_app(app)
    from app.services.personal_data_audit import install_audit_hook

    # Every change of a person's data leaves an audit row in the same transaction.
    install_audit_hook()
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    csrf.init_app(app)

    with app.app_context():
        # The AppBuilder is made per app: a shared one leaves a second app without routes.
        appbuilder = AppBuilder()
        appbuilder.init_app(app, db.session)

        from app.views import register_views

        register_views(appbuilder)

    from app.commands import register_commands
    from app.web import register_web

    register_web(app)
    register_commands(app)
    return app


def _store_times_in_utc(app: Flask) -> None:
    """Make PostgreSQL sessions work in UTC, so that now() stores naive UTC like SQLite.

    Pages convert stored times to ``TIMEZONE`` for display. A server in a local time zone
    would otherwise store local times, and pages would convert them a second time.
    """
    if not str(app.config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("options", "-c timezone=UTC")
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
