"""Multi-instance activities as the engine runs them, in both forms the contract names: the
standard BPMN form (`loopDataInputRef`/`inputDataItem`, `loopDataOutputRef`/`outputDataItem`,
`loopCardinality`) and Camunda's (`camunda:collection`/`camunda:elementVariable`). On top of
SpiffWorkflow's multi-instance specs this module owns two rules: the output collection holds
each instance's output item in input order (SpiffWorkflow appends in completion order, which for
parallel instances is whoever finishes first), and the `completionCondition` sees what Camunda 7
gives it: `nrOfInstances`, `nrOfCompletedInstances`, `nrOfActiveInstances`, the output
collection gathered so far and the data of the instance that just completed."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.defaults import (ParallelMultiInstanceTask as BpmnParallel,
                                                SequentialMultiInstanceTask as BpmnSequential)
from SpiffWorkflow.camunda.specs.multiinstance_task import (ParallelMultiInstanceTask as CamundaParallel,
                                                            SequentialMultiInstanceTask as CamundaSequential)
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

_ORDER_KEY = "output_by_index"


class _EngineMultiInstance:
    """Mixed in front of a SpiffWorkflow multi-instance spec."""

    data_input: Any
    data_output: Any
    output_item: Any
    condition: str | None

    def _update_hook(self, my_task: Any) -> Any:
        my_task.internal_data.pop(_ORDER_KEY, None)  # a new round starts with nothing gathered
        return super()._update_hook(my_task)  # type: ignore[misc]

    def merge_child(self, workflow: Any, child: Any) -> None:
        my_task = child.parent
        index = child.internal_data.get("key_or_index")
        ordered = self._keeps_order(my_task, index)
        if ordered:
            item = self.output_item.get(child) if self.output_item.exists(child) else None
            my_task.internal_data.setdefault(_ORDER_KEY, {})[str(index)] = item
        super().merge_child(workflow, child)  # type: ignore[misc]
        if ordered:
            gathered = my_task.internal_data[_ORDER_KEY]
            self.data_output.set(my_task, [gathered[k] for k in sorted(gathered, key=int)])

    def _keeps_order(self, my_task: Any, index: Any) -> bool:
        """A separate output list filled from a list input (or a cardinality) by index."""
        if self.data_output is None or self.output_item is None or not isinstance(index, int):
            return False
        output = self.data_output.get(my_task) if self.data_output.exists(my_task) else None
        same = self.data_input is not None and self.data_input.exists(my_task) and \
            self.data_input.get(my_task) is output
        return isinstance(output, list) and not same

    def check_completion_condition(self, my_task: Any) -> bool:
        merged = my_task.internal_data.get("merged", [])
        if not merged or not self.condition:
            return False
        last = next(c for c in my_task.children if str(c.id) == merged[-1])
        context = {**last.data, **self._counters(my_task, merged)}
        if self.data_output is not None and self.data_output.exists(my_task):
            context[self.data_output.bpmn_id] = self.data_output.get(my_task)
        engine = my_task.workflow.script_engine
        try:
            return bool(engine.environment.evaluate(self.condition, context))
        except SpiffWorkflowException:
            raise
        except Exception as error:
            raise WorkflowTaskException(f"Error evaluating completion condition '{self.condition}'",
                                        task=last, exception=error) from error

    def _counters(self, my_task: Any, merged: list[str]) -> dict[str, int]:
        instances = [c for c in my_task.children if c.task_spec.name == self.task_spec]  # type: ignore[attr-defined]
        active = sum(1 for c in instances if not c.has_state(TaskState.FINISHED_MASK))
        total = my_task.internal_data.get("cardinality")
        if total is None and self.data_input is not None and self.data_input.exists(my_task):
            total = len(self.data_input.get(my_task))
        return {"nrOfInstances": total if total is not None else len(instances),
                "nrOfCompletedInstances": len(merged), "nrOfActiveInstances": active}


class ParallelMultiInstance(_EngineMultiInstance, BpmnParallel):
    """The standard BPMN form, parallel."""


class SequentialMultiInstance(_EngineMultiInstance, BpmnSequential):
    """The standard BPMN form, one instance after another."""


class CamundaParallelMultiInstance(_EngineMultiInstance, CamundaParallel):
    """Camunda's `camunda:collection` form, parallel."""


class CamundaSequentialMultiInstance(_EngineMultiInstance, CamundaSequential):
    """Camunda's `camunda:collection` form, one instance after another."""


SPEC_CLASSES = (ParallelMultiInstance, SequentialMultiInstance, CamundaParallelMultiInstance,
                CamundaSequentialMultiInstance)
