"""What the supervisor's page of one instance shows (its view-model): the header and error, the
open tasks with their forms, how and why it ended (runtime.outcome), the external tasks waiting
for other systems (with their incidents), the retry form when it is in error, the full timeline,
the data's
history and the path its tokens took."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from engine.core import names, summaries
from engine.core.models import HumanTask, ProcessInstance
from engine.core.principals import Actor
from engine.definitions import elements
from engine.definitions.deployment import form_for
from engine.definitions.forms import FormDefinition, FormField
from engine.runtime import access, instances, outcome as outcomes, tasks, worker_tasks
from engine.supervision import inspection, interventions
from engine.workspace import history


@dataclass
class TaskBox:
    """An open task with its form; the page fills `nodes` and `errors` when it renders it."""
    task: HumanTask
    form: FormDefinition | None
    nodes: list[Any] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class DataRow:
    """One field of the instance's data as the panel shows it: the form's label where a form of
    the process names the key, the value as people read it, and its audited changes."""
    key: str
    label: str
    value: Any
    set_by_process: bool
    changes: list[dict[str, Any]]


@dataclass
class ExternalTaskLine:
    """An external task waiting for another system, with its element's name."""
    row: Any
    name: str


@dataclass
class InstanceDetail:
    instance: ProcessInstance
    title: str
    tasks: list[TaskBox]
    retry: interventions.RetryForm | None
    events: list[Any]
    events_total: int
    history: dict[str, Any]
    path: dict[str, Any]
    outcome: outcomes.Outcome | None = None
    external_tasks: list[Any] = field(default_factory=list)
    names: names.Names | None = None
    data: list[DataRow] = field(default_factory=list)


def instance_detail(session: Session, actor: Actor, instance_id: int) -> InstanceDetail:
    """Everything the supervisor's page of one instance shows (supervisors only: the inspection
    and the retry form refuse anyone else)."""
    instance = instances.get(session, instance_id)
    summary = summaries.get(session, instance_id)
    boxes = [TaskBox(t, tasks.form_of(session, t)) for t in tasks.open_tasks(session, instance_id)]
    retry = interventions.retry_form(session, actor, instance_id) if instance.state == instances.ERROR else None
    events, total = inspection.timeline(session, actor, instance_id)
    data_history = inspection.data_history(session, actor, instance_id)
    changed_by = [c["actor"] for k in data_history["keys"] for c in k["changes"]]
    return InstanceDetail(instance, summary.title if summary else "", boxes, retry, events, total, data_history,
                          inspection.token_path(session, actor, instance_id),
                          outcome=outcomes.of_view(session, access.view_of(session, actor, instance)),
                          external_tasks=[ExternalTaskLine(row, elements.name_of(instance.definition, row.element_id)
                                                           or row.element_id)
                                          for row in worker_tasks.open_of(session, instance_id)],
                          names=names.of_tasks(session, [b.task for b in boxes],
                                               [instance.started_by, *(e.actor for e in events), *changed_by]),
                          data=data_rows(session, instance, data_history))


def data_rows(session: Session, instance: ProcessInstance, data_history: dict[str, Any]) -> list[DataRow]:
    """The data panel's rows, labelled from the process's forms (its pinned versions)."""
    fields: dict[str, FormField] = {}
    for form_key in instance.definition.meta.get("forms", {}):
        form = form_for(session, instance.definition, form_key)
        for form_field in form.fields if form else ():
            if form_field.label:
                fields.setdefault(form_field.key, form_field)
    people = _people_named(session, data_history)
    rows = []
    for item in data_history["keys"]:
        key, form_field = item["key"], fields.get(item["key"])
        rows.append(DataRow(key, form_field.label if form_field else history.ENGINE_KEYS.get(key, key),
                            people.get(item["current"]) if _is_name(item["current"]) and item["current"] in people
                            else readable(history.display_value(form_field, item["current"])) if item["present"] else None,
                            item["changed_by_process"],
                            [{**c, "value": readable(history.display_value(form_field, c["value"]))}
                             for c in item["changes"]]))
    return rows


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 80 and " " not in value


def _people_named(session: Session, data_history: dict[str, Any]) -> dict[str, str]:
    """Values that are someone's user name (the applicant, a drawn expert) and that person's name."""
    values = {item["current"] for item in data_history["keys"] if _is_name(item["current"])}
    found = names.lookup(session, values)
    return {v: found.person(v) for v in values if found.person(v) != v}


def readable(value: Any) -> Any:
    """A value as a line or lines of text: a mapping becomes "key: value" lines, a list of
    mappings one line per item; plain values stay as they are (the page formats them)."""
    if isinstance(value, dict):
        return [f"{k}: {_line(v)}" for k, v in value.items()]
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return [_line(v) for v in value]
    return value


def _line(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_line(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_line(v) for v in value)
    if value is True or value is False:
        return "✓" if value else "✗"
    return "—" if value is None else str(value)
