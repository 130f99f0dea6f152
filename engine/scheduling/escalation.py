"""The scheduler's reminder and escalation steps for overdue user tasks, acting on the
due-dated moments the policy (engine/definitions/escalation_policy.py) put on each task. Each step happens
exactly once (engine/core/leases.py), is audited, and after downtime the missed steps are taken in
order in the next pass; a reminder whose task is already overdue is dropped, the overdue notice
says more."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import Text, cast, select, update
from sqlalchemy.orm import Session

from engine.core import bulk, clock, leases, names
from engine.runtime import projection
from engine.core.calendar import add_working_days
from engine.definitions.escalation_policy import HISTORY_ACTIONS, SCHEDULER, Policy
from engine.core.models import AuditEvent, HumanTask, ProcessInstance
from engine.notify.texts import local_time
from engine.notify.notifications import Batch, Directory

log = logging.getLogger(__name__)


# ---- scheduler steps ---------------------------------------------------------------------------

@dataclass
class Done:
    """What one batch did: rows claimed (0 means nothing was due) and one line per event."""

    claimed: int = 0
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, task id, text)


@dataclass
class Task:
    """The columns of a claimed task that a step reads and changes (plain values, not an ORM
    object: a catch-up pass handles thousands, and the changes are written back set-wise)."""

    id: str
    process_instance_id: int
    process_key: str
    name: str
    title: str
    assignee: str | None
    candidate_groups: list[str]
    candidate_users: list[str]
    due_at: Any
    policy: Policy
    escalation_level: int
    next_reminder_at: Any = None
    next_escalation_at: Any = None

    def changes(self, assignment: bool) -> dict[str, Any]:
        changed = {"id": self.id, "escalation_level": self.escalation_level,
                   "next_reminder_at": self.next_reminder_at, "next_escalation_at": self.next_escalation_at}
        if assignment:
            changed.update(assignee=self.assignee, candidate_groups=self.candidate_groups,
                           candidate_users=self.candidate_users)
        return changed


# the JSON columns are read as text and decoded once per distinct value: the tasks of a batch
# mostly share their policy and candidate groups
_CLAIMED = [HumanTask.id, HumanTask.process_instance_id, HumanTask.process_key, HumanTask.name,
            HumanTask.title, HumanTask.assignee, cast(HumanTask.candidate_groups, Text),
            cast(HumanTask.candidate_users, Text), HumanTask.due_at,
            cast(HumanTask.escalation_policy, Text), HumanTask.escalation_level]


class _Decoded(dict):  # type: ignore[type-arg]
    """JSON text -> value, each distinct text decoded once (values are never mutated)."""

    def __missing__(self, text: str | None) -> Any:
        value = json.loads(text) if text is not None else None
        self[text] = value
        return value


def _task(row: Any, decoded: _Decoded, policies: dict[str | None, Policy]) -> Task:
    if row[9] not in policies:
        policies[row[9]] = Policy.from_dict(decoded[row[9]])
    return Task(row[0], row[1], row[2], row[3], row[4], row[5], decoded[row[6]] or [],
                decoded[row[7]] or [], row[8], policies[row[9]], row[10])


def _due(column: Any, columns: list[Any], limit: int, exclude: Iterable[str]) -> Any:
    """Open tasks of running instances whose `column` moment has come, in claim order (the
    order of the partial index on (column, id))."""
    stmt = (select(*columns).join(ProcessInstance, ProcessInstance.id == HumanTask.process_instance_id)
            .where(column <= clock.now(), HumanTask.state == projection.OPEN,
                   ProcessInstance.state == "running")
            .order_by(column, HumanTask.id).limit(limit))
    excluded = list(exclude)
    return stmt.where(HumanTask.id.notin_(excluded)) if excluded else stmt


def _claim(session: Session, column: Any, limit: int, exclude: Iterable[str]) -> list[Task]:
    rows = session.execute(leases.claim_rows(session, _due(column, _CLAIMED, limit, exclude), of=HumanTask))
    decoded, policies = _Decoded(), {}
    return [_task(row, decoded, policies) for row in rows]


def first_reminder_due(session: Session, exclude: Iterable[str]) -> str | None:
    """The task a batch of one of `send_reminders` would claim (to skip it if it fails)."""
    return session.scalar(_due(HumanTask.next_reminder_at, [HumanTask.id], 1, exclude))


def first_escalation_due(session: Session, exclude: Iterable[str]) -> str | None:
    """The task a batch of one of `escalate_overdue` would claim (to skip it if it fails)."""
    return session.scalar(_due(HumanTask.next_escalation_at, [HumanTask.id], 1, exclude))


def _params(row: Task, directory: Directory, **extra: Any) -> dict[str, Any]:
    params = {"title": row.title, "task_name": row.name, "process_key": row.process_key,
              "instance_id": row.process_instance_id, "holder": row.assignee,
              "due_at": row.due_at.isoformat() if row.due_at else None, **extra}
    if params["holder"]:  # the texts name the holder as people know them (prefetched with the batch)
        params["holder_name"] = names.lookup(directory.session, [params["holder"]]).person(params["holder"])
    return params


def _holders(directory: Directory, row: Task) -> list[str]:
    if row.assignee:
        return directory.existing([row.assignee])
    return sorted(set(directory.existing(row.candidate_users)) | set(directory.members(row.candidate_groups)))


def _supervisors(directory: Directory, policy: Policy) -> list[str]:
    return directory.people(policy.supervisor_groups, policy.supervisor_users)


def _directory(session: Session, rows: list[Task], policies: Iterable[Policy]) -> Directory:
    directory = Directory(session)
    policies = list(policies)
    # candidates matter for unclaimed tasks only (and for the level-2 step, which may hand a
    # task back to its group); an assigned task's group can be large and is not asked
    pooled = [r for r in rows if not r.assignee or r.escalation_level >= 1]
    users = {r.assignee for r in rows} | {u for r in pooled for u in r.candidate_users} | \
        {u for p in policies for u in (*p.supervisor_users, p.reassign_to)}
    groups = {g for r in pooled for g in r.candidate_groups} | {g for p in policies for g in p.supervisor_groups}
    directory.prefetch(users, groups)
    names.lookup(session, users)
    return directory


def send_reminders(session: Session, limit: int = 500, exclude: Iterable[str] = ()) -> Done:
    """Reminders whose moment has come, for open tasks of running instances."""
    now = clock.now()
    rows = _claim(session, HumanTask.next_reminder_at, limit, exclude)
    directory, batch, done = _directory(session, rows, ()), Batch(now), Done(len(rows))
    for row in rows:
        if row.due_at is None or row.due_at <= now:
            continue  # late after downtime: the overdue notice of this same pass says more
        sent = batch.add(_holders(directory, row), "task_due_soon", _params(row, directory),
                         task_id=row.id, instance_id=row.process_instance_id, urgent=True)
        batch.record("task_reminded", SCHEDULER, instance_id=row.process_instance_id,
                     task_id=row.id, due_at=row.due_at.isoformat(), notified=sent)
        done.events.append(("reminded", row.id, f'"{row.title}" due {local_time(row.due_at)} -> {", ".join(sent) or "nobody"}'))
    if rows:
        session.execute(update(HumanTask).where(bulk.among(session, HumanTask.id, [r.id for r in rows]))
                        .values(next_reminder_at=None).execution_options(synchronize_session=False))
    batch.flush(session)
    return done


def escalate_overdue(session: Session, limit: int = 500, exclude: Iterable[str] = ()) -> Done:
    """The next escalation step of every task whose `next_escalation_at` has come."""
    now = clock.now()
    # rows held back for a locked instance are not counted: a batch of only those ends the
    # step, and they are due again in the next pass
    rows = _with_instances_locked(session, _claim(session, HumanTask.next_escalation_at, limit, exclude))
    directory, batch, done = _directory(session, rows, {r.policy for r in rows}), Batch(now), Done(len(rows))
    moved: list[Task] = []
    for row in rows:
        if row.escalation_level == 0:
            _overdue(row, row.policy, directory, batch, done)
        elif _act(row, row.policy, directory, batch, done):
            moved.append(row)
    moved_ids = {row.id for row in moved}
    kept = [row for row in rows if row.id not in moved_ids]
    bulk.update_rows(session, HumanTask.__table__, "id", [row.changes(False) for row in kept])
    bulk.update_rows(session, HumanTask.__table__, "id", [row.changes(True) for row in moved])
    if moved:
        projection.set_candidates_of_many(session, moved)
        # like a supervisor's reassignment: a completion racing it loses cleanly (409)
        instance_ids = sorted({r.process_instance_id for r in moved})
        session.execute(update(ProcessInstance).where(bulk.among(session, ProcessInstance.id, instance_ids))
                        .values(revision=ProcessInstance.revision + 1)
                        .execution_options(synchronize_session=False))
    batch.flush(session)
    return done


def _with_instances_locked(session: Session, rows: list[Task]) -> list[Task]:
    """The rows whose step may go ahead. An escalation action may change the assignment, so
    like a user's command it needs the instance row; a user's command locks the instance
    before the task, so the scheduler (which holds the task) must not wait for the instance:
    it skips what is locked, and that task's step is taken by the next pass."""
    acting = {r.process_instance_id for r in rows if r.escalation_level >= 1}
    if not acting or not bulk.is_postgresql(session):
        return rows  # SQLite: this transaction holds the database's only write lock
    locked = set(session.scalars(select(ProcessInstance.id).where(
        bulk.among(session, ProcessInstance.id, sorted(acting))).with_for_update(skip_locked=True)))
    return [r for r in rows if r.escalation_level == 0 or r.process_instance_id in locked]


