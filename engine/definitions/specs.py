"""Process specs serialized once per definition version: SpiffWorkflow's serializer registry
(with the plain values scripts may leave in task data) and the spec codec the deployment
stores and restores."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask

from SpiffWorkflow.bpmn.serializer.config import MessageEventDefinition as BpmnMessageEventDefinition
from SpiffWorkflow.bpmn.serializer.default.event_definition import \
    MessageEventDefinitionConverter as BpmnMessageEventDefinitionConverter

from engine.definitions import datastores, multiinstance, service_tasks
from engine.definitions.decision_tables import BusinessRuleTaskConverter

# SpiffWorkflow's Camunda configuration drops the plain message definition, but its parser still
# makes one for a receive task's messageRef: without it a receive task could not be stored
_EXTRA_CONVERTERS = {**service_tasks.CONVERTERS,
                     BpmnMessageEventDefinition: BpmnMessageEventDefinitionConverter}


def make_registry(config: dict[Any, Any]) -> Any:
    """SpiffWorkflow's registry plus the plain values scripts may leave in task data."""
    standard = (multiinstance.ParallelMultiInstance, multiinstance.SequentialMultiInstance)
    config = {**config, **_EXTRA_CONVERTERS, **{cls: MultiInstanceTaskConverter for cls in standard}}
    registry = BpmnWorkflowSerializer.configure(config)
    # Camunda's form keeps the typename SpiffWorkflow's Camunda classes had: specs deployed
    # before restore as ours, and an unchanged file keeps its content hash, hence its version.
    MultiInstanceTaskConverter(multiinstance.CamundaParallelMultiInstance, registry,
                               "ParallelMultiInstanceTask")
    MultiInstanceTaskConverter(multiinstance.CamundaSequentialMultiInstance, registry,
                               "SequentialMultiInstanceTask")
    datastores.register(registry)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]),
                      typename="date")
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]),
                      typename="Decimal")
    return registry



# decision tables restore into our engine, with every hit policy (decision_tables.py)
_SPEC_REGISTRY = make_registry({**CAMUNDA_CONFIG, BusinessRuleTask: BusinessRuleTaskConverter})
SPEC_SERIALIZER = BpmnWorkflowSerializer(_SPEC_REGISTRY)


def dump_specs(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    registry = SPEC_SERIALIZER.registry
    return json.dumps({"spec": registry.convert(spec),
                       "subprocess_specs": {k: registry.convert(v)
                                            for k, v in subprocess_specs.items()}})


def load_specs(text: str) -> tuple[Any, dict[str, Any]]:
    dct = json.loads(text)
    registry = SPEC_SERIALIZER.registry
    return (registry.restore(dct["spec"]),
            {k: registry.restore(v) for k, v in dct["subprocess_specs"].items()})
