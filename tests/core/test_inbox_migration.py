"""Migration 0024_inbox fills the candidate rows' new columns (claimed, due date, creation, kind)
from the tasks already there, as the projection would have written them."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from engine.core import commands
from engine.core.db import Database
from engine.core.models import HumanTask, TaskCandidate
from engine.core.principals import Actor
from engine.runtime import projection, tasks
from tests.conftest import ROOT, migrate


def test_existing_candidate_rows_are_filled_from_their_tasks(tmp_path):
    from engine.definitions import deployment
    database = Database(f"sqlite:///{tmp_path / 'inbox.sqlite3'}")
    migrate(database)
    # given two open tasks for a group, one of them claimed, written at today's schema
    from engine.definitions.validation import collect_paths
    from engine.runtime import instances
    commands.execute(database, deployment.deploy, collect_paths([str(ROOT / "tests" / "web" / "fixtures")]), "test")
    zhang, wang = Actor("zhang", frozenset({"applicants"})), Actor("wang", frozenset({"institution_staff"}))
    for n in range(2):
        commands.execute(database, instances.start, zhang, "two_stages", {"title": f"Staged {n}"})
    first = commands.query(database, lambda s: s.scalars(select(HumanTask.id).order_by(HumanTask.id)).first())
    commands.execute(database, tasks.claim, wang, first)
    # when the schema goes back before 0024 and up again
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["engine"] = database.engine
    command.downgrade(config, "0019_perf")
    migrate(database)
    # then every candidate row says what its task says
    rows = commands.query(database, lambda s: s.execute(select(TaskCandidate, HumanTask).join(
        HumanTask, HumanTask.id == TaskCandidate.task_id)).all())
    assert len(rows) == 2
    for candidate, task in rows:
        assert (candidate.claimed, candidate.due_at, candidate.created_at, candidate.kind) == \
            (task.id == first, task.due_at, task.created_at, projection.kind_of(task.process_key, task.name, task.title))
    database.engine.dispose()
