"""The administration pages (members of `admins` only; everyone else gets the 403 page): the user
list with search, a group filter and pages; creating a user; a user's page (groups, deactivate or
reactivate with the open tasks a supervisor must reassign, a password reset with a reason, API
tokens to revoke, a long-lived token for an integration shown once); and the Excel import
(a template, a preview with each row's errors, all or nothing on confirm). The rules are
engine/core/user_admin.py and user_import.py; these views parse, call one of them, render."""
from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from engine.core import commands, passwords, user_admin, user_import
from engine.core.errors import Conflict, InvalidData

from web import engine_db
from web.auth import current_actor
from web.i18n import field_error
from web.pages.account import password_error
from web.pages.common import Pager, int_arg, protected

admin = protected(Blueprint("admin", __name__, url_prefix="/admin"))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.before_request
def _admins_only() -> None:
    if not current_actor().is_admin:
        abort(403)


# ---- inputs ---------------------------------------------------------------------------------------

_REQUIRED = {"required": "This field is required."}
_FILLED = validate.Length(min=1, error="This field is required.")


class _Form(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token


class NewUser(_Form):
    username = fields.String(required=True, error_messages=_REQUIRED, validate=[_FILLED, validate.Length(max=80)])
    display_name = fields.String(load_default="", validate=validate.Length(max=200))
    email = fields.String(load_default="", validate=validate.Length(max=200))
    password = fields.String(required=True, error_messages=_REQUIRED,
                             validate=[_FILLED, validate.Length(max=passwords.MAX_LENGTH)])
    groups = fields.List(fields.String(validate=validate.Length(max=80)), load_default=list)


class PasswordReset(_Form):
    password = fields.String(required=True, error_messages=_REQUIRED,
                             validate=[_FILLED, validate.Length(max=passwords.MAX_LENGTH)])
    reason = fields.String(required=True, error_messages=_REQUIRED, validate=_FILLED)


class GroupChoice(_Form):
    groups = fields.List(fields.String(validate=validate.Length(max=80)), load_default=list)


class ActiveChoice(_Form):
    active = fields.Boolean(required=True, error_messages=_REQUIRED)


class TokenRequest(_Form):
    name = fields.String(required=True, error_messages=_REQUIRED, validate=[_FILLED, validate.Length(max=100)])
    expires_on = fields.Date(required=True, error_messages=_REQUIRED)


def _form(schema: Schema) -> dict[str, Any]:
    """The posted form as `schema` loads it; InvalidData (shown like an engine refusal) when wrong."""
    data: dict[str, Any] = request.form.to_dict()
    if "groups" in schema.fields:
        data["groups"] = request.form.getlist("groups")
    try:
        return schema.load(data)  # type: ignore[no-any-return]
    except ValidationError as error:
        raise InvalidData("invalid form", {k: list(v) for k, v in error.messages.items()}) from error  # type: ignore[union-attr]


_MESSAGES = {
    "You cannot deactivate yourself.": _l("You cannot deactivate yourself."),
    "You cannot remove yourself from the administrators.": _l("You cannot remove yourself from the administrators."),
    "Long-lived tokens are only for members of 'integrations'.": _l("Long-lived tokens are only for members of “Other systems”."),
    "Name the token (1-100 characters).": _l("Name the token (1-100 characters)."),
    "This account is deactivated.": _l("This account is deactivated."),
    "Say why (it is kept in the audit log).": _l("Say why (it is kept in the audit log)."),
    "Use 1-80 letters, digits and . _ - @": _l("Use 1-80 letters, digits and . _ - @"),
    f"Choose a day after today and at most {user_admin.MAX_TOKEN_DAYS} days ahead.":
        _l("Choose a day after today and at most %(n)s days ahead.", n=user_admin.MAX_TOKEN_DAYS),
}


def _message(text: str) -> str:
    if text.startswith("Unknown group: "):
        return _("Unknown group: %(group)s", group=text.removeprefix("Unknown group: "))
    known = _MESSAGES.get(text)
    return str(known) if known is not None else password_error(text)


def _shown(error: InvalidData) -> dict[str, list[str]]:
    return {name: [_message(m) for m in messages] for name, messages in error.fields.items()}


# ---- the list and a new user -----------------------------------------------------------------------

@admin.get("", endpoint="index")
def users_page():  # type: ignore[no-untyped-def]
    q, group, page = request.args.get("q", "")[:200], request.args.get("group", "")[:80], int_arg("page", 1)
    found = commands.query(engine_db(), user_admin.list_users, current_actor(), q, group, page)

    def page_url(n: int) -> str:
        return url_for("admin.index") + "?" + urlencode({k: v for k, v in (("q", q), ("group", group), ("page", n)) if v})

    return render_template("admin/users.html", found=found, q=q, group=group, page_url=page_url,
                           pager=Pager(found.page, found.per_page, found.total))


def _new_page(form: dict[str, Any], errors: dict[str, list[str]], status: int = 200):  # type: ignore[no-untyped-def]
    groups = commands.query(engine_db(), user_admin.known_groups)
    return render_template("admin/new.html", form=form, errors=errors, groups=groups,
                           min_length=passwords.MIN_LENGTH), status


@admin.get("/new", endpoint="new_user")
def new_user_page():  # type: ignore[no-untyped-def]
    return _new_page({"groups": []}, {})


@admin.post("/new")
def create_user():  # type: ignore[no-untyped-def]
    try:
        form = _form(NewUser())
        row = commands.execute(engine_db(), user_admin.create, current_actor(), form["username"], form["password"],
                               form["display_name"], form["email"], form["groups"])
    except InvalidData as error:
        shown = request.form.to_dict() | {"groups": request.form.getlist("groups"), "password": ""}
        return _new_page(shown, _shown(error), 422)
    except Conflict:
        shown = request.form.to_dict() | {"groups": request.form.getlist("groups"), "password": ""}
        return _new_page(shown, {"username": [_("This user name is taken.")]}, 409)
    flash(_("The user %(name)s was created.", name=row.display_name), "success")
    return redirect(url_for("admin.user_page", username=row.username))


# ---- one user ---------------------------------------------------------------------------------------

def _user_page(username: str, errors: dict[str, list[str]] | None = None, status: int = 200,
               new_token: str | None = None):  # type: ignore[no-untyped-def]
    detail = commands.query(engine_db(), user_admin.user_page, current_actor(), username)
    return render_template("admin/user.html", d=detail, u=detail.user, errors=errors or {}, new_token=new_token,
                           is_self=username == current_actor().username, min_length=passwords.MIN_LENGTH), status


@admin.get("/users/<username>", endpoint="user_page")
def user_detail(username: str):  # type: ignore[no-untyped-def]
    return _user_page(username)


@admin.post("/users/<username>/active")
def set_active(username: str):  # type: ignore[no-untyped-def]
    try:
        active = _form(ActiveChoice())["active"]
        commands.execute(engine_db(), user_admin.set_active, current_actor(), username, active)
    except InvalidData as error:
        return _user_page(username, _shown(error), 422)
    flash(_("The account was reactivated.") if active else
          _("The account was deactivated: it can no longer sign in, and its sessions and tokens have ended."), "success")
    return redirect(url_for("admin.user_page", username=username))


@admin.post("/users/<username>/password")
def reset_password(username: str):  # type: ignore[no-untyped-def]
    try:
        form = _form(PasswordReset())
        commands.execute(engine_db(), user_admin.reset_password, current_actor(), username, form["password"], form["reason"])
    except InvalidData as error:
        return _user_page(username, _shown(error), 422)
    flash(_("The password was reset. The user's sessions and tokens have ended."), "success")
    return redirect(url_for("admin.user_page", username=username))


@admin.post("/users/<username>/groups")
def set_groups(username: str):  # type: ignore[no-untyped-def]
    try:
        commands.execute(engine_db(), user_admin.set_groups, current_actor(), username, _form(GroupChoice())["groups"])
    except InvalidData as error:
        return _user_page(username, _shown(error), 422)
    flash(_("The groups were saved."), "success")
    return redirect(url_for("admin.user_page", username=username))


@admin.post("/users/<username>/tokens/<handle>/revoke")
def revoke_token(username: str, handle: str):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), user_admin.revoke_token, current_actor(), username, handle)
    flash(_("The token was revoked; it no longer works."), "success")
    return redirect(url_for("admin.user_page", username=username))


