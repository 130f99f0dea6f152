"""Wiring of the web pages into the app: language (Flask-Babel), sign-in (Flask-Login), CSRF
and security headers, HTML error pages, the menu, the front-end assets and the page
blueprints. Settings (all overridable in the app config or the environment): ATTACHMENT_DIR
(default instance/attachments), SESSION_IDLE_MINUTES (60), SESSION_ABSOLUTE_HOURS (10; see auth.py),
INBOX_POLL_SECONDS (20)."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, Flask

from engine import schema  # noqa: F401  every table and the summary hook are registered

from . import ROOT, assets, auth, i18n, menu, pages, security


def register_ui(app: Flask, api: Blueprint) -> None:
    app.config.setdefault("ATTACHMENT_DIR", os.environ.get("ATTACHMENT_DIR")
                          or str(ROOT / "instance" / "attachments"))
    app.config.setdefault("INBOX_POLL_SECONDS", int(os.environ.get("INBOX_POLL_SECONDS", "20")))
    i18n.init_app(app)
    security.init_app(app, api)
    auth.init_app(app)
    pages.init_app(app)
    menu.init_app(app)
    assets.register(app)

    from .account import account
    from .applicant import applicant
    from .files import files
    from .inbox import inbox
    from .instance_pages import instance_pages
    from .task_pages import task_pages
    for blueprint in (inbox, task_pages, applicant, instance_pages, files, account):
        app.register_blueprint(blueprint)
    from .supervisor_pages import supervisor  # supervisor console (issue 7)
    app.register_blueprint(supervisor)
    from .designer_pages import designer  # process designer (issue 5)
    app.register_blueprint(designer)


def attachment_dir(app: Flask) -> Path:
    return Path(app.config["ATTACHMENT_DIR"])
