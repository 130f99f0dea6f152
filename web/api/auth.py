"""API authentication: POST /api/v1/auth/token exchanges a user name and password for a bearer
token, under the same throttle as the web sign-in (engine/core/sign_in.py: 429 with Retry-After);
`current_actor()` resolves the Authorization header of every other call (401 if absent
or bad). Also the small helpers every view uses to load a JSON body through a schema."""
from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request
from marshmallow import Schema, ValidationError

from engine.core import commands, sign_in, users
from engine.core.errors import BadRequest, InvalidData, TooManyAttempts, Unauthorized
from engine.core.principals import Actor

from web import engine_db
from web.api.blueprint import api
from web.api.schemas import TokenRequest, TokenResponse


def load_body(schema: Schema) -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if payload is None:
        raise BadRequest("the request body must be a JSON object (Content-Type: application/json)")
    if not isinstance(payload, dict):
        raise BadRequest("the request body must be a JSON object")
    try:
        return schema.load(payload)
    except ValidationError as error:
        raise InvalidData("the request is invalid", _flatten(error.messages)) from error


def load_query(schema: Schema) -> dict[str, Any]:
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as error:
        raise InvalidData("the query is invalid", _flatten(error.messages)) from error


def _flatten(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        return {str(k): v if isinstance(v, list) else [str(v)] for k, v in messages.items()}
    return {"_schema": list(messages)}


def bearer_token() -> str:
    """The request's bearer token, or 401 before anything else is looked at."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise Unauthorized("sign in first: send 'Authorization: Bearer TOKEN' (POST /api/v1/auth/token)")
    return header[7:].strip()


def current_actor() -> Actor:
    if "actor" in g:
        return g.actor
    token = bearer_token()
    g.actor = commands.query(engine_db(), users.actor_for_token, token)
    return g.actor


def actor_in(session: Any) -> Actor:
    """The caller, resolved in a command's own transaction: the hot write paths (complete, claim,
    start) then need no separate read transaction for the token."""
    if "actor" in g:
        return g.actor
    g.actor = users.actor_for_token(session, bearer_token())
    return g.actor


@api.post("/v1/auth/token")
def issue_token():  # type: ignore[no-untyped-def]
    body = load_body(TokenRequest())

    db = engine_db()
    # the attempt is its own command, so that a failure stays recorded when the call fails
    user = commands.execute(db, sign_in.attempt, body["username"], body["password"],
                            request.remote_addr).user_or_raise()
    token, expires_at = commands.execute(db, users.issue_token, user)
    return jsonify(TokenResponse().dump({"token": token, "expires_at": expires_at})), 201


@api.errorhandler(TooManyAttempts)
def _too_many(error: TooManyAttempts) -> tuple[Response, int, dict[str, str]]:
    from web.api.errors import error_body
    response, status = error_body(error.code, error.message, error.status)
    return response, status, {"Retry-After": str(error.retry_after)}
