"""/api/v1/process-instances/{id}/audit (the full timeline), /data-history (each value and its
changes), /path (the token's path and where it stands) and /diagram (the BPMN XML of the
instance's version): the supervisors' view of one instance."""
from __future__ import annotations

from flask import Response, jsonify

from engine.core import commands
from engine.supervision import inspection

from web import engine_db
from web.security import NOT_A_DOCUMENT
from web.api.blueprint import api
from web.api.auth import load_query
from web.api.supervisor import supervisor_actor
from web.api.supervisor_schemas import AuditPage, AuditQuery, DataHistoryOut, TokenPathOut


@api.get("/v1/process-instances/<int:instance_id>/audit")
def instance_audit(instance_id: int):  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    query = load_query(AuditQuery())
    rows, total = commands.query(engine_db(), inspection.timeline, actor, instance_id, query["page"],
                                 query["per_page"])
    return jsonify(AuditPage().dump({"items": rows, "total": total, **query}))


@api.get("/v1/process-instances/<int:instance_id>/data-history")
def instance_data_history(instance_id: int):  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    return jsonify(DataHistoryOut().dump(commands.query(engine_db(), inspection.data_history, actor, instance_id)))


@api.get("/v1/process-instances/<int:instance_id>/path")
def instance_path(instance_id: int):  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    return jsonify(TokenPathOut().dump(commands.query(engine_db(), inspection.token_path, actor, instance_id)))


@api.get("/v1/process-instances/<int:instance_id>/diagram")
def instance_diagram(instance_id: int):  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    xml = commands.query(engine_db(), inspection.diagram, actor, instance_id)
    return Response(xml, mimetype="application/xml", headers=NOT_A_DOCUMENT)
