"""The instance document: our incremental serialization must hold exactly what SpiffWorkflow's
own serializer holds, whatever the history, so that loading it restores the same workflow."""
from __future__ import annotations

import json
from pathlib import Path

from lxml import etree
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import STATE_SERIALIZER, EngineParser, dump_state, load_state, new_workflow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


def _workflow(name: str, key: str):  # type: ignore[no-untyped-def]
    parser = EngineParser()
    parser.add_bpmn_xml(etree.parse(str(FIXTURES / name)), filename=name)
    return parser.get_spec(key), parser.get_subprocess_specs(key)


def _reference(workflow) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(STATE_SERIALIZER.serialize_json(workflow))


def test_the_document_equals_spiffworkflows_serialization_at_every_step():
    spec, subs = _workflow("loop.bpmn", "loop")
    workflow = new_workflow(spec, subs)
    workflow.get_tasks()[0].data.update({"initiator": "alice"})
    workflow.do_engine_steps()
    for step in range(12):
        # when the document is written (reusing what finished tasks wrote before)
        assert json.loads(dump_state(workflow)) == _reference(workflow), f"differs at step {step}"
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        ready[0].data["finished"] = step == 11
        ready[0].run()
        workflow.do_engine_steps()
    assert workflow.is_completed()
    assert json.loads(dump_state(workflow)) == _reference(workflow)


def test_a_loaded_document_continues_where_it_stopped():
    spec, subs = _workflow("loop.bpmn", "loop")
    workflow = new_workflow(spec, subs)
    workflow.get_tasks()[0].data.update({"initiator": "alice"})
    workflow.do_engine_steps()
    for _ in range(3):
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data["finished"] = False
        task.run()
        workflow.do_engine_steps()
    restored = load_state(dump_state(workflow), spec, subs)
    assert json.loads(dump_state(restored)) == _reference(workflow)
    task = restored.get_tasks(state=TaskState.READY, manual=True)[0]
    task.data["finished"] = True
    task.run()
    restored.do_engine_steps()
    assert restored.is_completed() and restored.last_task.data["count"] == 4