@admin.post("/users/<username>/tokens")
def issue_token(username: str):  # type: ignore[no-untyped-def]
    try:
        form = _form(TokenRequest())
        token, _row = commands.execute(engine_db(), user_admin.issue_long_lived, current_actor(), username,
                                       form["name"], form["expires_on"])
    except InvalidData as error:
        return _user_page(username, _shown(error), 422)
    return _user_page(username, new_token=token, status=201)


# ---- the Excel import -------------------------------------------------------------------------------

IMPORT_ERRORS = {
    "required": _l("This field is required."),
    "username_invalid": _l("Use 1-80 letters, digits and . _ - @"),
    "duplicate_in_file": _l("The same user name is already in row %(detail)s."),
    "group_unknown": _l("Unknown group: %(detail)s"),
    "email_invalid": _l("Not an e-mail address: %(detail)s"),
    "too_long": _l("At most %(detail)s characters."),
    "password_for_existing": _l("This user exists: leave the password empty (reset it on the user's page)."),
    "empty": _l("The file has no rows under the headings."),
    "too_many_new": _l("At most %(detail)s new users per file: put the rest in another file."),
}
FILE_ERRORS = {
    "too_large": _l("The file is too large (at most %(n)s KB).", n=user_import.MAX_BYTES // 1024),
    "not_xlsx": _l("This is not an Excel workbook (.xlsx)."),
    "no_headings": _l("The first row must hold the template's headings (username and groups at least)."),
    "too_many_rows": _l("At most %(n)s rows per file.", n=user_import.MAX_ROWS),
}


def row_error(error: user_import.RowError) -> str:
    if error.code == "password_policy":
        return password_error(error.detail)
    template = IMPORT_ERRORS.get(error.code)
    return str(template) % {"detail": error.detail} if template is not None else field_error(error.code)


def _import_page(errors: list[str] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/import.html", errors=errors or []), status


@admin.get("/import", endpoint="import_page")
def import_page():  # type: ignore[no-untyped-def]
    return _import_page()


@admin.get("/import/template.xlsx", endpoint="import_template")
def import_template():  # type: ignore[no-untyped-def]
    return Response(user_import.template(), mimetype=XLSX,
                    headers={"Content-Disposition": "attachment; filename=users-template.xlsx"})


def _file_errors(error: InvalidData) -> list[str]:
    return [str(FILE_ERRORS.get(code, field_error(code))) for code in error.fields.get("file", [])] or [_("The file was refused.")]


def _preview(plan: user_import.ImportPlan, content: bytes, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/preview.html", plan=plan, row_error=row_error,
                           content=base64.b64encode(content).decode()), status


@admin.post("/import/preview")
def import_preview():  # type: ignore[no-untyped-def]
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page([_("Choose a file.")], 422)
    content = upload.read(user_import.MAX_BYTES + 1)
    try:
        plan = commands.query(engine_db(), user_import.plan, current_actor(), content)
    except InvalidData as error:
        return _import_page(_file_errors(error), 422)
    return _preview(plan, content, 200 if plan.ok else 422)


@admin.post("/import/confirm")
def import_confirm():  # type: ignore[no-untyped-def]
    try:
        content = base64.b64decode(request.form.get("content", ""), validate=True)
    except (binascii.Error, ValueError):
        return _import_page([_("The file was refused.")], 422)
    try:
        plan = commands.execute(engine_db(), user_import.apply, current_actor(), content)
    except InvalidData as error:
        return _import_page(_file_errors(error), 422)
    if not plan.applied:
        return _preview(plan, content, 422)
    flash(_("%(n)s row(s) imported.", n=len(plan.rows)), "success")
    return redirect(url_for("admin.index"))
