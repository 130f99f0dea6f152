"""The migration chain upgrades every database that exists: a new one, and one that an earlier
release left at its empty placeholder revisions (0002-0006), which must end with the same
schema as the models."""
from __future__ import annotations

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
