"""/api/v1/supervisor/overdue, /stuck (the contract's lists, paginated), /attention (the full
attention list with filters, sorting and counts per kind) and /attention/export (CSV or Excel).
Every view checks the supervisor role first, so others get 403 whatever they send."""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from marshmallow import Schema, ValidationError

from engine.supervision import attention, exports, queues
from engine.core import commands
from engine.core.errors import InvalidData
from engine.core.principals import Actor

from web import engine_db
from web.api.blueprint import api
from web.api.auth import current_actor, load_query
from web.api.schemas import PageQuery, StuckPage, TaskPage
from web.api.supervisor_schemas import AttentionPage, AttentionQuery, ExportQuery, normalise_lists


def supervisor_actor() -> Actor:
    """The signed-in caller, who must be a supervisor (401 or 403 otherwise)."""
    actor = current_actor()
    queues.require_supervisor(actor)
    return actor


def load_list_query(schema: Schema, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """Like `load_query`, but the parameters named in `lists` may repeat or be comma-separated."""
    args: dict[str, Any] = {k: request.args.getlist(k) if k in lists else request.args.get(k)
                            for k in request.args}
    try:
        return schema.load(normalise_lists(args, lists))
    except ValidationError as error:
        raise InvalidData("the query is invalid", {k: v if isinstance(v, list) else [str(v)]
                                                   for k, v in error.messages.items()}) from error


@api.get("/v1/supervisor/overdue")
def overdue_tasks():  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    query = load_query(PageQuery())
    rows, total = commands.query(engine_db(), queues.overdue, actor, query["page"], query["per_page"])
    return jsonify(TaskPage().dump({"items": rows, "total": total, **query}))


@api.get("/v1/supervisor/stuck")
def stuck_instances():  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    query = load_query(PageQuery())
    rows, total = commands.query(engine_db(), queues.stuck, actor, query["page"], query["per_page"])
    items = [{"id": r.id, "process_key": r.process_key, "version": r.version, "state": r.state,
              "updated_at": r.updated_at, "next_timer_at": r.next_timer_at,
              "error": {"element_id": r.error_element, "message": r.error_message} if r.error_element else None}
             for r in rows]
    return jsonify(StuckPage().dump({"items": items, "total": total, **query}))


def attention_filters(query: dict[str, Any]) -> attention.Filters:
    return attention.Filters(
        kinds=tuple(query["kind"] or attention.KINDS), process_key=query["process_key"],
        element=query["element"], waiting_for=query["waiting_for"], q=query["q"],
        min_age_days=query["min_age_days"], quiet_days=query["quiet_days"],
        timer_grace_minutes=query["timer_grace_minutes"], sort=query["sort"])


@api.get("/v1/supervisor/attention")
def attention_list():  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    query = load_list_query(AttentionQuery(), ("kind",))
    page = commands.query(engine_db(), attention.attention, actor, attention_filters(query),
                          query["page"], query["per_page"])
    return jsonify(AttentionPage().dump({"items": [i.as_dict() for i in page.items], "total": page.total,
                                         "page": page.page, "per_page": page.per_page,
                                         "counts": page.counts}))


@api.get("/v1/supervisor/attention/export")
def attention_export():  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    query = load_list_query(ExportQuery(), ("kind",))
    items, _ = commands.query(engine_db(), attention.collect, actor, attention_filters(query))
    content, mime, ext = exports.attention_file(items, query["format"], query["lang"])
    return Response(content, mimetype=mime, headers={
        "Content-Disposition": f'attachment; filename="attention.{ext}"', "Cache-Control": "no-store"})
