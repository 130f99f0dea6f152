"""The user's own settings: substitutes and their password. A user going on leave names a
colleague and a period; meanwhile their tasks reach the substitute (see engine/workspace/substitutes.py).
Supervisors may name a substitute for someone else (a sudden absence). Naming and revoking are
audited. Changing the password needs the current one and a new one, typed twice, that meets the
password policy (engine/core/passwords.py); it ends every session of the user, this one is begun anew."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session

from engine.core import commands, names, passwords, sso, users
from engine.workspace import substitutes
from engine.core.errors import InvalidData

from web import engine_db
from web.auth import current_actor, start_session
from web.i18n import field_error
from web.pages.common import protected

account = protected(Blueprint("account", __name__, url_prefix="/account"))


def _page(form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None,
          status: int = 200):  # type: ignore[no-untyped-def]
    actor = current_actor()

    def _read(session: Session):  # type: ignore[no-untyped-def]
        rows = substitutes.listed(session, actor)
        return rows, substitutes.colleagues(session, actor), names.lookup(
            session, [u for r in rows for u in (r.username, r.substitute)])

    rows, colleagues, people = commands.query(engine_db(), _read)
    return render_template("account/substitutes.html", rows=rows, colleagues=colleagues, names=people, form=form or {},
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



_REQUIRED = {"required": "This field is required."}
_LENGTH = [validate.Length(min=1, error="This field is required."), validate.Length(max=passwords.MAX_LENGTH)]


class PasswordChange(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token

    current_password = fields.String(required=True, error_messages=_REQUIRED, validate=_LENGTH)
    new_password = fields.String(required=True, error_messages=_REQUIRED, validate=_LENGTH)
    repeat_password = fields.String(required=True, error_messages=_REQUIRED, validate=_LENGTH)


_PASSWORD_ERRORS = {
    passwords.TOO_SHORT: _l("Use at least %(n)s characters.", n=passwords.MIN_LENGTH),
    passwords.TOO_LONG: _l("Use at most %(n)s characters.", n=passwords.MAX_LENGTH),
    passwords.TOO_COMMON: _l("This password is too common; choose another."),
    passwords.HAS_USERNAME: _l("The password must not contain the user name."),
    "The current password is wrong.": _l("The current password is wrong."),
    "The two new passwords differ.": _l("The two new passwords differ."),
    "The new password must differ from the current one.": _l("The new password must differ from the current one."),
}


def password_error(message: str) -> str:
    """A password rule's message in the reader's language (the admin pages show the same ones)."""
    known = _PASSWORD_ERRORS.get(message)
    return str(known) if known is not None else field_error(message)


def _password_page(errors: dict[str, list[str]] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    shown = {field: [password_error(m) for m in messages] for field, messages in (errors or {}).items()}
    elsewhere = commands.query(engine_db(), sso.signs_in_elsewhere, current_user.username)
    return render_template("account/password.html", errors=shown, min_length=passwords.MIN_LENGTH,
                           elsewhere=elsewhere), 409 if elsewhere and status == 422 else status


@account.get("/password", endpoint="password")
def password_page():  # type: ignore[no-untyped-def]
    return _password_page()


@account.post("/password")
def change_password():  # type: ignore[no-untyped-def]
    try:
        form = PasswordChange().load(request.form.to_dict())
    except ValidationError as error:
        return _password_page({k: list(v) for k, v in error.messages.items()}, 422)  # type: ignore[union-attr]
    try:
        user = commands.execute(engine_db(), users.change_password, current_user.username,
                                form["current_password"], form["new_password"], form["repeat_password"])
    except InvalidData as error:
        return _password_page(error.fields, 422)
    start_session(user)  # the change ended every session of the user, this one too
    flash(_("Your password was changed. Every other session of yours was signed out."), "success")
    return redirect(url_for("account.password"))
