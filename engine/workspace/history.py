"""The history of one instance as people read it, built from the append-only audit log: the
timeline, the decisions taken on its tasks and the application's key facts. What a viewer may
see of it (which events, who acted, which fields) is decided by engine/runtime/access.py: staff see the
full timeline, an applicant the decisions meant for them without who decided, an expert the
project materials and their own work, never another expert's. Values of choice fields are shown
with their option labels from the form version the instance is pinned to."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime import access
from engine.runtime.access import APPLICANT_ACTIONS, APPLICANT_KEYS  # noqa: F401  (kept importable from here)
from engine.definitions import deployment
from engine.definitions.deployment import form_for
from engine.definitions.forms import FormDefinition, FormField
from engine.core import bilingual, names
from engine.core.models import AuditEvent, HumanTask, ProcessInstance
from engine.core.principals import Actor

MAX_EVENTS = 1000
# keys the engine itself puts in the data (not from a form): their labels, in both languages,
# and whether the value is a user name to show as the person's name
ENGINE_KEYS = {"applicant": "申报人 · Applicant"}
PEOPLE_KEYS = frozenset({"applicant"})


@dataclass(frozen=True)
class Shown:
    """One field of submitted data as shown: its label and display value."""

    key: str
    label: str
    value: Any


@dataclass(frozen=True)
class Entry:
    at: datetime
    action: str
    actor: str | None          # None: hidden from this viewer
    task_id: str | None
    task_title: str | None
    fields: list[Shown] = field(default_factory=list)
    note: str = ""             # reason, assignee, file name: the one detail worth a line
    who: tuple[str, ...] = ()  # people and groups the event names (u:NAME, g:GROUP), for their names


def is_staff_view(session: Session, actor: Actor, instance: ProcessInstance) -> bool:
    """Staff (supervisors, admins, whoever works the instance and is not a party of the project
    nor only one of its experts) see everything; see engine/runtime/access.py."""
    return access.view_of(session, actor, instance).staff


def timeline(session: Session, actor: Actor | access.View, instance: ProcessInstance) -> list[Entry]:
    view = actor if isinstance(actor, access.View) else access.view_of(session, actor, instance)
    events = session.scalars(select(AuditEvent).where(AuditEvent.process_instance_id == instance.id)
                             .order_by(AuditEvent.at, AuditEvent.id).limit(MAX_EVENTS)).all()
    forms: dict[str | None, FormDefinition | None] = {}
    held = deployment.prefetch_forms(session, instance.definition, [instance.definition.meta.get("start_form_key")]
                              + [t.form_key for t in view.tasks.values()])
    entries = []
    for event in events:
        if not view.event_shown(event):
            continue
        task = view.tasks.get(event.task_id or "")
        form = _form(session, instance, task, forms)
        entries.append(Entry(at=event.at, action=event.action, actor=view.event_actor(event),
                             task_id=event.task_id, task_title=task.title if task else None,
                             fields=_shown(session, view, event, form), note=_note(event, view.event_note_shown(event)),
                             who=_who(event, view.event_note_shown(event))))
    del held  # the prefetched forms were needed until here
    return entries


def decisions(session: Session, actor: Actor | access.View, instance: ProcessInstance) -> list[Entry]:
    """Completed tasks with the fields this viewer may see, oldest first."""
    return [e for e in timeline(session, actor, instance) if e.action == "task_completed"]


def _form(session: Session, instance: ProcessInstance, task: HumanTask | None,
          cache: dict[str | None, FormDefinition | None]) -> FormDefinition | None:
    key = task.form_key if task else instance.definition.meta.get("start_form_key")
    if key not in cache:
        cache[key] = form_for(session, instance.definition, key)
    return cache[key]


def _shown(session: Session, view: access.View, event: AuditEvent, form: FormDefinition | None) -> list[Shown]:
    if event.action not in ("task_completed", "instance_started"):
        return []
    data = (event.details or {}).get("data") or {}
    if not isinstance(data, dict):
        return []
    shown = []
    for key, value in data.items():
        form_field = form.field(key) if form else None
        if not view.event_field_shown(event, key):
            continue
        label = form_field.label if form_field and form_field.label else ENGINE_KEYS.get(key, key)
        if key in PEOPLE_KEYS and isinstance(value, str):
            value = names.lookup(session, [value]).person(value)
        shown.append(Shown(key, label, display_value(form_field, value)))
    return shown


def display_value(form_field: FormField | None, value: Any) -> Any:
    """Option values become their labels; a dynamic list's items become one line each (their
    fields' shown values joined); everything else is returned as it is."""
    if form_field is not None and form_field.type == "dynamiclist" and isinstance(value, list):
        return [_item_line(form_field, item) for item in value]
    options = _option_labels(form_field)
    if not options:
        return value
    if isinstance(value, list):
        return [options.get(_option_key(v), v) for v in value]
    return options.get(_option_key(value), value)


def _item_line(form_field: FormField, item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    children = {child.key: child for child in form_field.children}
    shown = [display_value(children.get(key), value) for key, value in item.items()
             if value not in (None, "", [])]
    return bilingual.CELLS.join(", ".join(map(str, v)) if isinstance(v, list) else str(v) for v in shown)


def _option_labels(form_field: FormField | None) -> dict[str, str]:
    if form_field is None:
        return {}
    values = form_field.raw.get("values")
    if not isinstance(values, list):
        return {}
    return {_option_key(v.get("value")): str(v.get("label", v.get("value")))
            for v in values if isinstance(v, dict)}


def _option_key(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else value


def _note(event: AuditEvent, staff: bool) -> str:
    details = event.details or {}
    if event.action in ("instance_suspended", "instance_resumed", "instance_terminated", "instance_retried"):
        return str(details.get("reason", ""))
    if event.action in ("attachment_added", "attachment_removed"):
        return str(details.get("filename", ""))
    if not staff:
        return ""
    if event.action == "instance_error":
        return f"{details.get('element_id', '')}: {details.get('message', '')}"
    return ""


def _who(event: AuditEvent, staff: bool) -> tuple[str, ...]:
    """Whom an assignment event names, as principal keys: the page shows their names (a
    reassignment: before and after, then on whose behalf)."""
    details = event.details or {}
    if not staff:
        return ()
    if event.action in ("task_assigned", "task_taken_over"):
        return tuple(f"u:{details.get(k) or '-'}" for k in ("before", "after")) + (
            (f"u:{details['on_behalf_of']}",) if details.get("on_behalf_of") else ())
    if event.action == "task_created":
        if details.get("assignee"):
            return (f"u:{details['assignee']}",)
        return tuple([f"g:{g}" for g in details.get("candidate_groups") or []]
                     + [f"u:{u}" for u in details.get("candidate_users") or []])
    return ()


def key_facts(session: Session, instance: ProcessInstance, data: dict[str, Any],
              view: access.View | None = None) -> list[Shown]:
    """The application's key facts: the start form's fields with the current values (or, once
    the instance has ended, the values it was started with, from the audit log), those the
    viewer may see (all, when no view is given: staff screens)."""
    start_form = form_for(session, instance.definition, instance.definition.meta.get("start_form_key"))
    if start_form is None:
        return []
    if not data:
        started = session.scalars(select(AuditEvent).where(
            AuditEvent.process_instance_id == instance.id, AuditEvent.action == "instance_started")
            .limit(1)).first()
        data = (started.details or {}).get("data", {}) if started else {}
    return [Shown(f.key, f.label or f.key, display_value(f, data[f.key]))
            for f in start_form.fields if f.key in data and f.type != "checkbox"
            and (view is None or view.sees_key(f.key))]
