"""The migration chain upgrades every database that exists: a new one, and one that an earlier
release left at its empty placeholder revisions (0002-0006), which must end with the same
schema as the models."""
from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from engine.schema import Base
from tests.conftest import ROOT


@pytest.mark.slow
def test_a_database_at_the_released_placeholder_upgrades_to_the_full_schema(tmp_path):
    import flask_migrate

    from web import create_app
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}", "TESTING": True})
    with app.app_context():
        # given a database left at the last revision of the earlier release
        flask_migrate.upgrade(directory=str(ROOT / "migrations"), revision="0006")
        engine = app.extensions["engine_db"].engine
        assert "process_drafts" not in inspect(engine).get_table_names()
        # when it is upgraded, then every table of today's models is there, as the models say
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        tables = set(inspect(engine).get_table_names())
        assert {"process_drafts", "notifications", "projects", "instance_summaries", "archived_instances"} <= tables
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}),
                                           Base.metadata)
        assert [d for d in differences if d[0] in ("add_table", "remove_table")] == []
        engine.dispose()


def test_instances_survive_moving_their_finished_tasks_out_of_the_document_and_back(tmp_path):
    import flask_migrate

    from engine.core import commands
    from engine.definitions import deployment
    from engine.runtime import fragments, instances, store, tasks
    from engine.core.principals import Actor
    from tests.conftest import read_fixture
    from web import create_app
    alice = Actor("alice", frozenset())
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'f.sqlite3'}", "TESTING": True})
    migrations = str(ROOT / "migrations")
    db = app.extensions["engine_db"]

    def next_round(instance_id: int, finished: bool) -> None:
        [task] = commands.query(db, tasks.open_tasks, instance_id)
        commands.execute(db, tasks.complete, alice, task.id, {"finished": finished})

    with app.app_context():
        # given an instance three rounds into a loop, its finished tasks stored apart
        flask_migrate.upgrade(directory=migrations)
        commands.execute(db, deployment.deploy, read_fixture("bpmn/loop.bpmn"), "test")
        instance_id = commands.execute(db, instances.start, alice, "loop", {}).id
        for _ in range(3):
            next_round(instance_id, False)
        apart = len(commands.query(db, fragments.read_state, instance_id)[1])
        assert apart > 5
        # when the database goes back to the release before, then the document holds them all
        flask_migrate.downgrade(directory=migrations, revision="0011")
        assert "workflow_fragments" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            document = conn.exec_driver_sql("SELECT document FROM process_instances").scalar_one()
        assert len(json.loads(document)["tasks"]) > apart
        # and when it comes forward again, the instance goes on from that whole document
        flask_migrate.upgrade(directory=migrations)
        store.CACHE.clear()
        next_round(instance_id, False)
        store.CACHE.clear()
        next_round(instance_id, True)
        instance = commands.query(db, instances.get, instance_id)
        assert instance.state == "completed" and instances.data_of(instance)["count"] == 5
    db.engine.dispose()
