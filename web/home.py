"""The landing page at /: what is deployed and where the API and its documentation are. The
reviewers' inbox and the other pages come with their own blueprints."""
from __future__ import annotations

from flask import Blueprint, render_template

from engine import commands, deployment

from . import engine_db

home = Blueprint("home", __name__)


@home.get("/")
def index():  # type: ignore[no-untyped-def]
    definitions = commands.query(engine_db(), deployment.latest_definitions)
    return render_template("home.html", definitions=definitions)


@home.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return {"status": "ok"}
