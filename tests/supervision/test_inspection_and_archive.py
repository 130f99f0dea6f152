"""Instance detail for supervisors (timeline, data history, the token's path) and history
retention: ended instances are archived to files in batches, removed from the live tables, and
stay findable and readable."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.supervision import archive, inspection, interventions
from engine.core import clock, commands
from engine.workspace import comments
from engine.core.errors import Conflict, Forbidden, NotFound
from engine.core.models import AuditEvent, HumanTask, ProcessInstance

from .helpers import BOSS, MONDAY, OFFICER, FailingTrigger, complete, open_task, plan, start


def test_the_timeline_has_every_audit_event_in_order(processes):
    instance = start(processes, "grant", {"title": "T"})
    complete(processes, instance, plan(years=0), MONDAY + timedelta(hours=1))
    events, total = commands.query(processes, inspection.timeline, BOSS, instance)
    actions = [e.action for e in events]
    assert total == len(events) and actions[0] == "instance_started"
    assert actions.index("task_completed") < actions.index("instance_error")
    with pytest.raises(Forbidden):
        commands.query(processes, inspection.timeline, OFFICER, instance)


def test_the_data_history_shows_each_value_and_who_changed_it(processes):
    # given a title entered at the start, changed on the planning task, and a failed script
    instance = start(processes, "grant", {"title": "First title"})
    complete(processes, instance, plan("Better title", years=0), MONDAY + timedelta(hours=1))
    with clock.frozen_at(MONDAY + timedelta(hours=2)):
        commands.execute(processes, interventions.retry, BOSS, instance, {"years": 2}, "fix")
    history = commands.query(processes, inspection.data_history, BOSS, instance)
    keys = {k["key"]: k for k in history["keys"]}
    assert [(c["actor"], c["value"]) for c in keys["title"]["changes"]] == [
        ("ada", "First title"), ("olga", "Better title")]
    assert [(c["action"], c["value"]) for c in keys["years"]["changes"]] == [
        ("task_completed", 0), ("instance_retried", 2)]
    assert keys["years"]["current"] == 2 and not keys["years"]["changed_by_process"]
    # a value only the script wrote has no audited history
    assert keys["yearly"]["current"] == 50 and keys["yearly"]["changes"] == []


def test_the_token_path_lists_completed_elements_in_order(processes):
    instance = start(processes, "grant", {"title": "T"})
    complete(processes, instance, plan(), MONDAY + timedelta(hours=1))
    path = commands.query(processes, inspection.token_path, BOSS, instance)
    elements = [p["element"] for p in path["path"]]
    assert elements[:3] == ["start", "plan_budget", "per_year"]
    assert path["markers"]["current"] == ["approve"]


def _ended(db, count: int, ended_at):  # type: ignore[no-untyped-def]
    ids = []
    for n in range(count):
        instance = start(db, "grant", {"title": f"Old project {n}"})
        with clock.frozen_at(ended_at):
            commands.execute(db, comments.add, OFFICER, open_task(db, instance).id, "called the unit")
            commands.execute(db, interventions.terminate, BOSS, instance, "withdrawn")
        ids.append(instance)
    return ids


def _count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: s.scalar(select(func.count()).select_from(model).where(*where)))


def test_old_ended_instances_are_archived_in_batches_and_stay_readable(processes, tmp_path):
    # given five instances that ended on MONDAY, and a running one
    old = _ended(processes, 5, MONDAY)
    live = start(processes, "grant", {"title": "Still running"})
    # a dry run a year later counts them, changing nothing
    later = MONDAY + timedelta(days=400)
    with clock.frozen_at(later):
        planned = commands.query(processes, archive.plan, 365)
    assert planned.total == 5 and planned.by_process == {"grant": 5}
    assert _count(processes, ProcessInstance) == 6
    # when archived in batches of two
    seen: list[int] = []
    with clock.frozen_at(later):
        report = archive.run(processes, tmp_path, 365, batch_size=2, progress=seen.append)
    # then three files were written and the live tables keep only the running instance
    assert report.archived == 5 and seen == [2, 2, 1] and len(report.files) == 3
    assert _count(processes, ProcessInstance) == 1
    assert _count(processes, HumanTask, HumanTask.process_instance_id.in_(old)) == 0
    assert _count(processes, AuditEvent, AuditEvent.process_instance_id.in_(old)) == 0
    assert _count(processes, AuditEvent, AuditEvent.process_instance_id == live) > 0
    assert _count(processes, AuditEvent, AuditEvent.action == "instances_archived") == 3
    # and an archived project is found by its title and read back whole
    rows, total = commands.query(processes, archive.search, BOSS, archive.Search(q="old project 3"))
    assert total == 1 and rows[0].instance_id == old[3] and rows[0].state == "terminated"
    record = commands.query(processes, archive.read, BOSS, tmp_path, rows[0].id)
    assert record["instance"]["id"] == old[3] and record["title"] == "Old project 3"
    actions = [e["action"] for e in record["audit"]]
    assert actions[0] == "instance_started" and "instance_terminated" in actions
    assert record["tasks"][0]["name"] == "plan_budget"
    assert record["related"]["task_comments"][0]["body"] == "called the unit"
    assert record["data"]["title"] == "Old project 3"
    # a second run finds nothing more to do
    with clock.frozen_at(later):
        assert archive.run(processes, tmp_path, 365).archived == 0


def test_a_tampered_archive_line_is_refused_and_only_supervisors_read_the_archive(processes, tmp_path):
    _ended(processes, 1, MONDAY)
    with clock.frozen_at(MONDAY + timedelta(days=2)):
        report = archive.run(processes, tmp_path, 1)
    [row], _ = commands.query(processes, archive.search, BOSS, archive.Search())
    with pytest.raises(Forbidden):
        commands.query(processes, archive.search, OFFICER, archive.Search())
    with pytest.raises(NotFound):
        commands.query(processes, archive.read, BOSS, tmp_path, row.id + 1)
    path = tmp_path / report.files[0]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Old project 0", "Old project X"), encoding="utf-8")
    with pytest.raises(Conflict):
        commands.query(processes, archive.read, BOSS, tmp_path, row.id)


def test_a_batch_that_fails_leaves_no_file_and_no_change(processes, tmp_path):
    _ended(processes, 2, MONDAY)
    # given a database that refuses the index rows after the file was written
    trigger = FailingTrigger(processes, "fail_archive", "archived_instances", "1 = 1")
    try:
        with clock.frozen_at(MONDAY + timedelta(days=2)), pytest.raises(Exception, match="disk full"):
            archive.run(processes, tmp_path, 1)
    finally:
        trigger.drop()
    # then the file is gone and every live row is still there
    assert not list(tmp_path.rglob("*.jsonl"))
    assert _count(processes, ProcessInstance) == 2 and _count(processes, archive.ArchivedInstance) == 0
    assert _count(processes, AuditEvent, AuditEvent.action == "instance_terminated") == 2


def test_the_cli_archives_with_a_dry_run_first(processes, runner, app, tmp_path):
    _ended(processes, 3, MONDAY)
    app.config["ARCHIVE_DIR"] = str(tmp_path)
    with clock.frozen_at(MONDAY + timedelta(days=40)):
        result = runner.invoke(args=["supervisor", "archive", "--older-than-days", "30", "--dry-run"])
        assert result.exit_code == 0, result.output
        assert "3 instance(s)" in result.output and "grant: 3" in result.output
        assert _count(processes, ProcessInstance) == 3
        result = runner.invoke(args=["supervisor", "archive", "--older-than-days", "30"])
    assert result.exit_code == 0, result.output
    assert "archived 3 instance(s)" in result.output
    assert _count(processes, ProcessInstance) == 0
    lines = [json.loads(line) for f in tmp_path.rglob("*.jsonl") for line in f.read_text().splitlines()]
    assert sorted(r["title"] for r in lines) == ["Old project 0", "Old project 1", "Old project 2"]
    result = runner.invoke(args=["supervisor", "archive", "--older-than-days", "-1"])
    assert result.exit_code != 0