def _overdue(row: Task, policy: Policy, directory: Directory, batch: Batch, done: Done) -> None:
    params, due = _params(row, directory), row.due_at.isoformat()
    holders = _holders(directory, row) if "assignee" in policy.overdue_notify else []
    notified = batch.add(holders, "task_overdue", params, task_id=row.id,
                         instance_id=row.process_instance_id, urgent=True)
    supervisors = []
    if "supervisors" in policy.overdue_notify:
        others = [s for s in _supervisors(directory, policy) if s not in holders]
        supervisors = batch.add(others, "task_overdue_report", params, task_id=row.id,
                                instance_id=row.process_instance_id, urgent=False)
    row.escalation_level, row.next_reminder_at = 1, None
    row.next_escalation_at = None if policy.escalation_action == "none" else \
        add_working_days(row.due_at, policy.escalate_after_working_days)
    batch.record("task_overdue", SCHEDULER, instance_id=row.process_instance_id,
                 task_id=row.id, level=1, due_at=due, notified=notified, supervisors=supervisors,
                 next_escalation_at=row.next_escalation_at.isoformat() if row.next_escalation_at else None)
    done.events.append(("overdue", row.id, f'"{row.title}" overdue since {local_time(row.due_at)} -> '
                                           f'{", ".join(notified + supervisors) or "nobody"}'))


