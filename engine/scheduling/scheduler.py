"""The scheduler: one pass (`tick`) and the long-running process (`run`).

A pass, at the engine clock's now, in this order: fire the BPMN timers that are due (a boundary
timer may close a task before it is escalated); send the reminders that are due; take the
escalation steps that are due (the overdue notice, then the escalation action); mark quiet
instances stuck; write the e-mails of the notifications whose e-mail is due (one per user);
deliver the outbox over SMTP. Every step selects its work through an indexed due-dated column
(`next_timer_at`, `next_reminder_at`, `next_escalation_at`, `check_at`, `email_after`,
`next_attempt_at`), so a pass costs what is due, not what exists; it works in batches, one
transaction each, until nothing is due, so a pass after downtime catches up, taking each missed
step once, in order. Two schedulers may run at once (engine/core/leases.py).

A batch that fails is done again row by row, each in a savepoint, so one bad row is reported
and skipped for this pass instead of blocking the rest.

`run` is APScheduler's BlockingScheduler with its jobs in the application's database
(SQLAlchemyJobStore, table `apscheduler_jobs`): one interval job that runs a pass, coalescing
missed runs into one. Each process keeps a heartbeat row (engine/scheduling/heartbeat.py) and
tells what its passes did through logging; each pass runs under a request id of its own
(engine/core/tracing.py) that its audit events carry."""
from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import Column, Float, LargeBinary, Table, Unicode, func, select
from sqlalchemy.orm import Session

from engine.core import clock, commands, leases, tracing
from engine.scheduling import escalation, heartbeat
from engine.runtime import instances, stuck_instances
from engine.notify import mailer, notifications
from engine.core.calendar import BUREAU_TZ
from engine.core.db import Database
from engine.core.errors import Conflict, EngineError
from engine.notify.mailer import DeliveryReport, MailSettings
from engine.core.models import Base, HumanTask, ProcessInstance

log = logging.getLogger(__name__)

# APScheduler 3's SQLAlchemyJobStore table, as APScheduler defines it: declared here too so that
# it is part of the schema (migration 0002 creates it; autogenerate and tests know it)
JOBS = Table("apscheduler_jobs", Base.metadata,
             Column("id", Unicode(191), primary_key=True),
             Column("next_run_time", Float(25), index=True),
             Column("job_state", LargeBinary, nullable=False))

BATCH_SIZE = 500
WORKERS = 2  # connections a PostgreSQL pass works with at once (SQLite: its single writer)
MAX_BATCHES = 100_000  # a guard against a step that would never run dry
DETAIL_LINES = 20
JOB_ID = "scheduler-pass"


