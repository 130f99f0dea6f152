"""/api/v1/process-instances: start, read, and the supervisors' suspend/resume/terminate/retry."""
from __future__ import annotations

from flask import jsonify

from engine.core import commands
from engine.runtime import instances
from engine.supervision import interventions
from engine.core.principals import require_supervisor

from web import engine_db
from web.api.blueprint import api
from web.api.auth import actor_in, bearer_token, current_actor, load_body
from web.api.schemas import ReasonRequest, RetryRequest, StartRequest
from web.api.serialize import instance_dict

_START = StartRequest()  # built once: every start uses it


@api.post("/v1/process-instances")
def start_instance():  # type: ignore[no-untyped-def]
    bearer_token()

    def _start(session):  # type: ignore[no-untyped-def]
        actor = actor_in(session)  # in the start's own transaction, like the answer
        body = load_body(_START)
        instance = instances.start(session, actor, body["process_key"], body["data"], body["business_key"])
        return instance_dict(session, instance, actor)

    return jsonify(commands.execute(engine_db(), _start)), 201


@api.get("/v1/process-instances/<int:instance_id>")
def get_instance(instance_id: int):  # type: ignore[no-untyped-def]
    current_actor()
    return jsonify(_read(instance_id))


def _read(instance_id: int) -> dict:
    actor = current_actor()

    def _reader(session):  # type: ignore[no-untyped-def]
        # engine/runtime/access.py refuses a caller with no part and keeps to what theirs may see
        return instance_dict(session, instances.get(session, instance_id), actor)

    return commands.query(engine_db(), _reader)


def _supervisor_action(instance_id: int, action):  # type: ignore[no-untyped-def]
    actor = current_actor()
    require_supervisor(actor)  # before the body is read: a refusal says nothing about the body
    body = load_body(ReasonRequest())
    commands.execute(engine_db(), action, actor, instance_id, body["reason"])
    return jsonify(_read(instance_id))


@api.post("/v1/process-instances/<int:instance_id>/suspend")
def suspend_instance(instance_id: int):  # type: ignore[no-untyped-def]
    return _supervisor_action(instance_id, instances.suspend)


@api.post("/v1/process-instances/<int:instance_id>/resume")
def resume_instance(instance_id: int):  # type: ignore[no-untyped-def]
    return _supervisor_action(instance_id, instances.resume)


@api.post("/v1/process-instances/<int:instance_id>/terminate")
def terminate_instance(instance_id: int):  # type: ignore[no-untyped-def]
    return _supervisor_action(instance_id, instances.terminate)


@api.post("/v1/process-instances/<int:instance_id>/retry")
def retry_instance(instance_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    require_supervisor(actor)  # before the body is read: a refusal says nothing about the body
    body = load_body(RetryRequest())
    # the checked retry: corrected values pass the failing step's form like a reviewer's input
    commands.execute(engine_db(), interventions.retry, actor, instance_id, body["data"], body["reason"])
    return jsonify(_read(instance_id))