def _act(row: Task, policy: Policy, directory: Directory, batch: Batch, done: Done) -> bool:
    """The escalation action; True if the assignment changed."""
    row.escalation_level, row.next_escalation_at = 2, None
    days = policy.escalate_after_working_days
    action = policy.escalation_action
    if action == "reassign":
        target = directory.existing([policy.reassign_to]) if policy.reassign_to else []
        if target or row.candidate_groups or row.candidate_users:
            _reassign(row, target[0] if target else None, days, directory, batch, done)
            return True
        action = "escalate"  # nobody to hand it to: the supervisors take it
    if action == "escalate":
        _to_supervisors(row, policy, days, directory, batch, done)
        return True
    if action == "notify":
        sent = batch.add(_supervisors(directory, policy), "task_still_overdue", _params(row, directory, days=days),
                         task_id=row.id, instance_id=row.process_instance_id, urgent=True, gather=True)
        batch.record("task_escalated", SCHEDULER, instance_id=row.process_instance_id,
                     task_id=row.id, level=2, step="notify", notified=sent)
        done.events.append(("escalated", row.id, f'"{row.title}": supervisors told again -> {", ".join(sent) or "nobody"}'))
    return False


def _reassign(row: Task, target: str | None, days: int, directory: Directory, batch: Batch,
              done: Done) -> None:
    before = row.assignee
    row.assignee = target
    ids = {"task_id": row.id, "instance_id": row.process_instance_id}
    if target:
        notified = batch.add([target], "task_reassigned_to_you", _params(row, directory, days=days), urgent=True, **ids)
    else:
        pool = [u for u in _holders(directory, row) if u != before]
        notified = batch.add(pool, "task_returned_to_group", _params(row, directory, days=days), urgent=True,
                             gather=True, **ids)
    _tell_former(before, target, row, days, directory, batch)
    batch.record("task_reassigned", SCHEDULER, instance_id=row.process_instance_id,
                 task_id=row.id, level=2, reason="overdue", before=before, after=target,
                 to="user" if target else "candidates", notified=notified)
    done.events.append(("escalated", row.id, f'"{row.title}": reassigned from {before or "-"} to {target or "its candidates"}'))


