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

from engine.definitions import datastores, multiinstance

def make_registry(config: dict[Any, Any]) -> Any:
    """SpiffWorkflow's registry plus the plain values scripts may leave in task data."""
    standard = (multiinstance.ParallelMultiInstance, multiinstance.SequentialMultiInstance)
    config = {**config, **{cls: MultiInstanceTaskConverter for cls in standard}}
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



_SPEC_REGISTRY = make_registry(CAMUNDA_CONFIG)
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
