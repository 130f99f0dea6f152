"""An instance as a supervisor inspects it: the full audit timeline (every event, raw details),
its data with the history of each value (from the audit events that carried data: the start,
task completions and skips, retries with corrections), and the token's path: the BPMN elements
it completed, in the order it completed them, plus where it stands now (current, overdue and
failed elements) for drawing on the diagram. Supervisors only."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState

from engine.definitions import elements
from engine.runtime import instances, store
from engine.workspace import progress
from engine.core.models import AuditEvent, ProcessInstance
from engine.core.principals import Actor
from engine.core.principals import require_supervisor

DATA_ACTIONS = {"instance_started": "data", "task_completed": "data", "task_skipped": "data",
                "instance_retried": "data", "message_delivered": "data", "external_task_completed": "data",
                "external_task_bpmn_error": "data"}
MAX_EVENTS = 5000


def _instance(session: Session, actor: Actor, instance_id: int) -> ProcessInstance:
    require_supervisor(actor, "see this")
    return instances.get(session, instance_id)


def timeline(session: Session, actor: Actor, instance_id: int, page: int = 1,
             per_page: int = 500) -> tuple[list[AuditEvent], int]:
    """Every audit event of the instance, oldest first, paged."""
    _instance(session, actor, instance_id)
    where = AuditEvent.process_instance_id == instance_id
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(where)) or 0
    rows = session.scalars(select(AuditEvent).where(where).order_by(AuditEvent.at, AuditEvent.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: str | None
    action: str
    task_id: str | None
    value: Any


def data_history(session: Session, actor: Actor, instance_id: int) -> dict[str, Any]:
    """The current data, and for each key the audited values it had, oldest first. A current
    value that differs from the last audited one was changed by the process itself (a script)."""
    instance = _instance(session, actor, instance_id)
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.process_instance_id == instance_id, AuditEvent.action.in_(tuple(DATA_ACTIONS)))
        .order_by(AuditEvent.at, AuditEvent.id).limit(MAX_EVENTS)).all()
    changes: dict[str, list[Change]] = {}
    for event in events:
        data = (event.details or {}).get(DATA_ACTIONS[event.action]) or {}
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            history = changes.setdefault(key, [])
            if not history or history[-1].value != value:
                history.append(Change(event.at, event.actor, event.action, event.task_id, value))
    current = _jsonable(instances.data_of(instance)) if instance.document else {}
    keys = sorted(set(current) | set(changes))
    return {"instance_id": instance.id, "data": current, "keys": [
        {"key": key, "current": current.get(key), "present": key in current,
         "changed_by_process": key in current and bool(changes.get(key))
         and changes[key][-1].value != current[key],
         "changes": [c.__dict__ for c in changes.get(key, [])]} for key in keys]}


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, default=str))


def token_path(session: Session, actor: Actor, instance_id: int) -> dict[str, Any]:
    """The elements the token passed, in completion order, and the markers of where it stands."""
    instance = _instance(session, actor, instance_id)
    workflow = store.load(instance)
    store.remember(instance, workflow)  # reading changed nothing; keep it warm
    names = elements.elements(instance.definition)
    done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if getattr(t.task_spec, "bpmn_id", None)]
    done.sort(key=lambda t: t.last_state_change)
    path = [{"element": t.task_spec.bpmn_id,
             "name": names[t.task_spec.bpmn_id].name if t.task_spec.bpmn_id in names else t.task_spec.bpmn_id,
             "kind": type(t.task_spec).__name__} for t in done]
    return {"instance_id": instance.id, "process_key": instance.process_key,
            "version": instance.version, "state": instance.state, "path": path,
            "markers": progress.markers(session, instance).as_dict()}


def diagram(session: Session, actor: Actor, instance_id: int) -> bytes:
    instance = _instance(session, actor, instance_id)
    return elements.diagram(session, instance.definition)
