"""/api/v1/calls: calls for proposals (issue 16). Institution staff, bureau staff, supervisors and
admins read them (the list with filters, sorting and pages; one call with its applications per
category and stage); institution staff create (from a template), publish, extend the deadline
with a reason and close. Every body is checked here (marshmallow) and again by the engine
(engine/lifecycle/calls.py), which names each bad field (422)."""
from __future__ import annotations

from typing import Any

from flask import jsonify
from marshmallow import EXCLUDE, Schema, fields, validate

from engine.core import commands
from engine.core.calendar import BUREAU_TZ
from engine.core.errors import Forbidden
from engine.lifecycle import calls
from engine.workspace import call_desk

from web import engine_db
from web.api.blueprint import api
from web.api.auth import current_actor, load_body, load_query
from web.api.schemas import StrictSchema


class CallQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(load_default="", validate=validate.OneOf(["", *calls.STATUSES]))
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))
    q = fields.String(load_default="", validate=validate.Length(max=100))
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(
        [p + c for c in ("key", "title", "year", "closes_at", "status", "created_at") for p in ("", "-")]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class CategoryOut(Schema):
    code = fields.String()
    name = fields.String()
    budget = fields.Float()
    topics = fields.List(fields.String())


class ExtensionOut(Schema):
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String()
    reason = fields.String()
    by = fields.String()
    at = fields.String()


class CallOut(Schema):
    key = fields.String()
    title = fields.String()
    year = fields.Integer()
    status = fields.String()
    status_label = fields.String()
    opens_at = fields.String(allow_none=True)
    closes_at = fields.String(allow_none=True)
    categories = fields.List(fields.Nested(CategoryOut))
    quotas = fields.Dict(keys=fields.String(), values=fields.Integer())
    eligibility = fields.Dict()
    extensions = fields.List(fields.Nested(ExtensionOut))
    template_key = fields.String(allow_none=True)
    published_at = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)


class CallPage(Schema):
    items = fields.List(fields.Nested(CallOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class StandingOut(Schema):
    code = fields.String()
    name = fields.String()
    budget = fields.Float()
    applied = fields.Integer()
    requested = fields.Float()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())


class CallDetailOut(CallOut):
    standing = fields.List(fields.Nested(StandingOut))
    applied = fields.Integer()
    quota_use = fields.Dict()


class CallCreateRequest(StrictSchema):
    """The engine's CallSchema checks the call's fields; `template` copies an earlier call."""

    template = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    key = fields.String(required=True)
    title = fields.String(required=True)
    year = fields.Integer(required=True)
    opens_at = fields.String(load_default=None)
    closes_at = fields.String(load_default=None)
    categories = fields.List(fields.Dict())
    quotas = fields.Dict()
    eligibility = fields.Dict()


class ExtendRequest(StrictSchema):
    closes_at = fields.AwareDateTime(required=True, default_timezone=BUREAU_TZ)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


def _require_reader() -> Any:
    actor = current_actor()
    if not call_desk.may_read(actor):
        raise Forbidden("only staff, supervisors and admins read calls for proposals")
    return actor


@api.get("/v1/calls")
def list_calls():  # type: ignore[no-untyped-def]
    _require_reader()
    query = load_query(CallQuery())

    def read(session):  # type: ignore[no-untyped-def]
        rows, total = calls.listing(session, query["status"], query["year"], query["q"], query["sort"],
                                    query["page"], query["per_page"])
        return {"items": [r.to_dict() for r in rows], "total": total, "page": query["page"],
                "per_page": query["per_page"]}
    return jsonify(CallPage().dump(commands.query(engine_db(), read)))


def _detail(session: Any, key: str) -> dict[str, Any]:
    standing = calls.standing(session, key)
    return {**standing["call"], "standing": standing["categories"], "applied": standing["applied"],
            "quota_use": calls.quota_use(session, key)}


@api.get("/v1/calls/<key>")
def get_call(key: str):  # type: ignore[no-untyped-def]
    _require_reader()
    return jsonify(CallDetailOut().dump(commands.query(engine_db(), _detail, key)))


@api.post("/v1/calls")
def create_call():  # type: ignore[no-untyped-def]
    actor = current_actor()
    body = load_body(CallCreateRequest())
    template = body.pop("template", None)
    data = {k: v for k, v in body.items() if v is not None}
    call = commands.execute(engine_db(), call_desk.create, actor, data, template)
    return jsonify(CallOut().dump(call.to_dict())), 201


@api.post("/v1/calls/<key>/publish")
def publish_call(key: str):  # type: ignore[no-untyped-def]
    call = commands.execute(engine_db(), call_desk.publish, current_actor(), key)
    return jsonify(CallOut().dump(call.to_dict()))


@api.post("/v1/calls/<key>/extend")
def extend_call(key: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    body = load_body(ExtendRequest())
    call = commands.execute(engine_db(), call_desk.extend, actor, key, body["closes_at"], body["reason"])
    return jsonify(CallOut().dump(call.to_dict()))


@api.post("/v1/calls/<key>/close")
def close_call(key: str):  # type: ignore[no-untyped-def]
    call = commands.execute(engine_db(), call_desk.close, current_actor(), key)
    return jsonify(CallOut().dump(call.to_dict()))
