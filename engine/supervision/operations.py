"""What operations watch: readiness (the database answers and its schema is at the newest
migration) and the figures /metrics exports (open and overdue tasks per process, running
instances and those in error, external-task incidents, messages and external tasks waiting, the
e-mail outbox's backlog, and each scheduler's heartbeat: its last pass and its lag). The migrations folder is given by the caller,
who knows where the application keeps it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.db import Database
from engine.core.principals import Actor, require_supervisor
from engine.core.models import HumanTask, ProcessInstance
from engine.runtime.subscriptions import EventSubscription
from engine.runtime.worker_tasks import OPEN, ExternalTaskRow
from engine.notify.notifications import OutboxMessage
from engine.scheduling import heartbeat


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str


def readiness(db: Database, migrations: Path) -> Readiness:
    """Ready when a query answers and the schema's revisions are exactly the scripts' heads."""
    config = Config()
    config.set_main_option("script_location", str(migrations))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    try:
        with db.read() as session:
            current = set(MigrationContext.configure(session.connection()).get_current_heads())
    except SQLAlchemyError as error:
        return Readiness(False, f"the database does not answer: {type(error).__name__}")
    if current != heads:
        return Readiness(False, f"the schema is at {sorted(current) or 'no revision'}, "
                                f"the migrations at {sorted(heads)}: run `flask --app web db upgrade`")
    return Readiness(True, "ok")


@dataclass(frozen=True)
class Figures:
    open_tasks: int
    running_instances: int
    error_instances: int
    external_tasks_open: int
    external_task_incidents: int
    message_subscriptions: int
    open_tasks_by_process: dict[str, int] = field(default_factory=dict)
    overdue_tasks_by_process: dict[str, int] = field(default_factory=dict)
    outbox_backlog: int = 0  # e-mails not sent yet (queued, or waiting to be retried)
    schedulers: list[heartbeat.SchedulerState] = field(default_factory=list)


def figures(session: Session) -> Figures:
    def count(query):  # type: ignore[no-untyped-def]
        return session.scalar(query) or 0
    open_rows = select(HumanTask.process_key, func.count()).where(HumanTask.state == "open") \
        .group_by(HumanTask.process_key)
    open_by_process = {key: n for key, n in session.execute(open_rows)}
    overdue = {key: n for key, n in session.execute(open_rows.where(HumanTask.due_at < clock.now()))}
    return Figures(
        open_tasks=sum(open_by_process.values()),
        running_instances=count(select(func.count()).select_from(ProcessInstance)
                                .where(ProcessInstance.state == "running")),
        error_instances=count(select(func.count()).select_from(ProcessInstance)
                              .where(ProcessInstance.state == "error")),
        external_tasks_open=count(select(func.count()).select_from(ExternalTaskRow)
                                  .where(ExternalTaskRow.state == OPEN)),
        external_task_incidents=count(select(func.count()).select_from(ExternalTaskRow)
                                      .where(ExternalTaskRow.state == OPEN, ExternalTaskRow.retries == 0)),
        message_subscriptions=count(select(func.count()).select_from(EventSubscription)),
        open_tasks_by_process=open_by_process,
        overdue_tasks_by_process={key: overdue.get(key, 0) for key in open_by_process},
        # an unsent e-mail has its next attempt's time (the partial index holds only those)
        outbox_backlog=count(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.next_attempt_at.is_not(None))),
        schedulers=heartbeat.schedulers(session))


# ---- the schedulers as the supervisor console shows them -----------------------------------------

SILENT_TEXT = {
    "zh_CN": "调度程序 {id}（主机 {host}，进程 {pid}）已 {minutes} 分钟没有心跳（应每 {interval} 秒一次）："
             "它负责的定时器、提醒、逾期升级和邮件可能无人处理。请检查该进程是否仍在运行。",
    "en": "The scheduler {id} (host {host}, process {pid}) has sent no heartbeat for {minutes} minutes "
          "(it should every {interval} s): the timers, reminders, escalations and e-mail it works may "
          "go unprocessed. Check that the process is still running.",
}
NONE_TEXT = {
    "zh_CN": "没有调度程序报告心跳：定时器、提醒、逾期升级和邮件都不会被处理。"
             "请启动 flask --app web scheduler run。",
    "en": "No scheduler has reported a heartbeat: timers, reminders, escalations and e-mail are not "
          "being processed. Start flask --app web scheduler run.",
}


@dataclass(frozen=True)
class SchedulerHealth:
    """`status`: ok (every scheduler beats), silent (at least one has gone quiet) or none (no
    scheduler has a row); `messages` say it in both languages, one per silent scheduler, or one
    when there is none."""
    status: str
    schedulers: list[heartbeat.SchedulerState]
    messages: list[dict[str, str]]


def silence_message(state: heartbeat.SchedulerState) -> dict[str, str]:
    values = {"id": state.id, "host": state.host, "pid": state.pid, "interval": state.interval_seconds,
              "minutes": max(1, round(state.silent_seconds / 60))}
    return {language: text.format(**values) for language, text in SILENT_TEXT.items()}


def scheduler_health(session: Session, actor: Actor) -> SchedulerHealth:
    """Supervisors: every scheduler's heartbeat, and whether one has gone silent."""
    require_supervisor(actor)
    states = heartbeat.schedulers(session)
    silent = [s for s in states if s.silent]
    if not states:
        return SchedulerHealth("none", [], [dict(NONE_TEXT)])
    return SchedulerHealth("silent" if silent else "ok", states, [silence_message(s) for s in silent])
