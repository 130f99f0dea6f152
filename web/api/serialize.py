"""Shapes of tasks and instances as the API returns them (contract field names)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.runtime import access, instances
from engine.core.models import HumanTask, ProcessInstance
from engine.core.principals import Actor

from web.api.plain_dump import plain
from web.api.schemas import InstanceOut, TaskOut

# built once, and dumped without marshmallow's per-field calls (web/api/plain_dump.py): every
# completion, claim and instance answer goes through these
_TASK_OUT, _INSTANCE_OUT = plain(TaskOut()), plain(InstanceOut())


def task_dict(row: HumanTask | access.TaskLine) -> dict[str, Any]:
    return _TASK_OUT(row)


def instance_dict(session: Session, instance: ProcessInstance, actor: Actor, with_data: bool = True) -> dict[str, Any]:
    """The instance as `actor` may see it: the data fields and open tasks engine/runtime/access.py allows."""
    view = access.view_of(session, actor, instance)
    error = None
    if instance.state == instances.ERROR or instance.error_element:
        error = {"element_id": instance.error_element, "message": instance.error_message}
    return _INSTANCE_OUT({
        "id": instance.id, "process_key": instance.process_key, "version": instance.version,
        "state": instance.state, "data": view.data(instances.data_of(instance)) if with_data else {},
        "tasks": view.task_lines(view.open_tasks()), "started_by": instance.started_by,
        "started_at": instance.started_at, "error": error, "business_key": instance.business_key})
