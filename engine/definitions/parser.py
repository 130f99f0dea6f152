"""The BPMN parser: SpiffWorkflow's Camunda parser plus the assignment and due-date attributes
and extension properties it ignores, kept on the user task specs where they are serialized with
the spec and read back when a task becomes ready."""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import UserTaskParser
from SpiffWorkflow.camunda.specs.user_task import UserTask

from engine.definitions import decision_tables
from engine.definitions.service_tasks import ExternalTask, ServiceTaskParser

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
USER_TASK_ATTRIBUTES = ("assignee", "candidateUsers", "candidateGroups", "formKey", "dueDate",
                        "followUpDate", "priority")


class EngineUserTaskParser(UserTaskParser):
    """Keeps the camunda:* assignment attributes and extension properties on the spec, where
    they are serialized with it and read back when the task becomes ready."""

    def parse_extensions(self, node=None):  # type: ignore[no-untyped-def]
        properties = super().parse_extensions(node)
        attributes = {name: self.node.get(f"{{{CAMUNDA_NS}}}{name}")
                      for name in USER_TASK_ATTRIBUTES if self.node.get(f"{{{CAMUNDA_NS}}}{name}")}
        return {"properties": properties, "attributes": attributes}


class EngineParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {**CamundaParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("userTask"): (EngineUserTaskParser, UserTask),
                               # external tasks (engine/definitions/service_tasks.py)
                               full_tag("serviceTask"): (ServiceTaskParser, ExternalTask)}

    def get_engine(self, decision_ref, node):  # type: ignore[no-untyped-def]
        """The decision table with its FEEL translated and every hit policy
        (engine/definitions/decision_tables.py)."""
        table = super().get_engine(decision_ref, node).decision_table
        dmn = self.dmn_parsers[decision_ref]
        return decision_tables.engine_for(table, dmn.node, dmn.filename, node)
