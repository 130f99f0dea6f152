"""The scheduler heartbeat: each scheduler process keeps one row (`scheduler_heartbeats`) saying
who it is (an id, its host and process), how often it means to pass, and how its passes go (the
last one's start, end and duration, how late the oldest due work was when it started, how many
passes and how long they took in all, the last error). It is written at every pass's start and
end, and every interval in between (schedulers share the pass job, so one may go a while
without running it). A scheduler is silent when its row has not
been written for more than `SILENT_AFTER` of its intervals: it was killed, hangs, or lost the
database. A scheduler that stops cleanly removes its row; rows silent for `FORGET_AFTER` are
removed by the passes of the schedulers still alive."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import clock
from engine.core.models import Base

SILENT_AFTER = 3  # intervals without a heartbeat
FORGET_AFTER = timedelta(days=7)
MAX_ERROR = 2000


class SchedulerHeartbeat(Base):
    __tablename__ = "scheduler_heartbeats"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime] = mapped_column(index=True)
    pass_started_at: Mapped[datetime | None]
    pass_ended_at: Mapped[datetime | None]
    pass_seconds: Mapped[float | None] = mapped_column(Float)
    lag_seconds: Mapped[float | None] = mapped_column(Float)
    passes: Mapped[int] = mapped_column(Integer, default=0)
    busy_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]


@dataclass(frozen=True)
class Identity:
    id: str
    host: str
    pid: int
    interval_seconds: int


def _row(session: Session, me: Identity) -> SchedulerHeartbeat:
    row = session.get(SchedulerHeartbeat, me.id)
    if row is None:  # first beat, or forgotten while it was away
        row = SchedulerHeartbeat(id=me.id, host=me.host, pid=me.pid, interval_seconds=me.interval_seconds,
                                 started_at=clock.now(), beat_at=clock.now(), passes=0, busy_seconds=0.0)
        session.add(row)
    return row


def announce(session: Session, me: Identity) -> None:
    """The scheduler process has started: its row, fresh."""
    row = _row(session, me)
    row.started_at = row.beat_at = clock.now()
    row.interval_seconds = me.interval_seconds


def alive(session: Session, me: Identity) -> None:
    """A beat between passes: several schedulers share one job, so a live one may find the pass
    already taken by another for a while; its own beat says it is there all the same."""
    _row(session, me).beat_at = clock.now()


def pass_started(session: Session, me: Identity) -> None:
    row = _row(session, me)
    row.pass_started_at = row.beat_at = clock.now()


def pass_ended(session: Session, me: Identity, seconds: float, lag_seconds: float | None,
               error: str | None) -> None:
    """A pass is over: its figures, and its error if it had one (a pass without one keeps the
    last error, with its time, for whoever looks later)."""
    row = _row(session, me)
    row.pass_ended_at = row.beat_at = clock.now()
    row.pass_seconds, row.lag_seconds = seconds, lag_seconds
    row.passes = (row.passes or 0) + 1
    row.busy_seconds = (row.busy_seconds or 0.0) + seconds
    if error:
        row.last_error, row.last_error_at = error[:MAX_ERROR], clock.now()
    session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.beat_at < clock.now() - FORGET_AFTER))


def stopped(session: Session, me: Identity) -> None:
    """A clean stop: nothing to warn about."""
    session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.id == me.id))


@dataclass(frozen=True)
class SchedulerState:
    id: str
    host: str
    pid: int
    interval_seconds: int
    started_at: datetime
    beat_at: datetime
    pass_started_at: datetime | None
    pass_ended_at: datetime | None
    pass_seconds: float | None
    lag_seconds: float | None
    passes: int
    busy_seconds: float
    last_error: str | None
    last_error_at: datetime | None
    silent: bool
    silent_seconds: float  # since the last heartbeat


def schedulers(session: Session) -> list[SchedulerState]:
    """Every scheduler that has a row, the silent ones first, each judged at the engine's now."""
    now = clock.now()
    states = []
    for row in session.scalars(select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.id)):
        quiet = (now - row.beat_at).total_seconds()
        states.append(SchedulerState(
            id=row.id, host=row.host, pid=row.pid, interval_seconds=row.interval_seconds,
            started_at=row.started_at, beat_at=row.beat_at, pass_started_at=row.pass_started_at,
            pass_ended_at=row.pass_ended_at, pass_seconds=row.pass_seconds, lag_seconds=row.lag_seconds,
            passes=row.passes or 0, busy_seconds=row.busy_seconds or 0.0, last_error=row.last_error,
            last_error_at=row.last_error_at, silent=quiet > SILENT_AFTER * row.interval_seconds,
            silent_seconds=max(quiet, 0.0)))
    return sorted(states, key=lambda s: (not s.silent, s.id))
