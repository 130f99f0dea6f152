"""Running SpiffWorkflow's engine steps safely. A BPMN-level failure (a script, expression or
gateway that raises) is not a crash: it becomes a `BpmnFailure` naming the element and message,
and the caller keeps what happened before it and marks the instance `error`.

We also guard a limit of SpiffWorkflow itself: its task iterator stops at depth 1000, so a loop
of a few hundred iterations would silently end a workflow. We refuse to go past a safe depth."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.scripting.sandbox import ScriptRejected, ScriptTimeout

MAX_TASK_DEPTH = 900  # SpiffWorkflow's TaskIterator stops at 1000


@dataclass(frozen=True)
class BpmnFailure:
    element_id: str | None
    message: str


def run(workflow: BpmnWorkflow) -> BpmnFailure | None:
    try:
        workflow.do_engine_steps()
    except (SpiffWorkflowException, ScriptRejected, ScriptTimeout, ValueError, TypeError,
            KeyError, AttributeError, ArithmeticError, RecursionError) as error:
        return _failure(workflow, error)
    return None


def _failure(workflow: BpmnWorkflow, error: Exception) -> BpmnFailure:
    task = getattr(error, "task", None)
    spec = getattr(error, "task_spec", None) or (task.task_spec if task is not None else None)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    if element is None:
        errored = workflow.get_tasks(state=TaskState.ERROR)
        element = errored[0].task_spec.bpmn_id if errored else None
    message = str(error) if isinstance(error, WorkflowException) else f"{type(error).__name__}: {error}"
    return BpmnFailure(element, message.strip() or type(error).__name__)


LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def live_tasks(workflow: BpmnWorkflow) -> list[Any]:
    """The tasks that are current, in the order of SpiffWorkflow's own depth-first walk
    (`workflow.get_tasks(state=LIVE)`), shared by every check after a step. That walk visits
    the whole history in Python on every command; filtering the task dictionaries and placing
    the few live tasks by their path from the root gives the same list at a fraction of it."""
    found = [task for flow in (workflow, *workflow.subprocesses.values())
             for task in flow.tasks.values() if task.state & LIVE]
    if len(found) > 1:
        found.sort(key=_walk_position)
    return found


def _walk_position(task: Any) -> tuple[int, ...]:
    """Where the depth-first walk meets a task: the child indexes from the top root down. The
    walk enters a subprocess before the children of the task that runs it (index -1)."""
    path: list[int] = []
    while True:
        parent = task.parent
        while parent is not None:
            path.append(parent._children.index(task.id))
            task, parent = parent, parent.parent
        runner_id = task.workflow.parent_task_id
        if runner_id is None:
            break
        path.append(-1)
        task = task.workflow.top_workflow.get_task_from_id(runner_id)
    path.reverse()
    return tuple(path)


def depth_guard(live: list[Any]) -> BpmnFailure | None:
    """Only the current tasks can grow the tree deeper, so checking them is enough."""
    for task in live:
        if task.depth >= MAX_TASK_DEPTH:
            return BpmnFailure(task.task_spec.bpmn_id,
                               f"the instance's history reached {MAX_TASK_DEPTH} steps on one path "
                               "(a loop that does not end?); SpiffWorkflow cannot go further safely")
    return None
