"""BPMN data stores (`dataStore` + `dataStoreReference`), which SpiffWorkflow refuses unless the
application registers an implementation for each store name. The engine gives every data store
the same meaning: a value that belongs to the process instance and outlives the tasks that touch
it, kept in the instance's workflow data under the store's id. A task with a data input from
the store gets the stored value (None before anything was written) in its data under the store's
id; a task with a data output to the store writes that variable back."""
from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.data_spec import BpmnDataStoreSpecification

_STORES = "data_stores"


def _top(my_task: Any) -> Any:
    workflow = my_task.workflow
    while getattr(workflow, "parent_workflow", None) is not None:
        workflow = workflow.parent_workflow
    return workflow


class InstanceDataStore(BpmnDataStoreSpecification):
    def get(self, my_task: Any, **kwargs: Any) -> None:
        stored = _top(my_task).data.get(_STORES, {})
        my_task.data[self.bpmn_id] = deepcopy(stored.get(self.bpmn_id))

    def set(self, my_task: Any, **kwargs: Any) -> None:
        if self.bpmn_id in my_task.data:
            _top(my_task).data.setdefault(_STORES, {})[self.bpmn_id] = deepcopy(my_task.data[self.bpmn_id])


class AnyStoreName(dict):  # type: ignore[type-arg]
    """SpiffWorkflow looks data store implementations up by the store's name; every name gets
    the instance data store."""

    def __contains__(self, name: object) -> bool:
        return True

    def __missing__(self, name: str) -> type[InstanceDataStore]:
        return InstanceDataStore


def register(registry: Any) -> None:
    """Lets the spec serializer store the data stores a task reads and writes."""
    registry.register(
        InstanceDataStore,
        lambda s, **_: {"bpmn_id": s.bpmn_id, "bpmn_name": s.bpmn_name, "capacity": s.capacity,
                   "is_unlimited": s.is_unlimited},
        lambda d, **_: InstanceDataStore(d["bpmn_id"], d["bpmn_name"], d["capacity"], d["is_unlimited"]))
