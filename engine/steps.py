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

from .sandbox import ScriptRejected, ScriptTimeout

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
    """The tasks that are current: one walk over the tree, shared by every check after a step."""
    return workflow.get_tasks(state=LIVE)


def depth_guard(live: list[Any]) -> BpmnFailure | None:
    """Only the current tasks can grow the tree deeper, so checking them is enough."""
    for task in live:
        if task.depth >= MAX_TASK_DEPTH:
            return BpmnFailure(task.task_spec.bpmn_id,
                               f"the instance's history reached {MAX_TASK_DEPTH} steps on one path "
                               "(a loop that does not end?); SpiffWorkflow cannot go further safely")
    return None
