"""The BPMN parser: SpiffWorkflow's Camunda parser plus the assignment and due-date attributes
and extension properties it ignores, kept on the user task specs where they are serialized with
the spec and read back when a task becomes ready. It also reads what the Camunda parser alone
refuses: the standard BPMN multi-instance form (engine/definitions/multiinstance.py), business
rule tasks that name their decision the SpiffArena or Camunda 8 way, and data stores
(engine/definitions/datastores.py)."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import (BusinessRuleTaskParser, CamundaTaskParser,
                                                    UserTaskParser)
from SpiffWorkflow.camunda.specs.user_task import UserTask

from engine.definitions import datastores, decision_tables, multiinstance
from engine.definitions.service_tasks import ExternalTask, ServiceTaskParser

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
USER_TASK_ATTRIBUTES = ("assignee", "candidateUsers", "candidateGroups", "formKey", "dueDate",
                        "followUpDate", "priority")
_CAMUNDA_MI = {multiinstance.CamundaParallel: multiinstance.CamundaParallelMultiInstance,
               multiinstance.CamundaSequential: multiinstance.CamundaSequentialMultiInstance}


def decision_ref(node: Any) -> str | None:
    """The decision a business rule task evaluates: `camunda:decisionRef` (Camunda 7),
    `<spiffworkflow:calledDecisionId>` (SpiffArena) or `<zeebe:calledDecision decisionId>`
    (Camunda 8; Trisotech writes a `decisionRef` task header), whichever the file uses."""
    ref = node.get(f"{{{CAMUNDA_NS}}}decisionRef")
    if ref:
        return str(ref)
    for child in node.iterfind("{*}extensionElements/*"):
        local = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
        if local == "calledDecisionId" and (child.text or "").strip():
            return str(child.text).strip()
        if local == "calledDecision" and child.get("decisionId"):
            return str(child.get("decisionId"))
        if local == "taskHeaders":  # Trisotech's Camunda 8 export: a `decisionRef` task header
            for header in child:
                if header.get("key") == "decisionRef" and header.get("value"):
                    return str(header.get("value"))
    return None


class _BothMultiInstanceForms:
    """Camunda's form when the loop names a `camunda:collection`, else the standard form."""

    PARALLEL_MI_CLASS = multiinstance.ParallelMultiInstance
    SEQUENTIAL_MI_CLASS = multiinstance.SequentialMultiInstance

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        collection = loop_characteristics.get(f"{{{CAMUNDA_NS}}}collection")
        if collection is None:
            TaskParser._add_multiinstance_task(self, loop_characteristics)  # type: ignore[arg-type]
            return
        if loop_characteristics.get(f"{{{CAMUNDA_NS}}}elementVariable") is None:
            self._one_instance_per_item(loop_characteristics, collection)
            return
        CamundaTaskParser._add_multiinstance_task(self, loop_characteristics)  # type: ignore[arg-type]
        task = self.task  # type: ignore[attr-defined]
        # Camunda's parser names its own classes; ours add ordering and the completion counters
        # and have the same constructor and attributes.
        task.__class__ = _CAMUNDA_MI.get(type(task), type(task))

    def _one_instance_per_item(self, loop_characteristics: Any, collection: str) -> None:
        """Camunda allows a collection without an element variable (SpiffWorkflow's Camunda
        spec then fails at run time): one instance per item, which the instance does not see."""
        condition = loop_characteristics.find(f"{{{BPMN_NS}}}completionCondition")
        sequential = loop_characteristics.get("isSequential") == "true"
        original = self.spec.task_specs.pop(self.task.name)  # type: ignore[attr-defined]
        spec_class = self.SEQUENTIAL_MI_CLASS if sequential else self.PARALLEL_MI_CLASS
        self.task = spec_class(self.spec, original.name, task_spec="",  # type: ignore[attr-defined]
                               data_input=TaskDataReference(collection),
                               condition=condition.text if condition is not None else None)
        self._copy_task_attrs(original, loop_characteristics)  # type: ignore[attr-defined]


class EngineUserTaskParser(_BothMultiInstanceForms, UserTaskParser):
    """Keeps the camunda:* assignment attributes and extension properties on the spec, where
    they are serialized with it and read back when the task becomes ready."""

    def parse_extensions(self, node=None):  # type: ignore[no-untyped-def]
        properties = super().parse_extensions(node)
        attributes = {name: self.node.get(f"{{{CAMUNDA_NS}}}{name}")
                      for name in USER_TASK_ATTRIBUTES if self.node.get(f"{{{CAMUNDA_NS}}}{name}")}
        return {"properties": properties, "attributes": attributes}


class EngineBusinessRuleTaskParser(_BothMultiInstanceForms, BusinessRuleTaskParser):
    @staticmethod
    def get_decision_ref(node):  # type: ignore[no-untyped-def]
        return decision_ref(node)


def _with_both_forms(parser_class: type) -> type:
    if not issubclass(parser_class, TaskParser):
        return parser_class
    return type(f"Engine{parser_class.__name__}", (_BothMultiInstanceForms, parser_class), {})


def _parser_classes() -> dict[str, tuple[type, type]]:
    merged = {**BpmnParser.PARSER_CLASSES, **CamundaParser.OVERRIDE_PARSER_CLASSES}
    classes = {tag: (_with_both_forms(parser), spec) for tag, (parser, spec) in merged.items()}
    classes[full_tag("userTask")] = (EngineUserTaskParser, UserTask)
    classes[full_tag("businessRuleTask")] = (EngineBusinessRuleTaskParser,
                                             CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("businessRuleTask")][1])
    return classes


class EngineParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {**_parser_classes(),
                               # external tasks (engine/definitions/service_tasks.py)
                               full_tag("serviceTask"): (_with_both_forms(ServiceTaskParser), ExternalTask)}
    DATA_STORE_CLASSES = datastores.AnyStoreName()

    def get_engine(self, decision_ref, node):  # type: ignore[no-untyped-def]
        """The decision table with its FEEL translated and every hit policy
        (engine/definitions/decision_tables.py)."""
        table = super().get_engine(decision_ref, node).decision_table
        dmn = self.dmn_parsers[decision_ref]
        return decision_tables.engine_for(table, dmn.node, dmn.filename, node)
