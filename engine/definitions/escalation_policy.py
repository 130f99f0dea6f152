"""The reminder and escalation policy of user tasks: its BPMN extension properties, their
defaults and their meaning, resolved once when a task is created, and the due-dated moments it
puts on a task (`next_reminder_at`, `next_escalation_at`). The scheduler's steps that act on
those moments are engine/scheduling/escalation.py; validation checks the properties at deploy time here.

A task's policy is resolved from its own `camunda:properties`, else the process's
(`bpmn:process` extension properties: the defaults for every task of that process), else the
engine defaults below. With a due date, a task goes through:

1. a reminder `reminderWorkingDays` whole working days before the due moment, same time of day
   (to the assignee, or to the candidates while nobody has claimed it);
2. when overdue: the notice to `overdueNotify` (the assignee, and the stage supervisors);
3. `escalateAfterWorkingDays` whole working days after the due moment: the `escalationAction`:
   `escalate` (the task moves to the supervisors' inbox: unassigned, the supervisor groups become
   candidates, the former assignee stays a candidate), `reassign` (to the user `reassignTo`, or
   back to the task's candidate group; with neither, as `escalate`), `notify` (the supervisors are
   told again) or `none`."""
from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.calendar import add_working_days
from engine.core.models import DefinitionFile, HumanTask, ProcessDefinition, ProcessInstance

log = logging.getLogger(__name__)

SCHEDULER = "scheduler"
ACTIONS = ("escalate", "reassign", "notify", "none")
NOTIFY_TARGETS = ("assignee", "supervisors")
HISTORY_ACTIONS = ("task_reminded", "task_overdue", "task_escalated", "task_reassigned")
STUCK_AFTER_DEFAULT = 10


@dataclass(frozen=True)
class Policy:
    reminder_working_days: int = 1
    overdue_notify: tuple[str, ...] = NOTIFY_TARGETS
    escalate_after_working_days: int = 2
    escalation_action: str = "escalate"
    reassign_to: str | None = None
    supervisor_groups: tuple[str, ...] = ("supervisors",)
    supervisor_users: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def stored(self) -> dict[str, Any] | None:
        """What a task keeps: only what differs from the defaults (None for none), since every
        open task carries its policy."""
        defaults = Policy().as_dict()
        changed = {k: v for k, v in self.as_dict().items() if defaults[k] != v}
        return changed or None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Policy":
        if not data:
            return cls()
        known = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
                 if k in cls.__dataclass_fields__}
        return cls(**known)


# ---- the extension properties ------------------------------------------------------------------

def _whole_days(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or int(text) > 365:
        raise ValueError(f"must be a whole number of working days (0-365), not '{value}'")
    return int(text)


def _names(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))


def _targets(value: str) -> tuple[str, ...]:
    names = _names(value)
    if names in ((), ("none",)):
        return ()
    bad = [n for n in names if n not in NOTIFY_TARGETS]
    if bad:
        raise ValueError(f"names {', '.join(bad)}; use assignee, supervisors (comma-separated) or none")
    return names


def _action(value: str) -> str:
    if value.strip() not in ACTIONS:
        raise ValueError(f"must be one of {', '.join(ACTIONS)}, not '{value}'")
    return value.strip()


def _user(value: str) -> str | None:
    return value.strip() or None


# property name -> (Policy field, parser)
PROPERTIES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "reminderWorkingDays": ("reminder_working_days", _whole_days),
    "overdueNotify": ("overdue_notify", _targets),
    "escalateAfterWorkingDays": ("escalate_after_working_days", _whole_days),
    "escalationAction": ("escalation_action", _action),
    "reassignTo": ("reassign_to", _user),
    "supervisorGroups": ("supervisor_groups", _names),
    "supervisorUsers": ("supervisor_users", _names),
}
PROCESS_ONLY = {"stuckAfterWorkingDays": _whole_days}


def check_properties(properties: dict[str, Any], process_level: bool = False) -> list[str]:
    """Deploy-time check of the escalation properties among `properties`: one message per bad
    value, naming the property (other properties are not ours and are ignored)."""
    parsers = {name: parse for name, (_, parse) in PROPERTIES.items()}
    if process_level:
        parsers.update(PROCESS_ONLY)
    problems = []
    for name, parse in parsers.items():
        if name in properties and properties[name] is not None:
            try:
                parse(str(properties[name]))
            except ValueError as error:
                problems.append(f"{name} {error}")
    return problems