def _to_supervisors(row: Task, policy: Policy, days: int, directory: Directory, batch: Batch,
                    done: Done) -> None:
    before = row.assignee
    row.assignee = None
    row.candidate_groups = list(dict.fromkeys([*row.candidate_groups, *policy.supervisor_groups]))
    keep = [before] if before else []
    row.candidate_users = list(dict.fromkeys([*row.candidate_users, *policy.supervisor_users, *keep]))
    notified = batch.add(_supervisors(directory, policy), "task_escalated", _params(row, directory, days=days, holder=before),
                         task_id=row.id, instance_id=row.process_instance_id, urgent=True, gather=True)
    _tell_former(before, None, row, days, directory, batch)
    batch.record("task_escalated", SCHEDULER, instance_id=row.process_instance_id,
                 task_id=row.id, level=2, step="escalate", before=before,
                 candidate_groups=row.candidate_groups, candidate_users=row.candidate_users,
                 notified=notified)
    done.events.append(("escalated", row.id, f'"{row.title}": moved to the supervisors\' inbox (was {before or "unclaimed"})'))


def _tell_former(before: str | None, after: str | None, row: Task, days: int,
                 directory: Directory, batch: Batch) -> None:
    if before and before != after:
        batch.add(directory.existing([before]), "task_taken_away", _params(row, directory, days=days, holder=before),
                  task_id=row.id, instance_id=row.process_instance_id, urgent=True)


# ---- what the task shows -----------------------------------------------------------------------

def history(session: Session, row: HumanTask) -> dict[str, Any]:
    """The task's policy, where it stands, and every reminder and escalation step so far."""
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.process_instance_id == row.process_instance_id, AuditEvent.task_id == row.id,
        AuditEvent.action.in_(HISTORY_ACTIONS)).order_by(AuditEvent.at, AuditEvent.id)).all()
    return {"task_id": row.id, "due_at": row.due_at, "escalation_level": row.escalation_level,
            "next_reminder_at": row.next_reminder_at, "next_escalation_at": row.next_escalation_at,
            "policy": Policy.from_dict(row.escalation_policy).as_dict(),
            "history": [{"at": e.at, "action": e.action, "actor": e.actor, "details": e.details}
                        for e in events]}

