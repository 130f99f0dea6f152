"""Engine commands as rules: concurrency, crashes, BPMN-level failures and retry, version
pinning, timers at engine time, the loop-depth guard, and who may start a process."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from engine.core import clock, commands
from engine.runtime import finished_tasks, instances, store, tasks
from engine.scheduling import scheduler
from engine.core.errors import Conflict, Forbidden, InvalidData
from engine.core.models import AuditEvent, HumanTask, ProcessInstance
from engine.core.principals import Actor

SIMPLE = ("bpmn/simple_review.bpmn", "forms/simple_decision.form")
ALICE = Actor("alice", frozenset({"applicants"}))
RITA = Actor("rita", frozenset({"reviewers"}))
BOSS = Actor("boss", frozenset({"supervisors"}))


def _start(db, key: str, actor: Actor = ALICE, data: dict | None = None) -> int:
    return commands.execute(db, instances.start, actor, key, data or {}).id


def _open(db, instance_id: int) -> list[HumanTask]:
    return commands.query(db, tasks.open_tasks, instance_id)


def _snapshot(db, instance_id: int) -> tuple:
    def read(session):
        row = session.get(ProcessInstance, instance_id)
        human = session.execute(select(HumanTask.id, HumanTask.state, HumanTask.assignee)
                                .where(HumanTask.process_instance_id == instance_id)
                                .order_by(HumanTask.id)).all()
        audits = session.scalar(select(text("count(*)")).select_from(AuditEvent))
        return row.revision, row.state, row.document, tuple(human), audits, \
            tuple(sorted(finished_tasks.read_state(session, instance_id)[1]))
    return commands.query(db, read)


def test_ten_threads_completing_one_task_exactly_one_wins(db, deploy):
    deploy(*SIMPLE)
    instance_id = _start(db, "simple_review")
    [task] = _open(db, instance_id)
    barrier, outcomes = threading.Barrier(10), []

    def worker(n: int) -> None:
        actor = Actor(f"r{n}", frozenset({"reviewers"}))
        barrier.wait()
        try:
            commands.execute(db, tasks.complete, actor, task.id, {"decision": "approve"})
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")
        except Forbidden:
            outcomes.append("forbidden")  # someone else's completion already assigned it

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1 and len(outcomes) == 10
    assert commands.query(db, lambda s: s.get(ProcessInstance, instance_id).state) == "completed"
    completions = commands.query(db, lambda s: s.scalar(select(text("count(*)")).select_from(AuditEvent)
                                                        .where(AuditEvent.action == "task_completed")))
    assert completions == 1


def _install_failing_trigger(db) -> None:
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("CREATE TRIGGER fail_completion BEFORE INSERT ON audit_events "
                              "WHEN NEW.action = 'task_completed' BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
        else:
            conn.execute(text("CREATE FUNCTION fail_completion() RETURNS trigger AS $$ BEGIN "
                              "IF NEW.action = 'task_completed' THEN RAISE EXCEPTION 'disk full'; END IF; "
                              "RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER fail_completion BEFORE INSERT ON audit_events "
                              "FOR EACH ROW EXECUTE FUNCTION fail_completion()"))


def _drop_failing_trigger(db) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER fail_completion" + ("" if db.is_sqlite else " ON audit_events")))
        if not db.is_sqlite:
            conn.execute(text("DROP FUNCTION fail_completion()"))


def test_a_database_error_in_the_middle_of_a_completion_leaves_the_instance_as_it_was(db, deploy):
    deploy(*SIMPLE)
    instance_id = _start(db, "simple_review")
    [task] = _open(db, instance_id)
    before = _snapshot(db, instance_id)
    _install_failing_trigger(db)
    try:
        with pytest.raises(Exception, match="disk full"):
            commands.execute(db, tasks.complete, RITA, task.id, {"decision": "approve"})
    finally:
        _drop_failing_trigger(db)
    assert _snapshot(db, instance_id) == before
    # and the same completion goes through once the database is well again
    commands.execute(db, tasks.complete, RITA, task.id, {"decision": "approve"})
    assert commands.query(db, lambda s: s.get(ProcessInstance, instance_id).state) == "completed"


KILLER = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.orm import Session
from engine.core import commands
from engine.runtime import tasks
from engine.core.db import Database
from engine.core.principals import Actor

@event.listens_for(Session, "after_flush")
def _die(session, context):
    # the completion's writes are in the database's transaction, not yet committed
    os.kill(os.getpid(), signal.SIGKILL)

db = Database(sys.argv[1])
commands.execute(db, tasks.complete, Actor("rita", frozenset({"reviewers"})), sys.argv[2], {"decision": "approve"})
print("not killed")
"""


