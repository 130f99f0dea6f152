"""/api/v1/messages, /signals and /external-tasks/*: the calls other systems make (members of
`integrations`; admins may send messages and signals too), and the supervisors' retry of an
external task's incident. The role is checked before the body is read."""
from __future__ import annotations

from flask import jsonify

from engine.core import commands
from engine.core.principals import require_integration, require_supervisor
from engine.runtime import external_tasks, messages

from web import engine_db
from web.api.auth import current_actor, load_body
from web.api.blueprint import api
from web.api.integration_schemas import (ExternalBpmnErrorRequest, ExternalCompleteRequest,
                                         ExternalFailureRequest, ExternalRetryRequest, ExternalTaskOut,
                                         FetchAndLockRequest, LockedTaskOut, MessageRequest,
                                         MessageResponse, SignalRequest, SignalResponse)

_LOCKED = LockedTaskOut(many=True)
_TASK = ExternalTaskOut()


@api.post("/v1/messages")
def send_message():  # type: ignore[no-untyped-def]
    actor = current_actor()
    require_integration(actor, "send messages", admins_too=True)
    body = load_body(MessageRequest())
    instance_id = commands.execute(engine_db(), lambda session: messages.correlate(
        session, actor, body["name"], body["business_key"], body["process_instance_id"],
        body["correlation"], body["data"]).id)
    return jsonify(MessageResponse().dump({"process_instance_id": instance_id}))


@api.post("/v1/signals")
def send_signal():  # type: ignore[no-untyped-def]
    actor = current_actor()
    require_integration(actor, "send signals", admins_too=True)
    body = load_body(SignalRequest())
    delivered = commands.execute(engine_db(), messages.broadcast, actor, body["name"], body["data"])
    return jsonify(SignalResponse().dump({"delivered": delivered}))


def _worker():  # type: ignore[no-untyped-def]
    actor = current_actor()
    require_integration(actor, "work external tasks")
    return actor


@api.post("/v1/external-tasks/fetch-and-lock")
def fetch_and_lock():  # type: ignore[no-untyped-def]
    actor = _worker()
    body = load_body(FetchAndLockRequest())
    locked = commands.execute(engine_db(), external_tasks.fetch_and_lock, actor, body["worker_id"],
                              body["max_tasks"], body["topics"])
    return jsonify(_LOCKED.dump(locked))


@api.post("/v1/external-tasks/<string:task_id>/complete")
def complete_external_task(task_id: str):  # type: ignore[no-untyped-def]
    actor = _worker()
    body = load_body(ExternalCompleteRequest())
    row = commands.execute(engine_db(), lambda session: _TASK.dump(external_tasks.complete(
        session, actor, task_id, body["worker_id"], body["data"])))
    return jsonify(row)


@api.post("/v1/external-tasks/<string:task_id>/failure")
def fail_external_task(task_id: str):  # type: ignore[no-untyped-def]
    actor = _worker()
    body = load_body(ExternalFailureRequest())
    row = commands.execute(engine_db(), lambda session: _TASK.dump(external_tasks.failure(
        session, actor, task_id, body["worker_id"], body["error_message"], body["retries"],
        body["retry_timeout"])))
    return jsonify(row)


@api.post("/v1/external-tasks/<string:task_id>/bpmn-error")
def external_task_bpmn_error(task_id: str):  # type: ignore[no-untyped-def]
    actor = _worker()
    body = load_body(ExternalBpmnErrorRequest())
    row = commands.execute(engine_db(), lambda session: _TASK.dump(external_tasks.bpmn_error(
        session, actor, task_id, body["worker_id"], body["error_code"], body["data"])))
    return jsonify(row)


@api.post("/v1/external-tasks/<string:task_id>/retry")
def retry_external_task(task_id: str):  # type: ignore[no-untyped-def]
    actor = current_actor()
    require_supervisor(actor, "retry external tasks")
    body = load_body(ExternalRetryRequest())
    row = commands.execute(engine_db(), lambda session: _TASK.dump(external_tasks.retry(
        session, actor, task_id, body["retries"], body["reason"])))
    return jsonify(row)
