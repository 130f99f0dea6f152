"""`flask db copy --from sqlite:///... --to postgresql://...`: a trial installation moves to
PostgreSQL with everything in it (every table's rows, the demo's people, projects and instances)
and its work continues there; a target that is unmigrated or already holds data is refused with
a clear message and left untouched."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine import schema
from engine.core import commands
from engine.core.db import Database
from engine.core.models import ProcessInstance
from engine.core.principals import Actor
from engine.definitions import deployment
from engine.definitions.validation import collect_paths
from engine.demo import demo_data
from engine.runtime import instances, tasks
from tests.conftest import ROOT, migrate
from tests.deploy.halfway import REVIEWER, finish, start_halfway

TABLES = schema.Base.metadata.sorted_tables


def _counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in TABLES}


def _load_trial(db: Database) -> int:
    commands.execute(db, deployment.deploy, collect_paths([str(ROOT / "processes"), str(ROOT / "forms")]), "t")
    demo_data.load(db, [demo_data.PROJECTS[0], demo_data.PROJECTS[1]])
    return start_halfway(db)


def _flask_db_copy(source: str, target: str):  # type: ignore[no-untyped-def]
    from web import create_app
    app = create_app({"DATABASE_URL": source, "TESTING": True, "SECRET_KEY": "t"})
    return app.test_cli_runner().invoke(args=["db", "copy", "--from", source, "--to", target])


def test_a_trial_on_sqlite_moves_to_postgresql_with_everything_and_runs_on(sqlite_database, postgres_database):
    # given a trial installation on SQLite with the demo data and an instance waiting halfway
    waiting = _load_trial(sqlite_database)
    # and a freshly migrated, empty PostgreSQL database
    target = Database(postgres_database("test_deploy_copy"))
    try:
        migrate(target)
        # when the operator copies it
        result = _flask_db_copy(sqlite_database.url, target.url)
        assert result.exit_code == 0, result.output
        assert "copied" in result.output and "process_instances:" in result.output
        # then every table holds the same rows
        assert _counts(target) == _counts(sqlite_database)
        assert sum(_counts(target).values()) > 100
        # and the demo's people find their work where it was
        for actor in (Actor("li.na", frozenset({"applicants"})), Actor("xu.jing", frozenset({"recommender.binjiang"}))):
            for scope in ("assigned", "candidate"):
                assert commands.query(target, tasks.list_tasks, actor, scope).total == \
                    commands.query(sqlite_database, tasks.list_tasks, actor, scope).total
        # and the waiting instance completes on the copy
        done = finish(target, waiting)
        assert done.state == "completed" and json.loads(done.data)["recorded"] == "approve-recorded"
        # and new rows get fresh ids (the sequences moved past the copied ones)
        fresh = commands.execute(target, instances.start, REVIEWER, "simple_review", {"title": "new"})
        largest = commands.query(sqlite_database, lambda s: s.scalar(select(func.max(ProcessInstance.id))))
        assert fresh.id > largest
    finally:
        target.engine.dispose()


def test_an_unmigrated_or_non_empty_target_is_refused_and_left_untouched(sqlite_database, postgres_database):
    _load_trial(sqlite_database)
    target = Database(postgres_database("test_deploy_copy_refused"))
    try:
        # an unmigrated target: told to run db upgrade, nothing created
        result = _flask_db_copy(sqlite_database.url, target.url)
        assert result.exit_code == 1
        assert "unmigrated" in result.output
        assert "db upgrade" in result.output and "nothing was copied" in result.output
        # a target that already holds data: refused, its rows unchanged
        migrate(target)
        start_halfway(target)
        before = _counts(target)
        result = _flask_db_copy(sqlite_database.url, target.url)
        assert result.exit_code == 1 and "not empty" in result.output, result.output
        assert _counts(target) == before
    finally:
        target.engine.dispose()


def test_the_copy_works_between_any_two_databases_and_refuses_tables_it_does_not_know(tmp_path, sqlite_database):
    """Without PostgreSQL too: SQLite into SQLite, every row; a source carrying a table this
    version has no model for is refused, since its rows would be left behind."""
    from sqlalchemy import text

    from engine.core import db_copy
    start_halfway(sqlite_database)
    target = Database(f"sqlite:///{tmp_path / 'copy.sqlite3'}")
    try:
        migrate(target)
        heard: list[int] = []
        counts = db_copy.copy(sqlite_database.url, target.url, schema.Base.metadata, on_rows=heard.append)
        assert {c.table: c.rows for c in counts} == _counts(sqlite_database) == _counts(target)
        assert sum(heard) == sum(c.rows for c in counts) > 0
        with sqlite_database.engine.begin() as conn:
            conn.execute(text("CREATE TABLE local_notes (id INTEGER PRIMARY KEY)"))
        fresh = Database(f"sqlite:///{tmp_path / 'copy2.sqlite3'}")
        migrate(fresh)
        try:
            with pytest.raises(db_copy.CopyRefused, match="local_notes"):
                db_copy.check(sqlite_database.url, fresh.url, schema.Base.metadata)
        finally:
            fresh.engine.dispose()
    finally:
        target.engine.dispose()