def _apply(policy: Policy, properties: dict[str, Any], where: str) -> Policy:
    changes = {}
    for name, (attribute, parse) in PROPERTIES.items():
        if properties.get(name) is None:
            continue
        try:
            changes[attribute] = parse(str(properties[name]))
        except ValueError as error:
            # validation should have refused it; a running engine keeps the default instead
            log.warning("ignoring %s %s on %s", name, error, where)
    return replace(policy, **changes)


def resolve(task_properties: dict[str, Any], process_properties: dict[str, Any],
            where: str = "a task") -> Policy:
    if not _ours(task_properties) and not _ours(process_properties):
        return _DEFAULT  # most tasks say nothing of reminders: every new task would build it anew
    return _apply(_apply(Policy(), process_properties, f"the process of {where}"), task_properties, where)


_DEFAULT = Policy()


def _ours(properties: dict[str, Any]) -> bool:
    return any(properties.get(name) is not None for name in PROPERTIES)


def stuck_after(process_properties: dict[str, Any]) -> int:
    value = process_properties.get("stuckAfterWorkingDays")
    try:
        return _whole_days(str(value)) if value is not None else STUCK_AFTER_DEFAULT
    except ValueError:
        return STUCK_AFTER_DEFAULT


# ---- process-level properties ------------------------------------------------------------------

_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
_cache: dict[tuple[int, tuple[str, ...]], dict[str, str]] = {}
_cache_lock = threading.Lock()


def properties_of(node: Any) -> dict[str, str]:
    """The camunda:properties directly on an lxml element (a process or a task)."""
    found = node.findall(f"{{{_BPMN}}}extensionElements/{{{_CAMUNDA}}}properties/{{{_CAMUNDA}}}property")
    return {p.get("name"): p.get("value") or "" for p in found if p.get("name")}


def process_properties(session: Session, definition: ProcessDefinition) -> dict[str, str]:
    """The extension properties of the definition's `bpmn:process` element: from its metadata
    when deployment recorded them, else read once from its stored BPMN file."""
    meta_properties = (definition.meta or {}).get("properties")
    if isinstance(meta_properties, dict):
        return meta_properties
    # keyed by the stored files' hashes: ids restart in an emptied test database
    key = (definition.id, tuple(definition.source_files or ()))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    found = _from_sources(session, definition)
    with _cache_lock:
        _cache[key] = found
    return found


def _from_sources(session: Session, definition: ProcessDefinition) -> dict[str, str]:
    from engine.definitions.xmlsafe import parse_xml
    files = session.scalars(select(DefinitionFile).where(
        DefinitionFile.content_hash.in_(definition.source_files or []), DefinitionFile.kind == "bpmn"))
    for file in files:
        try:
            tree = parse_xml(file.content, file.filename)
        except Exception:  # stored files were validated at deploy; never fail a command on it
            continue
        for process in tree.getroot().iter(f"{{{_BPMN}}}process"):
            if process.get("id") == definition.key:
                return properties_of(process)
    return {}


def policy_for(session: Session, instance: ProcessInstance, task_properties: dict[str, Any],
               task_name: str) -> Policy:
    return resolve(task_properties or {}, process_properties(session, instance.definition),
                   f"task {task_name} of {instance.process_key}")


# ---- the moments on a task ---------------------------------------------------------------------

def schedule(row: HumanTask, policy: Policy) -> None:
    """Set a new task's policy and first due-dated moments (nothing without a due date)."""
    row.escalation_policy = None if policy == _DEFAULT else policy.stored()
    row.escalation_level = 0
    row.next_reminder_at = row.next_escalation_at = None
    if row.due_at is None:
        return
    if policy.reminder_working_days:
        reminder = add_working_days(row.due_at, -policy.reminder_working_days)
        # a task created inside its reminder window needs no "due soon": it is news already
        if reminder > row.created_at:
            row.next_reminder_at = reminder
    if policy.overdue_notify or policy.escalation_action != "none":
        row.next_escalation_at = row.due_at


def stop(row: HumanTask) -> None:
    """A closed task has nothing left to remind or escalate (and leaves the partial indexes)."""
    row.next_reminder_at = row.next_escalation_at = None
