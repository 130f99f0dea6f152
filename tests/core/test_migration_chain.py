"""The migration history, one revision after another from an empty database, ends with the
schema the models describe, and goes back down to nothing and up again."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.config import Config
from sqlalchemy import inspect

from engine.core.db import Database
from engine.schema import Base
from tests.conftest import ROOT, migrate


def _revisions() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return [r.revision for r in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]


def _table_differences(database: Database) -> list[tuple]:  # type: ignore[type-arg]
    with database.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}),
                                       Base.metadata)
    return [d for d in differences if d[0] in ("add_table", "remove_table")]


def test_the_history_is_one_line_from_a_clean_start():
    revisions = _revisions()
    assert revisions[0] == "0001" and len(revisions) == len(set(revisions))


@pytest.mark.slow
def test_each_revision_upgrades_in_turn_to_the_models_schema_and_all_go_down_and_up_again(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'chain.sqlite3'}")
    # given an empty database, when every revision is applied one after another
    for revision in _revisions():
        migrate(database, revision)
    # then every table of today's models is there, as the models say
    tables = set(inspect(database.engine).get_table_names())
    assert {"process_drafts", "notifications", "projects", "instance_summaries", "archived_instances",
            "web_sessions", "attachments", "expert_ratings", "calls", "funds_ledger", "project_budgets"} <= tables
    assert _table_differences(database) == []
    # and the whole history goes down to nothing and up again
    from alembic import command
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["engine"] = database.engine
    command.downgrade(config, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    migrate(database)
    assert _table_differences(database) == []
    database.engine.dispose()
