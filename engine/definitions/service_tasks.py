"""Service tasks that other systems carry out: a `bpmn:serviceTask` with
`camunda:type="external"` and `camunda:topic="T"` becomes an `ExternalTask` spec, which waits
(SpiffWorkflow's STARTED state) until a worker completes it through the API, as in Camunda 7's
external tasks. Its own parser class and spec converter, so the other parser overrides stay
untouched; any other service task is SpiffWorkflow's as before."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


class ExternalTask(ServiceTask):
    """Waits for a worker: running it leaves it STARTED; the API completes it."""

    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str = "", **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic

    def _run_hook(self, task: Any) -> None:
        return None


class ExternalTaskConverter(BpmnTaskSpecConverter):
    def to_dict(self, spec: ExternalTask) -> dict[str, Any]:
        dct = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        return dct


class ServiceTaskParser(TaskParser):
    """`camunda:type="external"` makes an `ExternalTask` with its topic; a missing topic is
    refused at deploy with the element named."""

    def create_task(self) -> Any:
        if self.node.get(f"{{{CAMUNDA_NS}}}type") != "external":
            return ServiceTask(self.spec, self.bpmn_id, **self.bpmn_attributes)
        topic = (self.node.get(f"{{{CAMUNDA_NS}}}topic") or "").strip()
        if not topic:
            self.raise_validation_exception("an external service task needs camunda:topic")
        return ExternalTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)


# what the spec serializer's configuration adds for these specs (engine/definitions/specs.py)
CONVERTERS = {ExternalTask: ExternalTaskConverter}
