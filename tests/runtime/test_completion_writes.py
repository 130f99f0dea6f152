"""A completion reads the instance's open task rows once, with its task, and writes its rows
with few statements (engine/runtime/tasks.py `with_instance`, engine/runtime/projection.py):
the other open rows stay open and are not created again, the closed task loses its candidate
rows, a new task gets its own, and the audit events land in recording order."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from engine.core import commands
from engine.core.models import AuditEvent, HumanTask, TaskCandidate
from engine.core.principals import Actor
from engine.runtime import instances, tasks

CHAIR = Actor("chair", frozenset({"staff"}))
EXPERTS = ["ann", "bob", "cai"]


def _start_panel(db: Any, deploy: Any) -> int:
    deploy("bpmn/panel_standard.bpmn", "forms/panel_vote.form")
    return commands.execute(db, instances.start, CHAIR, "panel_standard", {"experts": EXPERTS}).id


def _rows(db: Any, instance_id: int) -> list[tuple[str, str, str | None]]:
    return commands.query(db, lambda s: [tuple(r) for r in s.execute(
        select(HumanTask.id, HumanTask.state, HumanTask.assignee)
        .where(HumanTask.process_instance_id == instance_id).order_by(HumanTask.assignee))])


def _statements(db: Any, command: Any, *args: Any) -> list[str]:
    seen: list[str] = []

    def note(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        commands.execute(db, command, *args)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return seen


def test_completing_one_of_three_parallel_tasks_reads_the_rows_once_and_keeps_the_others_open(db, deploy):
    instance_id = _start_panel(db, deploy)
    rows = _rows(db, instance_id)
    assert [(state, who) for _id, state, who in rows] == [("open", "ann"), ("open", "bob"), ("open", "cai")]
    bob = next(task_id for task_id, _state, who in rows if who == "bob")

    seen = _statements(db, tasks.complete, Actor("bob", frozenset()), bob, {"vote": "no"})

    reads = [s for s in seen if s.startswith("SELECT") and "FROM human_tasks" in s]
    assert len(reads) == 1, reads
    assert [(state, who) for _id, state, who in _rows(db, instance_id)] == [
        ("open", "ann"), ("completed", "bob"), ("open", "cai")]
    audit = commands.query(db, lambda s: [a for a, in s.execute(
        select(AuditEvent.action).where(AuditEvent.process_instance_id == instance_id).order_by(AuditEvent.id))])
    assert audit[-1] == "task_completed" and audit.count("task_created") == 3


def test_the_last_completion_ends_the_panel_and_a_new_task_gets_its_candidate_rows(db, deploy):
    instance_id = _start_panel(db, deploy)
    for task_id, _state, who in _rows(db, instance_id):
        commands.execute(db, tasks.complete, Actor(who, frozenset()), task_id, {"vote": "yes"})
    assert {state for _id, state, _who in _rows(db, instance_id)} == {"completed"}
    assert commands.query(db, lambda s: s.get(instances.ProcessInstance, instance_id).state) == "completed"
    # a task with candidates: the simple review's first task goes to the reviewers
    deploy("bpmn/simple_review.bpmn", "forms/simple_decision.form")
    started = commands.execute(db, instances.start, Actor("alice", frozenset({"applicants"})), "simple_review", {})
    open_rows = commands.query(db, tasks.open_tasks, started.id)
    principals = commands.query(db, lambda s: sorted(p for p, in s.execute(
        select(TaskCandidate.principal).where(TaskCandidate.task_id.in_([r.id for r in open_rows])))))
    expected = sorted({f"g:{g}" for r in open_rows for g in r.candidate_groups}
                      | {f"u:{u}" for r in open_rows for u in r.candidate_users})
    assert principals == expected
    # and once completed, the task is nobody's to claim any more
    review = open_rows[0]
    commands.execute(db, tasks.complete, Actor("rita", frozenset({"reviewers"})), review.id, {"decision": "approve"})
    assert commands.query(db, lambda s: s.scalars(
        select(TaskCandidate).where(TaskCandidate.task_id == review.id)).all()) == []
