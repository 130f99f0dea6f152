"""What needs a supervisor's attention, read from the projection and instance rows (indexed):
overdue open tasks, and stuck instances (in error, or running without progress for as many
working days as the scheduler waits before marking an instance stuck)."""
from __future__ import annotations

from functools import partial

from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.definitions import escalation_policy
from engine.runtime import projection
from engine.core.calendar import quiet_cutoff
from engine.core.models import HumanTask, ProcessInstance
from engine.core.principals import Actor, require_supervisor

# the same default as the scheduler's stuck mark and the attention list (working days)
STUCK_AFTER_WORKING_DAYS = escalation_policy.STUCK_AFTER_DEFAULT


_require = partial(require_supervisor, doing="see this")


def overdue(session: Session, actor: Actor, page: int = 1, per_page: int = 50) -> tuple[list[HumanTask], int]:
    _require(actor)
    where = (HumanTask.state == projection.OPEN) & (HumanTask.due_at < clock.now())
    total = session.scalar(select(func.count()).select_from(HumanTask).where(where)) or 0
    rows = session.scalars(select(HumanTask).where(where).order_by(HumanTask.due_at, HumanTask.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


def stuck(session: Session, actor: Actor, page: int = 1, per_page: int = 50) -> tuple[list[ProcessInstance], int]:
    _require(actor)
    quiet_since = quiet_cutoff(clock.now(), STUCK_AFTER_WORKING_DAYS)
    where = or_(ProcessInstance.state == "error",
                (ProcessInstance.state == "running") & (ProcessInstance.updated_at < quiet_since),
                (ProcessInstance.state == "running") & (ProcessInstance.next_timer_at < clock.now() - timedelta(hours=1)))
    total = session.scalar(select(func.count()).select_from(ProcessInstance).where(where)) or 0
    rows = session.scalars(select(ProcessInstance).where(where).order_by(ProcessInstance.updated_at)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total