@dataclass
class TickReport:
    at: str
    fired: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    reminded: list[tuple[str, str]] = field(default_factory=list)
    overdue: list[tuple[str, str]] = field(default_factory=list)
    escalated: list[tuple[str, str]] = field(default_factory=list)
    stuck: list[tuple[int, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notifications_emailed: int = 0
    mail: DeliveryReport | None = None
    mail_waiting: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step, real time
    lag_seconds: float = 0.0  # how long the oldest due work had waited when the pass began

    @contextlib.contextmanager
    def timed(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = time.perf_counter() - started

    @property
    def busy(self) -> bool:
        return bool(self.fired or self.failed or self.reminded or self.overdue or self.escalated
                    or self.stuck or self.problems or self.notifications_emailed
                    or (self.mail and (self.mail.sent or self.mail.retrying or self.mail.failed)))

    def first_error(self) -> str | None:
        """The pass's first failure, as the heartbeat keeps it."""
        if self.failed:
            return f"instance {self.failed[0][0]}: {self.failed[0][1]}"
        return self.problems[0] if self.problems else None

    def lines(self) -> list[str]:
        out = [f"tick at {self.at}: fired timers of {len(self.fired)} instance(s), "
               f"sent {len(self.reminded)} reminder(s), {len(self.overdue)} overdue notice(s), "
               f"escalated {len(self.escalated)} task(s), marked {len(self.stuck)} instance(s) stuck",
               self._mail_line()]
        out += [f"  fired timers of instance {i}" for i in self.fired]
        out += [f"  instance {i}: {message}" for i, message in self.failed]
        out += _details("reminded", self.reminded)
        out += _details("overdue", self.overdue)
        out += _details("escalated", self.escalated)
        out += _details("stuck: instance", self.stuck)
        out += [f"  problem: {p}" for p in self.problems]
        return out

    def _mail_line(self) -> str:
        text = f"  e-mail: {self.notifications_emailed} notification(s) put in the outbox"
        if self.mail is None:
            return text + f"; SMTP not configured (SMTP_HOST), {self.mail_waiting} e-mail(s) waiting"
        text += (f", {self.mail.sent} e-mail(s) delivered, {self.mail.retrying} to retry later, "
                 f"{self.mail.failed} failed")
        return text + "".join(f"\n  e-mail problem: {e}" for e in self.mail.errors[:3])


def _details(label: str, items: list[tuple[Any, str]]) -> list[str]:
    lines = [f"  {label} {key}: {text}" for key, text in items[:DETAIL_LINES]]
    if len(items) > DETAIL_LINES:
        lines.append(f"  ... and {len(items) - DETAIL_LINES} more {label.split(':')[0]}")
    return lines


def tick(db: Database, mail: MailSettings | None = None, batch_size: int = BATCH_SIZE) -> TickReport:
    """One pass at the engine clock's now (see the module docstring). The whole pass happens
    at that one moment, however long it takes: what is due is decided once."""
    with clock.frozen_at(clock.now()):
        return _tick(db, mail, batch_size)


def _tick(db: Database, mail: MailSettings | None, batch_size: int) -> TickReport:
    report = TickReport(at=clock.now().astimezone(BUREAU_TZ).isoformat())  # as the bureau reads it
    settings = mail or MailSettings()
    with report.timed("probe"):
        due = commands.query(db, _due_now)
    report.lag_seconds = _lag(clock.now(), due)
    if due["timers"]:
        with report.timed("timers"):
            _fire_timers(db, report)
    if due["reminders"]:
        with report.timed("reminders"):
            for done in _drain(db, escalation.send_reminders, batch_size, report, "reminders"):
                report.reminded += [(task, text) for _, task, text in done.events]
    if due["escalations"]:
        with report.timed("escalations"):
            for done in _drain(db, escalation.escalate_overdue, batch_size, report, "escalation"):
                for kind, task, text in done.events:
                    (report.overdue if kind == "overdue" else report.escalated).append((task, text))
    if due["stuck"]:
        with report.timed("stuck"):
            for marked in _drain(db, stuck_instances.mark_stuck, batch_size, report, "stuck instances"):
                report.stuck += marked.instances
    if due["emails"] or report.busy:
        with report.timed("e-mail composition"):
            for done in _drain(db, _queue_emails, batch_size, report, "e-mail", settings):
                report.notifications_emailed += done.claimed
    with report.timed("e-mail delivery"):
        if settings.configured and (due["deliveries"] or report.notifications_emailed):
            report.mail = mailer.deliver_due(db, settings)
        elif settings.configured:
            report.mail = DeliveryReport()
        elif due["deliveries"] or report.notifications_emailed:
            report.mail_waiting = commands.query(db, notifications.waiting_emails)
    return report


def _due_now(session: Session) -> dict[str, Any]:
    """For each step, the moment its oldest due work fell due (None: nothing due), in one
    indexed query: a quiet pass costs one round trip, and the oldest moment is the pass's lag."""
    now = clock.now()

    def oldest(column: Any, *where: Any) -> Any:
        return select(func.min(column)).where(column <= now, *where).scalar_subquery()

    row = session.execute(select(
        oldest(ProcessInstance.next_timer_at, ProcessInstance.state == instances.RUNNING).label("timers"),
        oldest(HumanTask.next_reminder_at).label("reminders"),
        oldest(HumanTask.next_escalation_at).label("escalations"),
        oldest(stuck_instances.InstanceWatch.check_at).label("stuck"),
        oldest(notifications.Notification.email_after).label("emails"),
        oldest(notifications.OutboxMessage.next_attempt_at).label("deliveries"))).one()
    return dict(row._mapping)


def _lag(now: datetime, due: dict[str, Any]) -> float:
    """Seconds the oldest due work had waited when the pass began (0 when nothing was due)."""
    moments = [m if m.tzinfo else m.replace(tzinfo=timezone.utc) for m in due.values() if m is not None]
    return max(0.0, (now - min(moments)).total_seconds()) if moments else 0.0


# ---- timers -------------------------------------------------------------------------------------

def _fire_timers(db: Database, report: TickReport) -> None:
    seen: set[int] = set()
    while True:
        due = [i for i in commands.query(db, instances.due_timer_instances) if i not in seen]
        if not due:
            return
        for instance_id in due:
            seen.add(instance_id)
            try:
                if commands.execute(db, _fire_if_due, instance_id):
                    report.fired.append(instance_id)
            except Conflict:
                pass  # another scheduler or a user changed it meanwhile; still due -> next pass
            except EngineError as error:
                report.failed.append((instance_id, error.message))
            except Exception as error:  # one broken instance must not stop the scheduler
                log.exception("firing the timers of instance %s failed", instance_id)
                report.failed.append((instance_id, f"{type(error).__name__}: {error}"))


def _fire_if_due(session: Session, instance_id: int) -> bool:
    claim = select(ProcessInstance.id).where(
        ProcessInstance.id == instance_id, ProcessInstance.next_timer_at <= clock.now(),
        ProcessInstance.state == instances.RUNNING)
    if session.scalar(leases.claim_rows(session, claim)) is None:
        return False  # fired by another scheduler meanwhile, or held by one right now
    return instances.fire_timers(session, instance_id)


# ---- batches ------------------------------------------------------------------------------------

@dataclass
class _Queued:
    claimed: int


def _queue_emails(session: Session, limit: int, exclude: Iterable[Any], settings: MailSettings) -> _Queued:
    # e-mail composition has no poison rows of its own (it renders stored parameters), so the
    # exclusion list of the generic loop is not needed here
    return _Queued(notifications.queue_emails(session, settings.language, settings.app_url, limit))


def _drain(db: Database, step: Callable[..., Any], batch_size: int, report: TickReport,
           label: str, *extra: Any) -> list[Any]:
    """Run `step` batch after batch until it claims nothing; on PostgreSQL with WORKERS
    connections at once (SKIP LOCKED claims keep them apart), so that one's database time
    overlaps the other's Python time. A batch that raises is retried with batches of one; a
    single row that still fails is reported and skipped for the rest of the pass."""
    state = _Drain(db, step, batch_size, report, label, extra)
    workers = 1 if db.is_sqlite else WORKERS
    # one batch first: most passes find little or nothing, and need no second connection
    first = state.work(batches=1)
    if first is None:
        return state.results
    if not first or workers == 1:
        state.work()
        return state.results
    # each thread runs in a copy of this context: the pass's frozen engine time goes along
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(state.work,))
               for _ in range(workers - 1)]
    for thread in threads:
        thread.start()
    state.work()
    for thread in threads:
        thread.join()
    return state.results


class _Drain:
    def __init__(self, db: Database, step: Callable[..., Any], batch_size: int,
                 report: TickReport, label: str, extra: tuple[Any, ...]) -> None:
        self.db, self.step, self.batch_size, self.report, self.label, self.extra = \
            db, step, batch_size, report, label, extra
        self.results: list[Any] = []
        self.exclude: list[Any] = []
        self.lock = threading.Lock()

    def work(self, batches: int = MAX_BATCHES) -> bool | None:
        """Batches until one claims nothing, at most `batches`. None: nothing is left (or the
        step cannot go on); True: stopped at the limit after a full batch (likely more to do);
        False: stopped at the limit after a partial one."""
        size, full = self.batch_size, False
        for _ in range(batches):
            with self.lock:
                exclude = tuple(self.exclude)
            try:
                done = commands.execute(self.db, self.step, size, exclude, *self.extra)
            except Exception as error:  # a Conflict too: a row changed under us is due next pass
                if size > 1:
                    size = 1
                    continue
                if not self._skip(error, exclude):
                    return None
                continue
            if not done.claimed:
                return None
            with self.lock:
                self.results.append(done)
            full, size = done.claimed >= size, self.batch_size
        if batches == MAX_BATCHES:
            self.report.problems.append(f"{self.label}: stopped after {MAX_BATCHES} batches")
        return full

    def _skip(self, error: Exception, exclude: tuple[Any, ...]) -> bool:
        """Report the failing row and leave it out; False if it cannot be told apart."""
        key = _first_due(self.db, self.step, list(exclude))
        with self.lock:
            if key is None:
                self.report.problems.append(f"{self.label}: {type(error).__name__}: {error}")
                return False
            if key not in self.exclude:
                log.error("%s: %s failed", self.label, key, exc_info=error)
                self.report.problems.append(f"{self.label}: {key}: {type(error).__name__}: {error}")
                self.exclude.append(key)
        return True


def _first_due(db: Database, step: Callable[..., Any], exclude: list[Any]) -> Any:
    """The key of the row a batch of one of `step` would claim (to skip it after it failed)."""
    peek = {escalation.send_reminders: escalation.first_reminder_due,
            escalation.escalate_overdue: escalation.first_escalation_due,
            stuck_instances.mark_stuck: stuck_instances.first_due}.get(step)
    return commands.query(db, peek, exclude) if peek else None


# ---- the long-running process -------------------------------------------------------------------

_CONTEXT: dict[str, Any] = {}


def scheduled_pass() -> TickReport:
    """The APScheduler job. It takes no arguments, so nothing (no database URL with a
    password, no SMTP password) is pickled into the job store: each scheduler process registers
    its own database and mail settings before it starts. The pass runs under a request id of its
    own (its audit events carry it) between two heartbeats."""
    db, me = _CONTEXT["db"], _CONTEXT.get("me")
    with tracing.bound(tracing.new_id("pass-")):
        _beat(db, heartbeat.pass_started, me)
        started = time.perf_counter()
        try:
            report = tick(db, _CONTEXT["mail"])
        except Exception as error:
            _beat(db, heartbeat.pass_ended, me, time.perf_counter() - started, None, f"{type(error).__name__}: {error}")
            raise
        seconds = time.perf_counter() - started
        _beat(db, heartbeat.pass_ended, me, seconds, report.lag_seconds, report.first_error())
        _log_pass(report, seconds)
        return report


def _beat(db: Database, step: Callable[..., None], me: heartbeat.Identity | None, *args: Any) -> None:
    if me is None:
        return
    try:
        commands.execute(db, step, me, *args)
    except Exception:  # the pass itself matters more than its heartbeat; a silent row will show
        log.exception("writing the scheduler heartbeat failed")


def _log_pass(report: TickReport, seconds: float) -> None:
    figures = {"duration_ms": round(seconds * 1000, 1), "lag_seconds": round(report.lag_seconds, 1),
               "fired": len(report.fired), "failed": len(report.failed), "reminded": len(report.reminded),
               "overdue": len(report.overdue), "escalated": len(report.escalated), "stuck": len(report.stuck),
               "problems": len(report.problems), "emailed": report.notifications_emailed}
    if not report.busy:
        log.debug("scheduler pass: nothing due", extra=figures)
        return
    level = logging.WARNING if report.failed or report.problems else logging.INFO
    for line in report.lines():
        log.log(level, line, extra=figures)


def identity(interval: int, scheduler_id: str | None = None) -> heartbeat.Identity:
    """This process as its heartbeat row names it: `scheduler_id`, or host:pid."""
    host, pid = socket.gethostname(), os.getpid()
    return heartbeat.Identity(scheduler_id or f"{host}:{pid}", host, pid, interval)


def run(db: Database, interval: int, mail: MailSettings | None = None, scheduler_id: str | None = None) -> None:
    """The scheduler process: a pass every `interval` seconds until stopped (Ctrl+C or SIGTERM),
    telling what it does through logging (logger `engine.scheduling.scheduler`)."""
    from apscheduler.events import EVENT_JOB_ERROR
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler

    me = identity(interval, scheduler_id)
    # APScheduler's own "running job ... executed" lines, twice an interval, say less than ours
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))
    _CONTEXT.update(db=db, mail=mail or MailSettings(), me=me)
    runner = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=db.engine)}, timezone=timezone.utc,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    runner.add_job(scheduled_pass, "interval", seconds=interval, id=JOB_ID, replace_existing=True,
                   next_run_time=datetime.now(timezone.utc))
    # this process's own beat, kept out of the shared job store: every scheduler beats
    runner.add_jobstore(MemoryJobStore(), "local")
    runner.add_job(_beat, "interval", args=(db, heartbeat.alive, me), seconds=interval, jobstore="local")

    def _failed(event: Any) -> None:
        log.error("scheduler pass failed: %r", event.exception, exc_info=event.exception)

    runner.add_listener(_failed, EVENT_JOB_ERROR)
    mail_text = f"e-mail via {_CONTEXT['mail'].host}:{_CONTEXT['mail'].port}" \
        if _CONTEXT["mail"].configured else "e-mail off (SMTP_HOST not set)"
    _beat(db, heartbeat.announce, me)
    log.info(f"scheduler running, a pass every {interval} s, {mail_text} (Ctrl+C to stop)",
             extra={"scheduler": me.id})
    main = threading.current_thread() is threading.main_thread()
    stop = signal.getsignal(signal.SIGTERM)
    if main:
        signal.signal(signal.SIGTERM, _interrupt)  # a process manager's stop is a clean stop too
    try:
        runner.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, stop)
        _beat(db, heartbeat.stopped, me)
    log.info("scheduler stopped", extra={"scheduler": me.id})


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
