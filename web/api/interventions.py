"""/api/v1/supervisor/tasks/{id}/reassign and /skip, /supervisor/instances/{id}/retry-form and
/retry (the correction checked against the form), and /supervisor/bulk/preview and /bulk: a bulk
intervention on a selection (ids or a filter). A bulk run answers when every selected instance
has been tried, each in its own transaction, with the outcome of each; to show progress, a page
sends the previewed ids in chunks."""
from __future__ import annotations

from typing import Any

from flask import jsonify

from engine.core import commands
from engine.runtime import instances
from engine.supervision import interventions, selection

from web import engine_db
from web.api.blueprint import api
from web.api.auth import load_body
from web.api.serialize import instance_dict, task_dict
from web.api.supervisor import supervisor_actor
from web.api.supervisor_schemas import (BulkReportOut, BulkRequest, DataReasonRequest, PreviewOut,
                                 ReassignRequest, RetryFormOut, SkipOut)


@api.post("/v1/supervisor/tasks/<task_id>/reassign")
def reassign_task(task_id: str):  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    body = load_body(ReassignRequest())
    row = commands.execute(engine_db(), interventions.reassign, actor, task_id, body["assignee"], body["reason"],
                           body["outside_groups"])
    return jsonify(task_dict(row))


@api.post("/v1/supervisor/tasks/<task_id>/skip")
def skip_task(task_id: str):  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    body = load_body(DataReasonRequest())
    row, instance = commands.execute(engine_db(), interventions.skip, actor, task_id, body["data"], body["reason"])
    return jsonify(SkipOut().dump({"task": row, "process_instance_id": instance.id,
                                   "state": instance.state}))


@api.get("/v1/supervisor/instances/<int:instance_id>/retry-form")
def retry_form(instance_id: int):  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    form = commands.query(engine_db(), interventions.retry_form, actor, instance_id)
    return jsonify(RetryFormOut().dump(form))


@api.post("/v1/supervisor/instances/<int:instance_id>/retry")
def checked_retry(instance_id: int):  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    body = load_body(DataReasonRequest())
    commands.execute(engine_db(), interventions.retry, actor, instance_id, body["data"], body["reason"])
    return jsonify(commands.query(engine_db(), lambda s: instance_dict(s, instances.get(s, instance_id), actor)))


def _bulk(actor) -> tuple[interventions.BulkRequest, list[int]]:  # type: ignore[no-untyped-def]
    body = load_body(BulkRequest())
    chosen: dict[str, Any] = body["selection"]
    filters = selection.InstanceFilter(
        ids=tuple(chosen["ids"]), process_key=chosen["process_key"], version=chosen["version"],
        states=tuple(chosen["states"]), element=chosen["element"],
        started_after=chosen["started_after"], started_before=chosen["started_before"],
        updated_before=chosen["updated_before"], q=chosen["q"], attention_kind=chosen["attention_kind"])
    ids = commands.query(engine_db(), selection.resolve, actor, filters)
    request = interventions.BulkRequest(body["action"], body["reason"], assignee=body["assignee"],
                                        element=body["element"], data=body["data"])
    return request, ids


@api.post("/v1/supervisor/bulk/preview")
def bulk_preview():  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    request, ids = _bulk(actor)
    planned = commands.query(engine_db(), interventions.preview, actor, request, ids)
    return jsonify(PreviewOut().dump({"action": request.action, "total": len(planned),
                                      "changing": sum(1 for p in planned if p.will == "change"),
                                      "items": planned}))


@api.post("/v1/supervisor/bulk")
def bulk_run():  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    request, ids = _bulk(actor)
    report = interventions.run_bulk(engine_db(), actor, request, ids)
    return jsonify(BulkReportOut().dump(report))