def test_a_process_killed_in_the_middle_of_a_completion_leaves_the_instance_as_it_was(db, deploy, database_url, tmp_path):
    import subprocess
    import sys
    deploy(*SIMPLE)
    instance_id = _start(db, "simple_review")
    [task] = _open(db, instance_id)
    before = _snapshot(db, instance_id)
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    result = subprocess.run([sys.executable, str(script), database_url, task.id],
                            capture_output=True, text=True, timeout=120, cwd=str(tmp_path.parent),
                            env={"PYTHONPATH": str(__import__("tests.conftest").conftest.ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == -9, result.stderr
    assert _snapshot(db, instance_id) == before
    commands.execute(db, tasks.complete, RITA, task.id, {"decision": "approve"})
    assert commands.query(db, lambda s: s.get(ProcessInstance, instance_id).state) == "completed"


def test_a_script_failing_after_a_valid_completion_keeps_it_and_marks_the_instance_error(db, deploy):
    deploy("bpmn/script_error.bpmn")
    instance_id = _start(db, "divide")
    [enter] = _open(db, instance_id)
    commands.execute(db, tasks.complete, ALICE, enter.id, {"divisor": 0})
    instance = commands.query(db, instances.get, instance_id)
    assert instance.state == "error" and instance.error_element == "compute"
    assert "ZeroDivisionError" in instance.error_message or "division" in instance.error_message
    completed = commands.query(db, tasks.get, enter.id)
    assert completed.state == "completed" and completed.completed_by == "alice"
    assert _open(db, instance_id) == []
    # when a supervisor corrects the data and retries, the instance moves on
    with pytest.raises(Forbidden):
        commands.execute(db, instances.retry, ALICE, instance_id, {"divisor": 4}, "fix")
    with pytest.raises(InvalidData):
        commands.execute(db, instances.retry, BOSS, instance_id, {"divisor": 4}, "")
    commands.execute(db, instances.retry, BOSS, instance_id, {"divisor": 4}, "divisor was zero")
    instance = commands.query(db, instances.get, instance_id)
    assert instance.state == "running" and instance.error_element is None
    [confirm] = _open(db, instance_id)
    assert confirm.name == "confirm"
    assert commands.query(db, lambda s: instances.data_of(instances.get(s, instance_id)))["share"] == 25


def test_a_sandbox_violation_at_run_time_is_an_instance_error_not_a_crash(db, deploy):
    deploy("bpmn/script_error.bpmn")
    instance_id = _start(db, "divide")
    [enter] = _open(db, instance_id)
    commands.execute(db, tasks.complete, ALICE, enter.id, {"divisor": "x"})
    instance = commands.query(db, instances.get, instance_id)
    assert instance.state == "error" and instance.error_element == "compute"


def test_an_instance_keeps_its_version_after_a_redeploy(db, deploy, tmp_path):
    from engine.definitions import deployment
    deploy(*SIMPLE)
    old_id = _start(db, "simple_review")
    source = (__import__("tests.conftest").conftest.FIXTURES / SIMPLE[0]).read_bytes()
    changed = source.replace(b'camunda:candidateGroups="reviewers"', b'camunda:candidateGroups="experts"')
    commands.execute(db, deployment.deploy, [("simple_review.bpmn", changed)], "test")
    new_id = _start(db, "simple_review")
    old, new = commands.query(db, instances.get, old_id), commands.query(db, instances.get, new_id)
    assert (old.version, new.version) == (1, 2)
    assert _open(db, old_id)[0].candidate_groups == ["reviewers"]
    assert _open(db, new_id)[0].candidate_groups == ["experts"]
    store.CACHE.clear()  # the old instance also completes on its old spec from the database
    commands.execute(db, tasks.complete, RITA, _open(db, old_id)[0].id, {"decision": "approve"})
    assert commands.query(db, instances.get, old_id).state == "completed"


def test_a_timer_fires_at_the_right_engine_time(db, deploy):
    deploy("bpmn/timer_wait.bpmn")
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    with clock.frozen_at(t0):
        instance_id = _start(db, "timer_wait")
    instance = commands.query(db, instances.get, instance_id)
    assert instance.next_timer_at == t0 + timedelta(days=2)
    assert _open(db, instance_id) == []
    with clock.frozen_at(t0 + timedelta(days=1, hours=23)):
        assert scheduler.tick(db).fired == []
    assert _open(db, instance_id) == []
    with clock.frozen_at(t0 + timedelta(days=2, seconds=1)):
        assert scheduler.tick(db).fired == [instance_id]
    [task] = _open(db, instance_id)
    assert task.name == "after_wait" and task.assignee == "alice"
    assert commands.query(db, instances.get, instance_id).next_timer_at is None


def test_the_scheduler_tick_command_takes_now(runner, db, deploy):
    deploy("bpmn/timer_wait.bpmn")
    with clock.frozen_at(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)):
        instance_id = _start(db, "timer_wait")
    early = runner.invoke(args=["scheduler", "tick", "--now", "2026-03-03T09:00:00+00:00"])
    assert early.exit_code == 0 and "0 instance(s)" in early.output
    late = runner.invoke(args=["scheduler", "tick", "--now", "2026-03-04T09:00:01+00:00"])
    assert f"fired timers of instance {instance_id}" in late.output
    assert runner.invoke(args=["scheduler", "tick", "--now", "yesterday"]).exit_code == 1


@pytest.mark.slow
def test_a_loop_that_would_exceed_spiffworkflows_depth_limit_stops_with_a_clear_error(db, deploy):
    deploy("bpmn/loop.bpmn")
    instance_id = _start(db, "loop")
    for _ in range(400):
        open_tasks = _open(db, instance_id)
        if not open_tasks:
            break
        commands.execute(db, tasks.complete, ALICE, open_tasks[0].id, {"finished": False})
    instance = commands.query(db, instances.get, instance_id)
    # never a silent "completed": SpiffWorkflow's iterator would have ended the workflow
    assert instance.state == "error" and "loop" in instance.error_message


def test_a_restricted_process_refuses_other_starters(db, deploy):
    from engine.core.errors import NotFound
    deploy("bpmn/simple_review.bpmn", "forms/simple_decision.form")
    with pytest.raises(NotFound):
        _start(db, "no_such_process")
    root = __import__("tests.conftest").conftest.ROOT
    from engine.definitions import deployment
    from engine.definitions.validation import collect_paths
    commands.execute(db, deployment.deploy, collect_paths([str(root / "processes"), str(root / "forms")]), "t")
    with pytest.raises(Forbidden):
        _start(db, "application_formal_review", RITA, {})


def test_start_data_is_checked_against_the_start_form(db):
    from engine.definitions import deployment
    from engine.definitions.validation import collect_paths
    root = __import__("tests.conftest").conftest.ROOT
    commands.execute(db, deployment.deploy, collect_paths([str(root / "processes"), str(root / "forms")]), "t")
    with pytest.raises(InvalidData) as refused:
        _start(db, "application_formal_review", ALICE, {"title": "x", "budget": -1})
    assert {"title", "budget", "abstract", "integrity_pledge"} <= set(refused.value.fields)
    assert commands.query(db, lambda s: s.scalar(select(text("count(*)")).select_from(ProcessInstance))) == 0


def test_dates_and_decimals_left_by_a_script_survive_saving_and_loading(db, deploy, tmp_path):
    from engine.definitions import deployment
    source = (__import__("tests.conftest").conftest.FIXTURES / "bpmn/script_error.bpmn").read_bytes()
    script = b"share = Decimal(100) / divisor\nwhen = date(2026, 10, 1)"
    changed = source.replace(b"share = 100 / divisor", script)
    commands.execute(db, deployment.deploy, [("divide.bpmn", changed)], "test")
    instance_id = _start(db, "divide")
    commands.execute(db, tasks.complete, ALICE, _open(db, instance_id)[0].id, {"divisor": 8})
    store.CACHE.clear()
    data = commands.query(db, lambda s: instances.data_of(instances.get(s, instance_id)))
    from datetime import date
    from decimal import Decimal
    assert data["share"] == Decimal("12.5") and data["when"] == date(2026, 10, 1)


def test_finished_tasks_are_stored_once_and_a_cold_load_puts_the_instance_back_together(db, deploy):
    # given a loop whose every round finishes a few more tasks
    deploy("bpmn/loop.bpmn")
    instance_id = _start(db, "loop")
    stored, documents = [], []
    for round_ in range(12):
        [task] = _open(db, instance_id)
        if round_ % 4 == 3:
            store.CACHE.clear()  # as after a restart: the workflow comes from the database
        commands.execute(db, tasks.complete, ALICE, task.id, {"finished": round_ == 11})
        stored.append(len(commands.query(db, finished_tasks.read_state, instance_id)[1]))
        documents.append(commands.query(db, lambda s: len(s.get(ProcessInstance, instance_id).document)))
    # then the instance ran every round, across the cold loads
    instance = commands.query(db, instances.get, instance_id)
    assert instance.state == "completed" and instances.data_of(instance)["count"] == 12
    # and the finished tasks went to their own rows while the document stayed the same size
    assert stored == sorted(stored) and stored[-1] >= stored[0] + 30
    assert max(documents[:-1]) - min(documents[:-1]) < 300
