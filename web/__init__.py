"""The Flask application: `create_app` builds it from configuration (environment variables by
default), attaches the engine's `Database`, Alembic migrations through Flask-Migrate, the REST API
blueprint and the CLI commands. Views stay thin: parse, call one engine command, serialize."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate

from engine.core.db import Database

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(ROOT / "instance"), template_folder="pages/templates")
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev-only-change-me"),
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        MAX_CONTENT_LENGTH=60 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.config.update(config or {})
    # a caller that already has the engine's Database (tests, a worker) shares it with the app
    db = app.config.get("ENGINE_DATABASE") or Database(app.config["DATABASE_URL"])
    app.extensions["engine_db"] = db
    Migrate(app, db, directory=str(ROOT / "migrations"))

    from web import structured_logs
    structured_logs.configure(app)  # JSON log lines; the request id, first of every hook
    from web import converters
    converters.register(app)  # before any route is added: ids bounded to their column's range
    from web.api import api
    from web.cli.commands import register_cli
    from web.pages.home import home
    from web.pages import register_ui

    app.register_blueprint(api)
    app.register_blueprint(home)
    from web import monitoring
    monitoring.register(app)  # /readyz, /metrics
    register_ui(app, api)  # pages: sign-in, CSRF, headers, language, inbox, tasks, applicants
    register_cli(app)
    return app


def engine_db(app: Flask | None = None) -> Database:
    from flask import current_app
    return (app or current_app).extensions["engine_db"]
