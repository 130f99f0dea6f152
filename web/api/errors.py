"""Turns engine errors, malformed requests and unexpected failures into the contract's JSON
error body. Nothing here decides policy; it only translates."""
from __future__ import annotations

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

from engine.core.errors import DefinitionInvalid, EngineError, InvalidData

from web.api.blueprint import api

log = logging.getLogger(__name__)


def error_body(code: str, message: str, status: int, fields: dict | None = None):  # type: ignore[no-untyped-def]
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify({"error": body}), status


@api.app_errorhandler(EngineError)
def _engine_error(error: EngineError):  # type: ignore[no-untyped-def]
    from flask import request
    if not request.path.startswith("/api/"):
        return error_body(error.code, error.message, error.status)
    fields = None
    if isinstance(error, InvalidData):
        fields = error.fields
    if isinstance(error, DefinitionInvalid):
        fields = {"problems": [p.to_dict() for p in error.problems]}
    return error_body(error.code, error.message, error.status, fields)


@api.errorhandler(HTTPException)
def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
    code = (error.name or "error").lower().replace(" ", "_")
    return error_body(code, error.description or error.name, error.code or 500)


@api.errorhandler(Exception)
def _unexpected(error: Exception):  # type: ignore[no-untyped-def]
    if isinstance(error, HTTPException):
        return _http_error(error)
    if isinstance(error, EngineError):
        return _engine_error(error)
    log.exception("unexpected error in the API")
    return error_body("internal_error", "an unexpected error occurred; nothing was changed", 500)
