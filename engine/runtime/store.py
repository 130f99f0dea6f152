"""Loading and saving an instance's workflow. The state is SpiffWorkflow's own serialization of
the task tree (without the spec, which lives on the definition), in two parts: the instance's
document holds the header and the unfinished tasks, engine/finished_tasks.py the finished tasks, each
stored once, so that a save writes what changed, not the history. A small per-process cache
keeps recently saved workflows in memory keyed by the instance's revision, so the common
complete-after-load path skips deserialisation; the optimistic revision check keeps it honest.
Also computes `next_timer_at` so the scheduler finds due timers through an index."""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy.orm import Session

from engine.core import commands
from engine.runtime import finished_tasks
from engine.runtime.state import dump_split, forget_stored, new_workflow, note_stored, restore_state
from engine.definitions.deployment import SPECS
from engine.core.models import ProcessDefinition, ProcessInstance


class _WorkflowCache:
    def __init__(self, size: int = 512) -> None:
        self._items: OrderedDict[int, tuple[int, str, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def take(self, instance: ProcessInstance) -> BpmnWorkflow | None:
        """Remove and return the cached workflow if it is exactly this revision; the caller
        owns it now (a failed command must not leave a half-changed object behind)."""
        with self._lock:
            entry = self._items.pop(instance.id, None)
        if entry and entry[0] == instance.revision and entry[1] == instance.started_at.isoformat():
            return entry[2]
        return None

    def put(self, instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
        with self._lock:
            self._items[instance.id] = (instance.revision, instance.started_at.isoformat(), workflow)
            self._items.move_to_end(instance.id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def carry(self, instance: ProcessInstance, revision: int) -> None:
        """The entry cached at `revision` holds for the instance's revision now (a command
        bumped it without touching the workflow); any other entry stays as it is."""
        with self._lock:
            entry = self._items.get(instance.id)
            if entry and entry[0] == revision and entry[1] == instance.started_at.isoformat():
                self._items[instance.id] = (instance.revision, entry[1], entry[2])

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = _WorkflowCache()


def create(definition: ProcessDefinition) -> BpmnWorkflow:
    spec, subprocess_specs = SPECS.get(definition)
    return new_workflow(spec, subprocess_specs)


def load(instance: ProcessInstance) -> BpmnWorkflow:
    cached = CACHE.take(instance)
    if cached is not None:
        return cached
    spec, subprocess_specs = SPECS.get(instance.definition)
    document, stored = finished_tasks.read_state(_session(instance), instance.id)
    workflow = restore_state(finished_tasks.merge(document, stored), spec, subprocess_specs)
    note_stored(workflow, [task_id for _wf, task_id, _body in stored],
                [body for _wf, _task_id, body in stored])
    return workflow


def save(instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
    split = dump_split(workflow)
    finished_tasks.write(_session(instance), instance.id, split.added, split.changed, split.gone)
    instance.document = split.document
    instance.next_timer_at = next_timer(workflow)


def store_afresh(instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
    """The next save stores every task again (its specs changed under it: a migration)."""
    finished_tasks.drop_all(_session(instance), instance.id)
    forget_stored(workflow)


def _session(instance: ProcessInstance) -> Session:
    session = Session.object_session(instance)
    if session is None:
        raise RuntimeError(f"process instance {instance.id} is not in a session")
    return session


def remember(instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
    """Called after commit: the saved workflow may serve the next command on this instance."""
    CACHE.put(instance, workflow)


def keep_cached(session: Session, instance: ProcessInstance) -> None:
    """For a command that bumps the instance's revision but leaves its workflow alone (a claim,
    a release, an assignment): once it commits, the workflow this process has cached for the
    old revision serves the new one, so the completion that follows a claim needs no reload."""
    revision = instance.revision
    commands.after_commit(session, lambda: CACHE.carry(instance, revision))


def next_timer(workflow: BpmnWorkflow) -> datetime | None:
    moments = [m for m in (_moment(e) for e in workflow.waiting_events()
                           if "Timer" in e.event_type or "TimeDate" in e.event_type) if m]
    return min(moments) if moments else None


def _moment(event: Any) -> datetime | None:
    value = event.value
    if isinstance(value, dict):
        value = value.get("next")
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, str):
        try:
            parsed = TimerEventDefinition.parse_time_or_duration(value)
        except Exception:
            return None
        return parsed.astimezone(timezone.utc) if isinstance(parsed, datetime) else None
    return None
