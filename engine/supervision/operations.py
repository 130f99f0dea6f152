"""What operations watch: readiness (the database answers and its schema is at the newest
migration) and the figures /metrics exports (open tasks, running instances, external-task
incidents, messages and external tasks waiting). The migrations folder is given by the caller,
who knows where the application keeps it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine.core.db import Database
from engine.core.models import HumanTask, ProcessInstance
from engine.runtime.subscriptions import EventSubscription
from engine.runtime.worker_tasks import OPEN, ExternalTaskRow


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


def figures(session: Session) -> Figures:
    def count(query):  # type: ignore[no-untyped-def]
        return session.scalar(query) or 0
    return Figures(
        open_tasks=count(select(func.count()).select_from(HumanTask).where(HumanTask.state == "open")),
        running_instances=count(select(func.count()).select_from(ProcessInstance)
                                .where(ProcessInstance.state == "running")),
        error_instances=count(select(func.count()).select_from(ProcessInstance)
                              .where(ProcessInstance.state == "error")),
        external_tasks_open=count(select(func.count()).select_from(ExternalTaskRow)
                                  .where(ExternalTaskRow.state == OPEN)),
        external_task_incidents=count(select(func.count()).select_from(ExternalTaskRow)
                                      .where(ExternalTaskRow.state == OPEN, ExternalTaskRow.retries == 0)),
        message_subscriptions=count(select(func.count()).select_from(EventSubscription)))
