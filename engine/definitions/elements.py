"""BPMN elements of a deployed process version, read from its cached spec (never from a
workflow): each element's display name and kind, which elements are timer events, which form a
user task shows, and the deployed diagram of a definition. Supervisor lists use it to name the
element an instance stands at without loading the instance."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.deployment import SPECS
from engine.core.errors import NotFound
from engine.core.models import DefinitionFile, ProcessDefinition


@dataclass(frozen=True)
class Element:
    id: str
    name: str
    kind: str           # the SpiffWorkflow spec class, e.g. UserTask, ScriptTask, ExclusiveGateway
    form_key: str | None
    is_timer: bool


def _specs(definition: ProcessDefinition) -> Iterator[Any]:
    spec, subprocess_specs = SPECS.get(definition)
    yield spec
    yield from subprocess_specs.values()


def _element(task_spec: Any) -> Element | None:
    bpmn_id = getattr(task_spec, "bpmn_id", None)
    if not bpmn_id:
        return None
    form = getattr(task_spec, "form", None)
    form_key = form.key.rsplit(":", 1)[-1] if form is not None and getattr(form, "key", None) else None
    definition = getattr(task_spec, "event_definition", None)
    return Element(id=bpmn_id, name=getattr(task_spec, "bpmn_name", None) or bpmn_id,
                   kind=type(task_spec).__name__, form_key=form_key,
                   is_timer=isinstance(definition, TimerEventDefinition))


_cache: dict[tuple[int, str], dict[str, Element]] = {}
_by_spec_name: dict[tuple[int, str], dict[str, Element]] = {}


def elements(definition: ProcessDefinition) -> dict[str, Element]:
    """bpmn id -> Element, for every BPMN element of the version (subprocesses included)."""
    key = (definition.id, definition.content_hash)
    if key not in _cache:
        found: dict[str, Element] = {}
        names: dict[str, Element] = {}
        for spec in _specs(definition):
            for name, task_spec in spec.task_specs.items():
                element = _element(task_spec)
                if element is not None:
                    found.setdefault(element.id, element)
                    names[name] = element
        _cache[key], _by_spec_name[key] = found, names
    return _cache[key]


def name_of(definition: ProcessDefinition, element_id: str | None) -> str | None:
    if not element_id:
        return None
    element = elements(definition).get(element_id)
    return element.name if element else element_id


def waiting_timers(definition: ProcessDefinition, document: str) -> list[str]:
    """The timer elements an instance waits at, read from its stored document (plain JSON, no
    workflow restored): tasks in state WAITING whose spec is a timer event."""
    elements(definition)
    by_name = _by_spec_name[(definition.id, definition.content_hash)]
    try:
        state = json.loads(document)
    except ValueError:
        return []
    task_dicts = list((state.get("tasks") or {}).values())
    for sub in (state.get("subprocesses") or {}).values():
        task_dicts.extend((sub.get("tasks") or {}).values())
    found = []
    for task in task_dicts:
        element = by_name.get(task.get("task_spec", ""))
        if element is not None and element.is_timer and task.get("state") == TaskState.WAITING:
            found.append(element.id)
    return sorted(set(found))


def source_files(session: Session, definition: ProcessDefinition) -> list[DefinitionFile]:
    """The stored BPMN and DMN files a process version was deployed from."""
    return list(session.scalars(select(DefinitionFile).where(
        DefinitionFile.content_hash.in_(definition.source_files)).order_by(DefinitionFile.filename)))


def diagram(session: Session, definition: ProcessDefinition) -> bytes:
    """The deployed BPMN file that holds this process version."""
    files = session.scalars(select(DefinitionFile).where(
        DefinitionFile.content_hash.in_(definition.source_files), DefinitionFile.kind == "bpmn")).all()
    needle = f'id="{definition.key}"'.encode()
    for file in files:
        if needle in file.content:
            return file.content
    if files:
        return files[0].content
    raise NotFound("the diagram of this process is not stored")
