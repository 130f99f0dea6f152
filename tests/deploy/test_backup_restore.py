"""deploy/backup.sh and deploy/restore.sh on PostgreSQL: a dump taken while an instance waits
halfway, restored into another database with the attachments beside it, runs on there (the
instance completes); a restore into a database that holds tables is refused unless forced."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from engine.core.db import Database
from tests.conftest import ROOT
from tests.deploy.halfway import finish, start_halfway

DEPLOY = ROOT / "deploy"


def _run(script: str, url: str, files: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "ATTACHMENT_DIR": str(files / "attachments"),
           "ARCHIVE_DIR": str(files / "archive"), "BACKUP_KEEP_DAYS": "0"}
    return subprocess.run([str(DEPLOY / script), *args], env=env, capture_output=True, text=True, timeout=120)


def test_a_backup_restored_into_another_database_runs_on(postgres_database, tmp_path):
    # given an installation with an instance waiting halfway and an uploaded file
    source = Database(postgres_database("test_deploy_src"))
    target = Database(postgres_database("test_deploy_dst"))
    try:
        from tests.conftest import migrate
        migrate(source)
        waiting = start_halfway(source)
        (tmp_path / "live" / "attachments" / str(waiting)).mkdir(parents=True)
        (tmp_path / "live" / "attachments" / str(waiting) / "budget.pdf").write_bytes(b"%PDF-1.4 budget")
        # when it is backed up
        backup = _run("backup.sh", source.url, tmp_path / "live", str(tmp_path / "backups"))
        assert backup.returncode == 0, backup.stderr
        dump = Path(backup.stdout.strip())
        assert dump.is_file() and dump.with_suffix(".attachments.tar.gz").is_file()
        # and restored into another, empty database on another machine's folders
        restored = _run("restore.sh", target.url, tmp_path / "elsewhere", str(dump))
        assert restored.returncode == 0, restored.stderr
        # then the file is back and the instance completes on the restored database
        assert (tmp_path / "elsewhere" / "attachments" / str(waiting) / "budget.pdf").read_bytes() == b"%PDF-1.4 budget"
        done = finish(target, waiting)
        assert done.state == "completed" and json.loads(done.data)["recorded"] == "approve-recorded"
        # and the source still waits: the two databases are apart
        finish(source, waiting)
        # a second restore over the running database is refused, and forced replaces it
        refused = _run("restore.sh", target.url, tmp_path / "elsewhere", str(dump))
        assert refused.returncode == 1 and "--force" in refused.stderr
        target.engine.dispose()
        forced = _run("restore.sh", target.url, tmp_path / "elsewhere", "--force", str(dump))
        assert forced.returncode == 0, forced.stderr
        again = finish(target, waiting)
        assert again.state == "completed"
    finally:
        source.engine.dispose()
        target.engine.dispose()


def test_backup_refuses_a_database_that_is_not_postgresql(tmp_path):
    result = _run("backup.sh", f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path, str(tmp_path / "b"))
    assert result.returncode == 2 and "PostgreSQL" in result.stderr
