"""Finished tasks of an instance's workflow, stored once each. A completed or cancelled task no
longer changes, so its serialization is written to `workflow_fragments` when it finishes and
never again; the instance's document keeps only the workflow's header and its unfinished tasks.
A completion then writes what it changed, not the whole history (engine/runtime/store.py puts the two
together on load; docs/architecture.md has the figures). A task that changes after all (an
instance migration gives tasks new specs) is written again; a task that leaves the tree loses
its row. Documents written before this table existed hold every task and load as they are."""
from __future__ import annotations

import json
from typing import Any, Iterable

from sqlalchemy import ForeignKey, String, Text, bindparam, delete, literal, select, union_all, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core.models import Base, ProcessInstance


class WorkflowFragment(Base):
    __tablename__ = "workflow_fragments"
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # "" for the top workflow, else the id of the task that runs the subprocess
    workflow: Mapped[str] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)  # SpiffWorkflow's serialization of the task


_TABLE = WorkflowFragment.__table__


def read_state(session: Session, instance_id: int) -> tuple[str, list[tuple[str, str, str]]]:
    """The instance's document and its stored tasks, in one statement: with two, a command
    committing in between (PostgreSQL reads each statement at its own moment) could pair a
    new document with old stored tasks and lose the tasks that finished meanwhile."""
    instances = ProcessInstance.__table__
    with session.no_autoflush:
        rows = session.execute(union_all(
            select(literal(0).label("part"), literal("").label("workflow"), literal("").label("task_id"),
                   instances.c.document.label("body")).where(instances.c.id == instance_id),
            select(literal(1), _TABLE.c.workflow, _TABLE.c.task_id, _TABLE.c.body)
            .where(_TABLE.c.instance_id == instance_id))).all()
    documents = [body for part, _wf, _tid, body in rows if part == 0]
    if not documents:
        raise LookupError(f"process instance {instance_id} has no stored state")
    return documents[0], [(wf, tid, body) for part, wf, tid, body in rows if part == 1]


_UPDATE = (update(_TABLE).where(_TABLE.c.instance_id == bindparam("iid"), _TABLE.c.task_id == bindparam("tid"))
           .values(body=bindparam("b"), workflow=bindparam("wf")))


def write(session: Session, instance_id: int, added: list[tuple[str, str, str]],
          changed: list[tuple[str, str, str]], gone: Iterable[str]) -> None:
    """Apply one save: new fragments inserted, changed ones rewritten, vanished ones deleted.
    Core statements on the session's connection: no autoflush (this runs inside the command's
    one flush) and no ORM execution machinery around plain table writes."""
    gone = list(gone)
    connection = session.connection()
    for start in range(0, len(gone), 500):
        connection.execute(delete(_TABLE).where(_TABLE.c.instance_id == instance_id,
                                                _TABLE.c.task_id.in_(gone[start:start + 500])))
    if added:
        connection.execute(_TABLE.insert(), [
            {"instance_id": instance_id, "workflow": wf, "task_id": tid, "body": body}
            for wf, tid, body in added])
    if changed:
        connection.execute(_UPDATE, [{"iid": instance_id, "tid": tid, "b": body, "wf": wf}
                                     for wf, tid, body in changed])


def drop_all(session: Session, instance_id: int) -> None:
    with session.no_autoflush:
        session.execute(delete(_TABLE).where(_TABLE.c.instance_id == instance_id))


def merge(document: str, stored: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The instance's whole state as one dictionary (SpiffWorkflow's own layout), the stored
    finished tasks put back into their workflows, every task after its parent (SpiffWorkflow
    restores a task's data as a change against its parent's)."""
    state = json.loads(document)
    if not stored:
        return state
    subprocesses = state.get("subprocesses") or {}
    for workflow, task_id, body in stored:
        target = state if workflow == "" else subprocesses.get(workflow)
        if target is not None:
            target["tasks"].setdefault(task_id, json.loads(body))
    for flow in (state, *subprocesses.values()):
        flow["tasks"] = _parents_first(flow["tasks"], flow["root"])
    return state


def _parents_first(tasks: dict[str, Any], root: str) -> dict[str, Any]:
    ordered: dict[str, Any] = {}
    stack = [root]
    while stack:
        task_id = stack.pop()
        task = tasks.get(task_id)
        if task is None or task_id in ordered:
            continue
        ordered[task_id] = task
        stack.extend(reversed(task["children"]))
    for task_id, task in tasks.items():  # not reachable from the root: keep, after the rest
        ordered.setdefault(task_id, task)
    return ordered


def task_data(session: Session, instance_id: int, task_id: str) -> dict[str, Any] | None:
    """The data one finished task held when it finished, still encoded as SpiffWorkflow wrote it
    (engine/runtime/state.py `restore_data` decodes it); None when the instance has no such task.
    SpiffWorkflow stores a task's data as its change against its parent's, so the task's line of
    ancestors is read back to the one stored whole (a workflow's first task) and the changes laid
    on in order. Ancestors of a finished task are finished, so they are stored here; documents
    written before this table hold them themselves."""
    document, stored = read_state(session, instance_id)
    bodies = {tid: body for _wf, tid, body in stored}
    whole: list[dict[str, Any]] = []  # the document's workflows, parsed only if needed

    def find(tid: str) -> dict[str, Any] | None:
        if tid in bodies:
            return json.loads(bodies[tid])
        if not whole:
            state = json.loads(document)
            whole.extend([state, *(state.get("subprocesses") or {}).values()])
        return next((flow["tasks"][tid] for flow in whole if tid in flow.get("tasks", {})), None)

    line: list[dict[str, Any]] = []
    current = find(task_id)
    while current is not None:
        line.append(current)
        if current.get("parent") is None or not current.get("delta"):
            break
        current = find(current["parent"])
    if not line:
        return None
    data: dict[str, Any] = {}
    for task in reversed(line):
        delta = task.get("delta") or {}
        if task.get("parent") is None or not delta:
            data = dict(task.get("data") or {})
            continue
        data.update(delta.get("updates") or {})
        for key in delta.get("deletions") or ():
            data.pop(key, None)
    return data


def whole_document(session: Session, instance: ProcessInstance) -> str:
    """The instance's state as one standalone document (SpiffWorkflow's layout, every task in
    it), for archives and copies: readable without this table."""
    return json.dumps(merge(*read_state(session, instance.id)))
