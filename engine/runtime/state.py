"""An instance's workflow state without its spec: SpiffWorkflow's own state layout, serialized
with each finished task's JSON memoized on the workflow, and split into the document (header
and unfinished tasks) and the finished tasks stored once (engine/runtime/finished_tasks.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.scripting.script_engine import make_script_engine
from engine.definitions.specs import make_registry

class _StateOnlyConverter(BpmnWorkflowConverter):
    """Serializes a workflow without its spec; the spec objects are supplied on restore."""

    def to_dict(self, workflow):  # type: ignore[no-untyped-def]
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):  # type: ignore[no-untyped-def]
        from uuid import UUID
        spec, subprocess_specs = dct.pop("spec"), dct.pop("subprocess_specs")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_STATE_CONFIG = dict(CAMUNDA_CONFIG)
_STATE_CONFIG[BpmnWorkflow] = _StateOnlyConverter
STATE_SERIALIZER = BpmnWorkflowSerializer(make_registry(_STATE_CONFIG))



def dump_state(workflow: BpmnWorkflow) -> str:
    """The workflow's task state as JSON, identical in content to SpiffWorkflow's own
    serialization without the spec. Finished tasks do not change, so each one's JSON is kept on
    the workflow object and reused: a save costs what changed plus a string join, instead of
    re-serializing the whole history (at 500 steps that was ten times SpiffWorkflow's step)."""
    return _dump(workflow, lambda flow, _key: _tasks_json(flow))


# the states whose tasks are stored apart, once (engine/runtime/finished_tasks.py); ERROR is not among them,
# since a retry makes an errored task ready again
FRAGMENT_STATES = TaskState.COMPLETED | TaskState.CANCELLED
_STALE = ()  # a stamp no task has: the stored fragment must be rewritten


@dataclass
class Split:
    """One save of an instance: the document (header and unfinished tasks) and the changes to
    its stored finished tasks, as (workflow key, task id, body)."""
    document: str
    added: list[tuple[str, str, str]] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    finished: int = 0  # finished tasks in the workflow (each one stored)


def dump_split(workflow: BpmnWorkflow) -> Split:
    """Like `dump_state`, but finished tasks leave the document: those not stored yet (or
    changed since) are returned to be stored once. `_engine_saved` on the workflow object
    records what the store holds (task id -> stamp); a command that fails drops the object
    (engine/runtime/store.py), so the record never outlives a rolled-back transaction."""
    saved: dict[Any, tuple[Any, ...]] = workflow.__dict__.setdefault("_engine_saved", {})
    split = Split("")
    split.document = _dump(workflow, lambda flow, key: _split_tasks(flow, key, saved, split))
    if len(saved) != split.finished:  # a stored task left the tree or is unfinished again (rare)
        present = {task_id for flow in (workflow, *workflow.subprocesses.values())
                   for task_id, task in flow.tasks.items() if task._state & FRAGMENT_STATES}
        for task_id in [t for t in saved if t not in present]:
            del saved[task_id]
            split.gone.append(str(task_id))
    return split


def note_stored(workflow: BpmnWorkflow, task_ids: list[str], bodies: list[str]) -> None:
    """After a load: these tasks' fragments are in the store (and their JSON is known)."""
    saved: dict[Any, tuple[Any, ...]] = workflow.__dict__.setdefault("_engine_saved", {})
    for task_id, body in zip(task_ids, bodies):
        key = UUID(task_id)
        task = workflow.get_task_from_id(key)
        if task is None or not task._state & FRAGMENT_STATES:
            saved[key] = _STALE
            continue
        stamp = _stamp(task)
        saved[key] = stamp
        task.workflow.__dict__.setdefault("_engine_json", {})[key] = (stamp, body)


def forget_stored(workflow: BpmnWorkflow) -> None:
    """Every task will be serialized and stored afresh (after an instance migration gave the
    tasks new specs, which their stamps do not show)."""
    workflow.__dict__.pop("_engine_saved", None)
    for flow in (workflow, *workflow.subprocesses.values()):
        flow.__dict__.pop("_engine_json", None)


def _stamp(task: Any) -> tuple[Any, ...]:
    return (task.last_state_change, task._state, len(task._children))


def _dump(workflow: BpmnWorkflow, tasks_of: Callable[[Any, str], str]) -> str:
    registry = STATE_SERIALIZER.registry
    registry._encoder_mode = True
    try:
        subprocesses = ",".join(
            f'"{task_id}":{_workflow_json(sp, _subprocess_meta(sp), tasks_of(sp, str(task_id)))}'
            for task_id, sp in workflow.subprocesses.items())
        meta = {"typename": "BpmnWorkflow", "bpmn_events": registry.convert(workflow.bpmn_events),
                STATE_SERIALIZER.VERSION_KEY: STATE_SERIALIZER.VERSION}
        text = _workflow_json(workflow, meta, tasks_of(workflow, ""))
        return text[:-1] + ',"subprocesses":{' + subprocesses + "}}"
    finally:
        registry._encoder_mode = False


def _subprocess_meta(subprocess: Any) -> dict[str, Any]:
    return {"typename": "BpmnSubWorkflow", "parent_task_id": str(subprocess.parent_task_id),
            "spec": subprocess.spec.name}


def _encode(value: Any) -> str:
    return json.dumps(value, cls=STATE_SERIALIZER._encoder_cls, separators=(",", ":"))


def _workflow_json(workflow: Any, meta: dict[str, Any], tasks: str) -> str:
    registry = STATE_SERIALIZER.registry
    head = {"data": registry.convert(registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success, "completed": workflow.completed,
            "root": str(workflow.task_tree.id), **meta}
    return _encode(head)[:-1] + ',"tasks":{' + tasks + "}}"


def _body(task: Any, memo: dict[Any, tuple[tuple[Any, ...], str]], stamp: tuple[Any, ...]) -> str:
    cached = memo.get(task.id)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    body = _encode(STATE_SERIALIZER.registry.convert(task))
    memo[task.id] = (stamp, body)
    return body


def _tasks_json(workflow: Any) -> str:
    memo: dict[Any, tuple[tuple[Any, ...], str]] = workflow.__dict__.setdefault("_engine_json", {})
    registry, parts, finished_mask = STATE_SERIALIZER.registry, [], TaskState.FINISHED_MASK
    for task_id, task in workflow.tasks.items():
        if task._state & finished_mask:
            parts.append(f'"{task_id}":' + _body(task, memo, _stamp(task)))
        else:
            parts.append(f'"{task_id}":' + _encode(registry.convert(task)))
    return ",".join(parts)


def _split_tasks(flow: Any, key: str, saved: dict[Any, tuple[Any, ...]], split: Split) -> str:
    memo: dict[Any, tuple[tuple[Any, ...], str]] = flow.__dict__.setdefault("_engine_json", {})
    registry, parts, fragment_states, stored = STATE_SERIALIZER.registry, [], FRAGMENT_STATES, 0
    # this loop meets the whole history on every save: plain attribute reads, no method calls
    for task_id, task in flow.tasks.items():
        state = task._state
        if not state & fragment_states:
            parts.append(f'"{task_id}":' + _encode(registry.convert(task)))
            continue
        stored += 1
        stamp = (task.last_state_change, state, len(task._children))
        before = saved.get(task_id)
        if before == stamp:
            continue
        (split.added if before is None else split.changed).append(
            (key, str(task_id), _body(task, memo, stamp)))
        saved[task_id] = stamp
    split.finished += stored
    return ",".join(parts)


def dump_data(data: dict[str, Any]) -> str:
    registry = STATE_SERIALIZER.registry
    registry._encoder_mode = True
    try:
        return _encode(registry.clean(data))
    finally:
        registry._encoder_mode = False


def load_data(text: str) -> dict[str, Any]:
    return STATE_SERIALIZER.registry.restore(json.loads(text or "{}"))


def load_state(text: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    return restore_state(json.loads(text), spec, subprocess_specs)


def restore_state(dct: dict[str, Any], spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    """A workflow from SpiffWorkflow's state layout (as `dump_state` writes it, parsed)."""
    dct.pop(STATE_SERIALIZER.VERSION_KEY, None)
    dct["spec"], dct["subprocess_specs"] = spec, subprocess_specs
    workflow = STATE_SERIALIZER.registry.restore(dct)
    workflow.script_engine = make_script_engine()
    return workflow


def new_workflow(spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    return BpmnWorkflow(spec, subprocess_specs, script_engine=make_script_engine())


def restore_data(encoded: dict[str, Any]) -> dict[str, Any]:
    """Task data as SpiffWorkflow serialized it (dates and the like encoded) back to values."""
    return STATE_SERIALIZER.registry.restore(encoded)
