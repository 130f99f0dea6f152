"""The start page at /: signed-out visitors go to the sign-in page, applicants to their
applications, designers to the designer, reviewers to their inbox. /healthz answers load balancers."""
from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from engine.core.principals import DESIGNERS

from web.pages.menu import APPLICANTS, is_reviewer

home = Blueprint("home", __name__)


@home.get("/")
def index():  # type: ignore[no-untyped-def]
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.groups and current_user.groups <= {DESIGNERS}:
        return redirect(url_for("designer.index"))  # a designer only designs
    if is_reviewer(current_user.groups):
        return redirect(url_for("inbox.index"))
    if APPLICANTS in current_user.groups or not current_user.groups:
        return redirect(url_for("applicant.applications"))
    return redirect(url_for("inbox.index"))


@home.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return {"status": "ok"}
