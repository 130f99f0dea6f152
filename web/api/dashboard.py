"""/api/v1/supervisor/dashboard (the programme's figures over a period) and /heatmap (per BPMN
element of one process: how many wait and how long, with the diagram to draw them on)."""
from __future__ import annotations

from flask import jsonify

from engine.core import commands
from engine.supervision import dashboard

from web import engine_db
from web.api.blueprint import api
from web.api.auth import load_query
from web.api.supervisor import supervisor_actor
from web.api.supervisor_schemas import DashboardOut, HeatmapOut, HeatmapQuery, PeriodQuery


@api.get("/v1/supervisor/dashboard")
def dashboard_figures():  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    query = load_query(PeriodQuery())
    figures = commands.query(engine_db(), dashboard.dashboard, actor, query["since"], query["until"],
                             query["process_key"])
    return jsonify(DashboardOut().dump(figures))


@api.get("/v1/supervisor/heatmap")
def heatmap():  # type: ignore[no-untyped-def]
    actor = supervisor_actor()
    query = load_query(HeatmapQuery())
    heat = commands.query(engine_db(), dashboard.heatmap, actor, query["process_key"], query["version"],
                          query["since"], query["until"], query["stage"])
    return jsonify(HeatmapOut().dump(heat))
