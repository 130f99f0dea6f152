"""/api/v1/tasks: the inbox lists, one task with its form, claim, unclaim, complete, assign."""
from __future__ import annotations

from flask import jsonify

from engine.runtime import tasks
from engine.workspace import task_page
from engine.core import commands

from web import engine_db
from web.api.blueprint import api
from web.api.auth import actor_in, bearer_token, current_actor, load_body, load_query
from web.api.plain_dump import plain
from web.api.schemas import AssignRequest, CompleteRequest, TaskDetailOut, TaskPage, TaskQuery
from web.api.serialize import instance_dict, task_dict

# built once: these run on every completion and inbox page (schemas keep no per-call state);
# the page is dumped without marshmallow's per-field calls (web/api/plain_dump.py)
_COMPLETE, _TASK_QUERY, _TASK_PAGE = CompleteRequest(), TaskQuery(), plain(TaskPage())


@api.get("/v1/tasks")
def list_tasks():  # type: ignore[no-untyped-def]
    bearer_token()

    def _list(session):  # type: ignore[no-untyped-def]
        # the caller's token is read in the listing's own session: every client polls this
        actor = actor_in(session)
        query = load_query(_TASK_QUERY)
        return _TASK_PAGE(tasks.list_tasks(session, actor, query["scope"], query["page"],
                                                query["per_page"]))

    return jsonify(commands.query(engine_db(), _list))


@api.get("/v1/tasks/<task_id>")
def get_task(task_id: str):  # type: ignore[no-untyped-def]
    actor = current_actor()

    detail = commands.query(engine_db(), task_page.task_detail, actor, task_id)
    row = detail.row
    return jsonify(TaskDetailOut().dump({**task_dict(detail.task), "form": detail.form.raw if detail.form else None,
                                         "data": detail.data, "created_at": row.created_at,
                                         "due_at": row.due_at, "completed_at": row.completed_at}))


def _task_command(task_id: str, command, *args):  # type: ignore[no-untyped-def]
    bearer_token()

    def _run(session):  # type: ignore[no-untyped-def]
        # caller, command and answer in one transaction: the answer is the row the command changed
        return task_dict(command(session, actor_in(session), task_id, *args))

    return jsonify(commands.execute(engine_db(), _run))


@api.post("/v1/tasks/<task_id>/claim")
def claim_task(task_id: str):  # type: ignore[no-untyped-def]
    return _task_command(task_id, tasks.claim)


@api.post("/v1/tasks/<task_id>/unclaim")
def unclaim_task(task_id: str):  # type: ignore[no-untyped-def]
    return _task_command(task_id, tasks.unclaim)


@api.post("/v1/tasks/<task_id>/assign")
def assign_task(task_id: str):  # type: ignore[no-untyped-def]
    body = load_body(AssignRequest())
    return _task_command(task_id, tasks.assign, body["assignee"])


@api.post("/v1/tasks/<task_id>/complete")
def complete_task(task_id: str):  # type: ignore[no-untyped-def]
    bearer_token()

    def _complete(session):  # type: ignore[no-untyped-def]
        # the caller and the answer are read in the completion's own transaction: one round
        # trip, and the answer shows exactly the state this completion produced
        actor = actor_in(session)
        body = load_body(_COMPLETE)
        row, instance = tasks.complete(session, actor, task_id, body["data"])
        return {"task": task_dict(row), "process_instance": instance_dict(session, instance, actor)}

    return jsonify(commands.execute(engine_db(), _complete))
