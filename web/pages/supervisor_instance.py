"""The supervisor's page of one instance and the single interventions posted from it: the
header and error, the open tasks with reassign and skip (the task's form, supervisor-entered),
the retry form (the correction form with the current values), suspend / resume / terminate with
a reason and a confirmation, the diagram with the token's path, the full audit timeline and the
data with the history of each value. Bad input re-renders the page with the errors and the
values typed; nothing is changed."""
from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.core import commands
from engine.core.errors import Conflict, InvalidData
from engine.definitions.forms import FormDefinition
from engine.runtime import external_tasks, tasks
from engine.supervision import instance_detail, interventions

from web import engine_db
from web.auth import current_actor
from web.pages.form_render import data_from_request, labels_by_name, render_nodes
from web.pages.common import engine_error_page
from web.pages.supervisor import supervisor


def _render(instance_id: int, errors: dict[str, dict[str, list[str]]] | None = None,
            values: dict[str, dict[str, Any]] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    errors, values = errors or {}, values or {}
    detail = commands.query(engine_db(), instance_detail.instance_detail, current_actor(), instance_id)
    for box in detail.tasks:
        if box.form is not None:
            box.errors = errors.get(box.task.id, {})
            box.nodes = render_nodes(box.form, values.get(box.task.id, {}), box.errors)
    retry_form = _retry_definition(detail.retry)
    retry_nodes = render_nodes(retry_form, values.get("retry", detail.retry.values if detail.retry else {}),
                               errors.get("retry")) if retry_form else []
    return render_template("supervisor/instance.html", d=detail, names=detail.names, errors=errors, values=values,
                           retry_nodes=retry_nodes, retry_labels=labels_by_name(retry_nodes),
                           markers=detail.path["markers"]), status


def _retry_definition(retry: interventions.RetryForm | None) -> FormDefinition | None:
    if retry is None or retry.form is None:
        return None
    from engine.definitions.forms import parse_form
    return parse_form(json.dumps(retry.form), f"{retry.form_key}.form")


@supervisor.get("/instances/<int:instance_id>")
def instance_page(instance_id: int):  # type: ignore[no-untyped-def]
    return _render(instance_id)


def _back(instance_id: int, message: str):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(url_for("supervisor.instance_page", instance_id=instance_id))


def _reason_error(instance_id: int, where: str, error: InvalidData):  # type: ignore[no-untyped-def]
    return _render(instance_id, {where: error.fields}, {where: dict(request.form)}, 422)


@supervisor.post("/instances/<int:instance_id>/<any(suspend, resume, terminate):action>")
def instance_action(instance_id: int, action: str):  # type: ignore[no-untyped-def]
    command = {"suspend": interventions.suspend, "resume": interventions.resume,
               "terminate": interventions.terminate}[action]
    try:
        commands.execute(engine_db(), command, current_actor(), instance_id, request.form.get("reason", ""))
    except InvalidData as error:
        return _reason_error(instance_id, action, error)
    except Conflict as error:
        return engine_error_page(error)
    done = {"suspend": _("The instance was suspended."), "resume": _("The instance was resumed."),
            "terminate": _("The instance was terminated.")}[action]
    return _back(instance_id, done)


@supervisor.post("/instances/<int:instance_id>/retry")
def retry(instance_id: int):  # type: ignore[no-untyped-def]
    detail = commands.query(engine_db(), lambda s: interventions.retry_form(s, current_actor(), instance_id))
    form = _retry_definition(detail)
    if form is not None:
        data = data_from_request(form, request.form)
    else:
        try:
            data = json.loads(request.form.get("data_json") or "{}")
        except ValueError:
            return _render(instance_id, {"retry": {"data_json": [_("Not valid JSON.")]}},
                           {"retry": dict(request.form)}, 422)
    try:
        commands.execute(engine_db(), interventions.retry, current_actor(), instance_id, data,
                         request.form.get("reason", ""))
    except InvalidData as error:
        return _render(instance_id, {"retry": error.fields}, {"retry": {**data, **request.form}}, 422)
    return _back(instance_id, _("The failing step was run again."))


@supervisor.post("/tasks/<task_id>/reassign")
def reassign(task_id: str):  # type: ignore[no-untyped-def]
    row = commands.query(engine_db(), tasks.get, task_id)
    try:
        commands.execute(engine_db(), interventions.reassign, current_actor(), task_id,
                         request.form.get("assignee", ""), request.form.get("reason", ""),
                         request.form.get("outside_groups") == "1")
    except InvalidData as error:
        return _render(row.process_instance_id, {f"reassign-{task_id}": error.fields},
                       {f"reassign-{task_id}": dict(request.form)}, 422)
    return _back(row.process_instance_id, _("The task was reassigned to %(name)s.", name=request.form.get("assignee")))


@supervisor.post("/tasks/<task_id>/skip")
def skip(task_id: str):  # type: ignore[no-untyped-def]
    row, form = commands.query(engine_db(), lambda s: (tasks.get(s, task_id), tasks.form_of(s, tasks.get(s, task_id))))
    data = data_from_request(form, request.form) if form is not None else {}
    try:
        commands.execute(engine_db(), interventions.skip, current_actor(), task_id, data,
                         request.form.get("reason", ""))
    except InvalidData as error:
        return _render(row.process_instance_id, {task_id: error.fields, f"skip-{task_id}": error.fields},
                       {task_id: data, f"skip-{task_id}": dict(request.form)}, 422)
    return _back(row.process_instance_id, _("The task was completed on behalf of its holder."))


@supervisor.post("/external-tasks/<task_id>/retry")
def retry_external_task(task_id: str):  # type: ignore[no-untyped-def]
    """An external task's incident: give it retries again (a worker may fetch it at once)."""
    instance_id = commands.query(engine_db(), external_tasks.instance_of, current_actor(), task_id)
    try:
        retries = int(request.form.get("retries") or "1")
    except ValueError:
        retries = 0
    try:
        commands.execute(engine_db(), external_tasks.retry, current_actor(), task_id, retries,
                         request.form.get("reason", ""))
    except InvalidData as error:
        return _render(instance_id, {f"ext-{task_id}": error.fields}, {f"ext-{task_id}": dict(request.form)}, 422)
    except Conflict as error:
        return engine_error_page(error)
    return _back(instance_id, _("The external task can be fetched by a worker again."))
