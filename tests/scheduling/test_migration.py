"""Migration 0007 (the scheduler's) matches the models it serves (columns, partial indexes), and goes down and up
again on a database that already has open tasks, which it schedules from their due dates."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from engine.schema import Base

OURS = ("human_tasks", "notifications", "mail_outbox", "instance_watches", "apscheduler_jobs")


def test_the_migrated_schema_matches_the_scheduler_models(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert [d for d in differences if any(f"'{table}'" in repr(d) for table in OURS)] == []


@pytest.mark.slow
def test_downgrade_and_upgrade_keep_existing_open_tasks_scheduled(tmp_path):
    import flask_migrate

    from web import create_app
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}", "TESTING": True})
    migrations = str(app.root_path.replace("/web", "") + "/migrations")
    with app.app_context():
        flask_migrate.upgrade(directory=migrations, revision="0001")
        engine = app.extensions["engine_db"].engine
        due = datetime(2027, 3, 1, 10, tzinfo=timezone.utc).replace(tzinfo=None)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO deployments (id, deployed_at, files) VALUES (1, :t, '[]')"), {"t": due})
            conn.execute(text("INSERT INTO process_definitions (id, key, version, name, content_hash, spec, meta, "
                              "source_files, deployment_id, deployed_at) VALUES (1, 'p', 1, 'p', 'h', '{}', '{}', '[]', 1, :t)"),
                         {"t": due})
            conn.execute(text("INSERT INTO process_instances (id, definition_id, process_key, version, state, revision, "
                              "document, data, started_at, updated_at) VALUES (1, 1, 'p', 1, 'running', 1, '{}', '{}', :t, :t)"),
                         {"t": due})
            conn.execute(text("INSERT INTO human_tasks (id, process_instance_id, process_key, name, title, state, "
                              "candidate_groups, candidate_users, created_at, due_at) VALUES "
                              "('t1', 1, 'p', 'review', 'Review', 'open', '[]', '[]', :t, :t)"), {"t": due})
        flask_migrate.upgrade(directory=migrations, revision="0007")
        with engine.connect() as conn:
            row = conn.execute(text("SELECT next_escalation_at, escalation_level FROM human_tasks")).one()
            watched = conn.execute(text("SELECT instance_id FROM instance_watches")).scalars().all()
        assert row[0] is not None and row[1] == 0 and watched == [1]
        flask_migrate.downgrade(directory=migrations, revision="0001")
        assert "notifications" not in inspect(engine).get_table_names()
        assert "next_escalation_at" not in {c["name"] for c in inspect(engine).get_columns("human_tasks")}
        flask_migrate.upgrade(directory=migrations, revision="0007")
        assert {"notifications", "mail_outbox", "instance_watches", "apscheduler_jobs"} <= \
            set(inspect(engine).get_table_names())
    engine.dispose()
