"""/api/v1/supervisor/schedulers: each scheduler's heartbeat (who it is, its last pass, its lag,
its last error) and whether one has gone silent, with the warning in both languages."""
from __future__ import annotations

from flask import jsonify
from marshmallow import Schema, fields

from engine.core import commands
from engine.supervision import operations

from web import engine_db
from web.api.blueprint import api
from web.api.auth import current_actor


class SchedulerOut(Schema):
    id = fields.String()
    host = fields.String()
    pid = fields.Integer()
    interval_seconds = fields.Integer()
    started_at = fields.DateTime()
    beat_at = fields.DateTime(metadata={"description": "its last heartbeat"})
    pass_started_at = fields.DateTime(allow_none=True)
    pass_ended_at = fields.DateTime(allow_none=True)
    pass_seconds = fields.Float(allow_none=True)
    lag_seconds = fields.Float(allow_none=True, metadata={
        "description": "how long the oldest due work had waited when its last pass began"})
    passes = fields.Integer()
    busy_seconds = fields.Float()
    last_error = fields.String(allow_none=True)
    last_error_at = fields.DateTime(allow_none=True)
    silent = fields.Boolean(metadata={"description": "no heartbeat for more than 3 intervals"})
    silent_seconds = fields.Float(metadata={"description": "seconds since its last heartbeat"})


class SchedulersOut(Schema):
    status = fields.String(metadata={"description": "ok, silent (one has gone quiet) or none (no scheduler reports)"})
    schedulers = fields.List(fields.Nested(SchedulerOut))
    messages = fields.List(fields.Dict(keys=fields.String(), values=fields.String()), metadata={
        "description": "the warnings, each as {zh_CN, en}"})


@api.get("/v1/supervisor/schedulers")
def schedulers():  # type: ignore[no-untyped-def]
    health = commands.query(engine_db(), operations.scheduler_health, current_actor())
    return jsonify(SchedulersOut().dump(health))
