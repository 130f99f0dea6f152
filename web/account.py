"""The user's own settings: substitutes. A user going on leave names a colleague and a period;
meanwhile their tasks reach the substitute (see engine/substitutes.py). Supervisors may name a
substitute for someone else (a sudden absence). Naming and revoking are audited."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session

from engine import commands, substitutes
from engine.errors import InvalidData

from . import engine_db
from .auth import current_actor
from .pages import protected

account = protected(Blueprint("account", __name__, url_prefix="/account"))


def _page(form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None,
          status: int = 200):  # type: ignore[no-untyped-def]
    actor = current_actor()

    def _read(session: Session):  # type: ignore[no-untyped-def]
        return substitutes.listed(session, actor), substitutes.colleagues(session, actor)

    rows, colleagues = commands.query(engine_db(), _read)
    return render_template("account/substitutes.html", rows=rows, colleagues=colleagues, form=form or {},
                           errors=errors or {}, today=substitutes.today()), status


@account.get("/substitutes", endpoint="substitutes")
def substitutes_page():  # type: ignore[no-untyped-def]
    return _page()


@account.post("/substitutes")
def name_substitute():  # type: ignore[no-untyped-def]
    form = {k: request.form.get(k, "").strip() for k in ("username", "substitute", "starts_on", "ends_on", "reason")}
    username = form["username"] or current_user.username
    try:
        commands.execute(engine_db(), substitutes.name, current_actor(), username, form["substitute"],
                         form["starts_on"], form["ends_on"], form["reason"])
    except InvalidData as error:
        return _page(form, error.fields, 422)
    flash(_("%(name)s will stand in for %(user)s from %(start)s to %(end)s.", name=form["substitute"],
            user=username, start=form["starts_on"], end=form["ends_on"]), "success")
    return redirect(url_for("account.substitutes"))


@account.post("/substitutes/<int:substitution_id>/revoke")
def revoke(substitution_id: int):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), substitutes.revoke, current_actor(), substitution_id)
    flash(_("The substitution was revoked."), "success")
    return redirect(url_for("account.substitutes"))

