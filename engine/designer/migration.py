"""Moving running instances from one version of a process to another. This module owns the
check (SpiffWorkflow's own diff, `SpiffWorkflow.bpmn.util.diff`: every task an instance is
waiting at must exist in the target version, in the main process and in every subprocess it
has entered), the preview that says what would happen to each chosen instance without changing
anything, and the migration itself: one engine command per instance, so each instance moves
completely or not at all, audited with the reason. Waiting user tasks take the target
version's routing (title, form, assignee and candidates; a claim is released) and branches
still ahead are predicted from the target version; what was done before stays done."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from engine.core import audit, commands
from engine.runtime import instances, projection, store
from engine.core.db import Database
from engine.definitions.deployment import SPECS
from engine.core.errors import Conflict, EngineError, InvalidData
from engine.definitions.specs import SPEC_SERIALIZER
from engine.core.models import ProcessInstance
from engine.core.principals import Actor
from engine.designer.process_drafts import definition_of, require_designer

MIGRATABLE = (instances.RUNNING, instances.SUSPENDED, instances.ERROR)
_WAITING = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


@dataclass(frozen=True)
class Plan:
    instance_id: int
    from_version: int
    possible: bool
    reason: str
    waiting_at: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


@dataclass
class Report:
    to_version: int
    migrated: list[int] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)


def candidates(session: Session, actor: Actor, key: str, from_version: int) -> list[int]:
    """Ids of the live instances on a version."""
    require_designer(actor)
    return list(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.process_key == key, ProcessInstance.version == from_version,
        ProcessInstance.state.in_(MIGRATABLE)).order_by(ProcessInstance.id)))


def preview(session: Session, actor: Actor, key: str, to_version: int, instance_ids: list[int]) -> list[Plan]:
    """What migrating each instance to `to_version` would do; nothing is changed."""
    require_designer(actor)
    target = definition_of(session, key, to_version)
    return [_plan(session, target, instance_id) for instance_id in instance_ids]


def migrate(session: Session, actor: Actor, instance_id: int, to_version: int, reason: Any) -> ProcessInstance:
    """One instance, in the calling command's transaction: all of it or nothing."""
    require_designer(actor)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidData("a migration needs a reason", {"reason": ["Missing data for required field."]})
    instance = instances.get(session, instance_id)
    target = definition_of(session, instance.process_key, to_version)
    plan = _plan(session, target, instance_id)
    if not plan.possible:
        raise Conflict(plan.reason)
    workflow = store.load(instance)
    spec, subprocess_specs = SPECS.get(target)
    top, subs = diff_workflow(SPEC_SERIALIZER.registry, workflow, spec, subprocess_specs)
    migrate_workflow(top, workflow, spec)
    for sub_id, sub_diff in subs.items():
        sub = workflow.subprocesses[sub_id]
        migrate_workflow(sub_diff, sub, subprocess_specs[sub.spec.name])
    workflow.subprocess_specs = subprocess_specs
    store.store_afresh(instance, workflow)  # finished tasks now name the target's specs
    source = instance.version
    instance.definition_id, instance.definition, instance.version = target.id, target, target.version
    for row in projection.open_tasks_of(session, [instance.id]).get(instance.id, []):
        task = workflow.get_task_from_id(UUID(row.id))
        if task is not None and task.state == TaskState.READY:
            projection.reroute(session, instance, workflow, row, task)
    audit.record(session, "instance_migrated", actor.username, instance_id=instance.id, reason=reason.strip(),
                 from_version=source, to_version=target.version, waiting_at=plan.waiting_at)
    if instance.state == instances.RUNNING:
        instances.advance(session, instance, workflow, actor)
    else:
        # a suspended or failed instance keeps its state; only its tree moves to the new version
        instances.save(session, instance, workflow, actor)
    return instance


def migrate_many(db: Database, actor: Actor, instance_ids: list[int], to_version: int, reason: str,
                 progress: Callable[[int, int], None] | None = None) -> Report:
    """Each instance in its own transaction; every failure is reported, none stops the rest."""
    report = Report(to_version)
    for done, instance_id in enumerate(instance_ids, start=1):
        try:
            commands.execute(db, migrate, actor, instance_id, to_version, reason)
            report.migrated.append(instance_id)
        except EngineError as error:
            report.failures.append((instance_id, str(error)))
        if progress is not None:
            progress(done, len(instance_ids))
    return report


def _plan(session: Session, target: Any, instance_id: int) -> Plan:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        return Plan(instance_id, 0, False, f"process instance {instance_id} not found")
    if instance.process_key != target.key:
        return Plan(instance_id, instance.version, False,
                    f"instance {instance_id} runs '{instance.process_key}', not '{target.key}'")
    if instance.state not in MIGRATABLE:
        return Plan(instance_id, instance.version, False, f"instance {instance_id} is {instance.state}")
    if instance.version == target.version:
        return Plan(instance_id, instance.version, False, f"instance {instance_id} already runs version {target.version}")
    spec, subprocess_specs = SPECS.get(target)
    workflow = store.load(instance)
    try:
        top, subs = diff_workflow(SPEC_SERIALIZER.registry, workflow, spec, subprocess_specs)
    finally:
        store.remember(instance, workflow)  # loading took it from the cache; nothing changed it
    waiting = sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(state=_WAITING)
                      if getattr(t.task_spec, "bpmn_id", None)})
    missing = _missing(workflow, top, subs)
    changed = sorted({t.task_spec.bpmn_id for t in top.changed if getattr(t.task_spec, "bpmn_id", None)})
    if missing:
        return Plan(instance_id, instance.version, False,
                    f"version {target.version} has no {', '.join(missing)}, where instance {instance_id} is waiting",
                    waiting, changed)
    moved = sorted(f"{t.task_spec.bpmn_id} → {new.bpmn_id}" for t, new in top.alignment.items()
                   if new is not None and t.state & _WAITING and getattr(t.task_spec, "bpmn_id", None)
                   and new.bpmn_id != t.task_spec.bpmn_id)
    return Plan(instance_id, instance.version, True,
                f"moves from version {instance.version} to {target.version}; waiting at {', '.join(waiting) or 'nothing'}"
                + (f" (matched by position: {', '.join(moved)})" if moved else ""),
                waiting, changed)


def _missing(workflow: Any, top: Any, subs: dict[Any, Any]) -> list[str]:
    """Elements an instance waits at (or has entered, for subprocesses) that the target lacks."""
    missing = {t.task_spec.bpmn_id or t.task_spec.name for t in top.removed if t.state & _WAITING}
    for sub_id, sub_diff in subs.items():
        sub = workflow.subprocesses[sub_id]
        if sub_diff is None:
            if not sub.is_completed():
                missing.add(f"the called process '{sub.spec.name}'")
            continue
        missing |= {t.task_spec.bpmn_id or t.task_spec.name for t in sub_diff.removed if t.state & _WAITING}
    return sorted(str(m) for m in missing)
