"""An instance run halfway and finished later, on whichever database it has moved to: the simple
review (start -> review -> record -> end) started and claimed by a reviewer, then completed."""
from __future__ import annotations

from sqlalchemy import select

from engine.core import commands, users
from engine.core.db import Database
from engine.core.models import HumanTask, ProcessInstance
from engine.core.principals import Actor
from engine.definitions import deployment
from engine.runtime import instances, store, tasks
from tests.conftest import read_fixture

REVIEWER = Actor("rita", frozenset({"reviewers"}))


def start_halfway(db: Database) -> int:
    """Deployed, started, its review claimed: the instance waits in the middle."""
    commands.execute(db, users.create_user, "rita", "pw-secret", ["reviewers"], password_policy=False)
    commands.execute(db, deployment.deploy, read_fixture("bpmn/simple_review.bpmn", "forms/simple_decision.form"), "t")
    instance_id = commands.execute(db, instances.start, REVIEWER, "simple_review", {"title": "moved"}).id
    commands.execute(db, tasks.claim, REVIEWER, _open_task(db, instance_id))
    return instance_id


def finish(db: Database, instance_id: int) -> ProcessInstance:
    """Completes the waiting review; the process runs its script and ends."""
    store.CACHE.clear()  # a new process on the moved database starts with no cached workflow
    _, instance = commands.execute(db, tasks.complete, REVIEWER, _open_task(db, instance_id),
                                   {"decision": "approve"})
    return instance


def _open_task(db: Database, instance_id: int) -> str:
    return commands.query(db, lambda s: s.scalar(select(HumanTask.id).where(
        HumanTask.process_instance_id == instance_id, HumanTask.state == "open")))
