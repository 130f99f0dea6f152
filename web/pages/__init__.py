"""Wiring of the web pages into the app: language (Flask-Babel), sign-in (Flask-Login), CSRF
and security headers, HTML error pages, the menu, the front-end assets and the page
blueprints. Settings (all overridable in the app config or the environment): ATTACHMENT_DIR
(default instance/attachments), SESSION_IDLE_MINUTES (60), SESSION_ABSOLUTE_HOURS (10; see auth.py),
INBOX_POLL_SECONDS (20)."""
from __future__ import annotations

import os

from flask import Blueprint, Flask

from engine import schema  # noqa: F401  every table and the summary hook are registered

from web import ROOT, assets, auth, i18n, security, sso
from web.pages import menu
from web.pages import common as pages


def register_ui(app: Flask, api: Blueprint) -> None:
    app.config.setdefault("ATTACHMENT_DIR", os.environ.get("ATTACHMENT_DIR")
                          or str(ROOT / "instance" / "attachments"))
    app.config.setdefault("INBOX_POLL_SECONDS", int(os.environ.get("INBOX_POLL_SECONDS", "20")))
    i18n.init_app(app)
    security.init_app(app, api)
    auth.init_app(app)
    sso.init_app(app)
    pages.init_app(app)
    menu.init_app(app)
    assets.register(app)

    from web.pages.account import account
    from web.pages.applicant import applicant
    from web.pages.files import files
    from web.pages.inbox import inbox
    from web.pages.instances import instance_pages
    from web.pages.tasks import task_pages
    for blueprint in (inbox, task_pages, applicant, instance_pages, files, account):
        app.register_blueprint(blueprint)
    from web.pages import notifications  # the notification centre and the header's bell
    notifications.init_app(app)
    from web.pages.supervisor import supervisor  # supervisor console (issue 7)
    from web.pages import supervisor_instance  # noqa: F401  its routes are the console's too
    app.register_blueprint(supervisor)
    from web.pages.designer import designer  # process designer (issue 5)
    app.register_blueprint(designer)
    from web.pages.admin import admin  # user and group administration (issue 19)
    app.register_blueprint(admin)
    from web.pages.batches import batch_pages  # a call's batch documents (issue 16)
    app.register_blueprint(batch_pages)
    from web.pages.experts import experts  # the expert pool: draws, ratings, standing (issue 16)
    app.register_blueprint(experts)
    from web.pages.calls import calls_pages  # calls for proposals (issue 16)
    app.register_blueprint(calls_pages)
    from web.pages.registers import registers  # the project register and the funds ledger (issue 17)
    app.register_blueprint(registers)
