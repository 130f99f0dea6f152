"""Stages: which part of the project's life a task belongs to, as lists show it. For a process
that calls one process per stage (the lifecycle's call activities), a task's stage is the name
of the stage process the root calls, however deep the task sits below it; for a flat process,
the process's own name. Worked out once per deployed definition version from its restored spec
(shared with the engine's spec cache) and kept in memory; lists only look names up."""
from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.orm import Session

from engine.definitions.deployment import SPECS
from engine.core.models import ProcessDefinition

_cache: dict[tuple[int, str], tuple[str, dict[str, str]]] = {}
_lock = threading.Lock()


def stage_map(definition: ProcessDefinition) -> tuple[str, dict[str, str]]:
    """(the process's own name, {task element id: stage name}) for one definition version."""
    key = (definition.id, definition.content_hash)
    with _lock:
        if key in _cache:
            return _cache[key]
    root, subprocesses = SPECS.get(definition)
    found = (_name(root) or definition.name or definition.key, _stages(root, subprocesses))
    with _lock:
        _cache[key] = found
    return found


def _name(spec: Any) -> str:
    return str(getattr(spec, "description", "") or getattr(spec, "name", "") or "")


def _called(spec: Any) -> list[str]:
    """Keys of the processes a spec calls (call activities and embedded subprocesses)."""
    keys = []
    for task_spec in spec.task_specs.values():
        called = getattr(task_spec, "spec", None)
        if isinstance(called, str):
            keys.append(called)
    return keys


def _stages(root: Any, subprocesses: dict[str, Any]) -> dict[str, str]:
    stages: dict[str, str] = {}
    for top in _called(root):
        if top not in subprocesses:
            continue
        label = _name(subprocesses[top])
        seen: set[str] = set()
        pending = [top]
        while pending:  # the stage process and everything it calls in turn
            current = pending.pop()
            if current in seen or current not in subprocesses:
                continue
            seen.add(current)
            for bpmn_id in _element_ids(subprocesses[current]):
                stages.setdefault(bpmn_id, label)
            pending.extend(_called(subprocesses[current]))
    return stages


def _element_ids(spec: Any) -> list[str]:
    return [t.bpmn_id for t in spec.task_specs.values() if getattr(t, "bpmn_id", None)]


def stage_of(session: Session, definition_id: int, content_hash: str, task_name: str | None,
             fallback: str = "") -> str:
    """The stage name for a task of a definition version (the process name when flat)."""
    key = (definition_id, content_hash)
    with _lock:
        cached = _cache.get(key)
    if cached is None:
        definition = session.get(ProcessDefinition, definition_id)
        if definition is None:
            return fallback
        cached = stage_map(definition)
    own, stages = cached
    return stages.get(task_name or "", own or fallback)


def stage_calls(definition: ProcessDefinition) -> dict[str, tuple[str, str]]:
    """{element id below a stage: (the root's call activity for that stage, the stage process
    key)}, so that what happens deep inside a stage can be shown on the root's diagram. Empty
    for a flat process."""
    key = (definition.id, definition.content_hash)
    with _lock:
        if key in _calls_cache:
            return _calls_cache[key]
    root, subprocesses = SPECS.get(definition)
    found: dict[str, tuple[str, str]] = {}
    for task_spec in root.task_specs.values():
        top = getattr(task_spec, "spec", None)
        if not isinstance(top, str) or top not in subprocesses:
            continue
        seen: set[str] = set()
        pending = [top]
        while pending:
            current = pending.pop()
            if current in seen or current not in subprocesses:
                continue
            seen.add(current)
            for bpmn_id in _element_ids(subprocesses[current]):
                found.setdefault(bpmn_id, (task_spec.bpmn_id, top))
            pending.extend(_called(subprocesses[current]))
    with _lock:
        _calls_cache[key] = found
    return found


_calls_cache: dict[tuple[int, str], dict[str, tuple[str, str]]] = {}
