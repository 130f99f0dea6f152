"""/api/v1/supervisor/overdue and /stuck: supervisors' attention lists, paginated."""
from __future__ import annotations

from flask import jsonify

from engine import commands, supervision

from .. import engine_db
from . import api
from .auth import current_actor, load_query
from .schemas import PageQuery, StuckPage, TaskPage


@api.get("/v1/supervisor/overdue")
def overdue_tasks():  # type: ignore[no-untyped-def]
    actor = current_actor()
    query = load_query(PageQuery())
    rows, total = commands.query(engine_db(), supervision.overdue, actor, query["page"], query["per_page"])
    return jsonify(TaskPage().dump({"items": rows, "total": total, **query}))


@api.get("/v1/supervisor/stuck")
def stuck_instances():  # type: ignore[no-untyped-def]
    actor = current_actor()
    query = load_query(PageQuery())
    rows, total = commands.query(engine_db(), supervision.stuck, actor, query["page"], query["per_page"])
    items = [{"id": r.id, "process_key": r.process_key, "version": r.version, "state": r.state,
              "updated_at": r.updated_at, "next_timer_at": r.next_timer_at,
              "error": {"element_id": r.error_element, "message": r.error_message} if r.error_element else None}
             for r in rows]
    return jsonify(StuckPage().dump({"items": items, "total": total, **query}))
