"""/api/v1/admin: what an integration or a script of the admins needs of user administration:
the user list (search, a group filter, pages), creating an account, resetting its password (with
a reason) and setting its groups, deactivating and reactivating it, and a
user's API tokens, listed and revoked (a revoked token gets 401 on its next call), and a named
long-lived token issued to a member of `integrations` (the token is in this one answer only). Admins only
(403 for everyone else, whatever they send); the rules are engine/core/user_admin.py."""
from __future__ import annotations

from flask import jsonify
from marshmallow import EXCLUDE, Schema, fields, validate

from engine.core import commands, user_admin

from web import engine_db
from web.api.blueprint import api
from web.api.auth import current_actor, load_body, load_query


class AdminUserQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    q = fields.String(load_default="", validate=validate.Length(max=200))
    group = fields.String(load_default="", validate=validate.Length(max=80))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=user_admin.PER_PAGE, validate=validate.Range(min=1, max=200))


class AdminUserOut(Schema):
    username = fields.String()
    display_name = fields.String()
    email = fields.String(allow_none=True)
    active = fields.Boolean()
    groups = fields.List(fields.String())
    created_at = fields.DateTime()


class AdminUserPageOut(Schema):
    items = fields.List(fields.Nested(AdminUserOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class AdminTokenOut(Schema):
    handle = fields.String(metadata={"description": "names the token (the start of its stored digest)"})
    name = fields.String(allow_none=True)
    long_lived = fields.Boolean()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()


class LongLivedTokenRequest(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    expires_on = fields.Date(required=True, metadata={"description": "the last day it works (at most two years ahead)"})


class CreateUserRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    display_name = fields.String(load_default="", validate=validate.Length(max=120))
    email = fields.Email(load_default=None, allow_none=True)
    groups = fields.List(fields.String(validate=validate.Length(min=1, max=80)), load_default=list,
                         validate=validate.Length(max=50))


class ResetPasswordRequest(Schema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class SetGroupsRequest(Schema):
    groups = fields.List(fields.String(validate=validate.Length(min=1, max=80)), required=True,
                         validate=validate.Length(max=50))


class IssuedAdminTokenOut(AdminTokenOut):
    token = fields.String(metadata={"description": "shown this once; only its digest is kept"})


@api.get("/v1/admin/users")
def admin_list_users():  # type: ignore[no-untyped-def]
    actor = current_actor()
    query = load_query(AdminUserQuery())
    found = commands.query(engine_db(), user_admin.list_users, actor, query["q"], query["group"],
                           query["page"], query["per_page"])
    return jsonify(AdminUserPageOut().dump({"items": found.rows, "total": found.total, "page": found.page,
                                       "per_page": found.per_page}))


@api.post("/v1/admin/users")
def admin_create_user():  # type: ignore[no-untyped-def]
    actor = current_actor()
    body = load_body(CreateUserRequest())
    row = commands.execute(engine_db(), user_admin.create, actor, body["username"], body["password"],
                           body["display_name"], body["email"], body["groups"])
    return jsonify(AdminUserOut().dump(row)), 201


@api.post("/v1/admin/users/<username>/password")
def admin_reset_password(username: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    body = load_body(ResetPasswordRequest())
    commands.execute(engine_db(), user_admin.reset_password, actor, username, body["password"], body["reason"])
    return "", 204


@api.put("/v1/admin/users/<username>/groups")
def admin_set_groups(username: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    body = load_body(SetGroupsRequest())
    row = commands.execute(engine_db(), user_admin.set_groups, actor, username, body["groups"])
    return jsonify(AdminUserOut().dump(row))


@api.post("/v1/admin/users/<username>/deactivate")
def admin_deactivate_user(username: str):  # type: ignore[no-untyped-def]
    row = commands.execute(engine_db(), user_admin.set_active, current_actor(), username, False)
    return jsonify(AdminUserOut().dump(row))


@api.post("/v1/admin/users/<username>/reactivate")
def admin_reactivate_user(username: str):  # type: ignore[no-untyped-def]
    row = commands.execute(engine_db(), user_admin.set_active, current_actor(), username, True)
    return jsonify(AdminUserOut().dump(row))


@api.get("/v1/admin/users/<username>/tokens")
def admin_user_tokens(username: str):  # type: ignore[no-untyped-def]
    rows = commands.query(engine_db(), user_admin.tokens, current_actor(), username)
    return jsonify(AdminTokenOut(many=True).dump(rows))


@api.post("/v1/admin/users/<username>/tokens")
def admin_issue_token(username: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    body = load_body(LongLivedTokenRequest())
    token, row = commands.execute(engine_db(), user_admin.issue_long_lived, actor, username, body["name"],
                                  body["expires_on"])
    return jsonify(IssuedAdminTokenOut().dump(row) | {"token": token}), 201


@api.delete("/v1/admin/users/<username>/tokens/<handle>")
def admin_revoke_token(username: str, handle: str):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), user_admin.revoke_token, current_actor(), username, handle)
    return "", 204
