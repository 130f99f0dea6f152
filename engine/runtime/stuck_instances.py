"""Stuck instances: a running (or failed) process instance that made no progress for N whole
working days is marked stuck: audited as `instance_stuck` and reported to the process's
supervisors in their daily digest. N is the process's `stuckAfterWorkingDays` extension property
(default 10); 0 switches the watch off for that process.

So that a pass costs what is due, each live instance has one `instance_watches` row with the
moment it must next be looked at (`check_at`, indexed). The row is created with the instance and
needs no update on every command: when it comes due, the instance's real last change
(`updated_at`) decides: not quiet long enough -> look again when it would be; quiet -> mark it
once (`stuck_since` remembers which quiet spell was reported) and look again N working days
later. Ended instances drop their watch."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import ForeignKey, Index, Integer, delete, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import bulk, clock, leases
from engine.definitions import escalation_policy
from engine.core.calendar import add_working_days
from engine.core.models import Base, ProcessDefinition, ProcessInstance
from engine.notify.texts import local_time
from engine.notify.notifications import Batch, Directory

WATCHED_STATES = ("running", "error")


class InstanceWatch(Base):
    __tablename__ = "instance_watches"
    __table_args__ = (
        Index("ix_instance_watches_check_at", "check_at", "instance_id",
              postgresql_where=text("check_at IS NOT NULL"),
              sqlite_where=text("check_at IS NOT NULL")),
    )
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)
    stuck_after: Mapped[int] = mapped_column(Integer)  # working days; 0 = not watched
    check_at: Mapped[datetime | None]
    stuck_since: Mapped[datetime | None]  # the `updated_at` of the quiet spell last reported


def watch(session: Session, instance: ProcessInstance) -> None:
    """Watch a newly started instance (instances.start calls this once; the migration that
    made this table watched the instances already running). No lookup per command: a
    completion must not pay for a check whose answer never changes."""
    if instance.state not in WATCHED_STATES:
        return
    days = escalation_policy.stuck_after(escalation_policy.process_properties(session, instance.definition))
    check_at = add_working_days(clock.now(), days) if days else None
    session.add(InstanceWatch(instance_id=instance.id, stuck_after=days, check_at=check_at))


@dataclass
class Marked:
    claimed: int = 0
    instances: list[tuple[int, str]] = field(default_factory=list)


def mark_stuck(session: Session, limit: int = 500, exclude: Iterable[int] = ()) -> Marked:
    """One scheduler step: look at the watches that are due; mark the quiet instances stuck."""
    with session.no_autoflush:  # one flush at commit, not one per query of the batch
        return _mark_stuck(session, limit, exclude)


def _due(columns: list[Any], limit: int, exclude: Iterable[int]) -> Any:
    stmt = (select(*columns).join(ProcessInstance, ProcessInstance.id == InstanceWatch.instance_id)
            .where(InstanceWatch.check_at <= clock.now())
            .order_by(InstanceWatch.check_at, InstanceWatch.instance_id).limit(limit))
    excluded = list(exclude)
    return stmt.where(InstanceWatch.instance_id.notin_(excluded)) if excluded else stmt


def first_due(session: Session, exclude: Iterable[int]) -> int | None:
    """The instance a batch of one of `mark_stuck` would claim (to skip it if it fails)."""
    return session.scalar(_due([InstanceWatch.instance_id], 1, exclude))


def _mark_stuck(session: Session, limit: int, exclude: Iterable[int]) -> Marked:
    now = clock.now()
    stmt = _due([InstanceWatch, ProcessInstance.state, ProcessInstance.updated_at,
                 ProcessInstance.process_key, ProcessInstance.definition_id], limit, exclude)
    rows = session.execute(leases.claim_rows(session, stmt, of=InstanceWatch)).all()
    result, batch, directory = Marked(len(rows)), Batch(now), Directory(session)
    ended = []
    for watch_row, state, updated_at, process_key, definition_id in rows:
        if state in WATCHED_STATES:
            _look(session, watch_row, updated_at, process_key, definition_id, now, directory,
                  batch, result)
        elif state == "suspended":
            watch_row.check_at = add_working_days(now, watch_row.stuck_after)  # a pause is not a fault
        else:
            ended.append(watch_row.instance_id)
    if ended:
        session.execute(delete(InstanceWatch).where(bulk.among(session, InstanceWatch.instance_id, ended))
                        .execution_options(synchronize_session=False))
    batch.flush(session)
    return result


def _look(session: Session, row: InstanceWatch, updated_at: datetime, process_key: str,
          definition_id: int, now: datetime, directory: Directory, batch: Batch,
          result: Marked) -> None:
    deadline = add_working_days(updated_at, row.stuck_after)
    if deadline > now:
        row.check_at = deadline
        return
    row.check_at = add_working_days(now, row.stuck_after)
    if row.stuck_since == updated_at:
        return  # this quiet spell was reported already
    row.stuck_since = updated_at
    definition = session.get(ProcessDefinition, definition_id)
    properties = escalation_policy.process_properties(session, definition) if definition else {}
    policy = escalation_policy.resolve({}, properties, f"process {process_key}")
    supervisors = sorted(set(directory.members(policy.supervisor_groups))
                         | set(directory.existing(policy.supervisor_users)))
    params = {"instance_id": row.instance_id, "process_key": process_key,
              "process_name": definition.name if definition else process_key,
              "since": updated_at.isoformat(), "days": row.stuck_after}
    notified = batch.add(supervisors, "instance_stuck", params, instance_id=row.instance_id,
                         urgent=False)
    batch.record("instance_stuck", escalation_policy.SCHEDULER, instance_id=row.instance_id,
                 quiet_since=updated_at.isoformat(), working_days=row.stuck_after, notified=notified)
    result.instances.append((row.instance_id, f"{process_key}, no progress since {local_time(updated_at)}"))
