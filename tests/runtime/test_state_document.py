"""The instance document: our incremental serialization must hold exactly what SpiffWorkflow's
own serializer holds, whatever the history, so that loading it restores the same workflow."""
from __future__ import annotations

import json
from pathlib import Path

from lxml import etree
from SpiffWorkflow.util.task import TaskState

from engine.runtime.state import STATE_SERIALIZER, dump_state, load_state, new_workflow

from engine.definitions.parser import EngineParser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


def _workflow(name: str, key: str):  # type: ignore[no-untyped-def]
    parser = EngineParser()
    parser.add_bpmn_xml(etree.parse(str(FIXTURES / name)), filename=name)
    return parser.get_spec(key), parser.get_subprocess_specs(key)


def _started_loop():  # type: ignore[no-untyped-def]
    spec, subs = _workflow("loop.bpmn", "loop")
    workflow = new_workflow(spec, subs)
    workflow.get_tasks()[0].data.update({"initiator": "alice"})
    workflow.do_engine_steps()
    return spec, subs, workflow


def _reference(workflow) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(STATE_SERIALIZER.serialize_json(workflow))


def test_the_document_equals_spiffworkflows_serialization_at_every_step():
    spec, subs, workflow = _started_loop()
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
    spec, subs, workflow = _started_loop()
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


def _apply(store: dict, split) -> None:  # type: ignore[no-untyped-def]
    """What engine/runtime/finished_tasks.write does to the table, on a dictionary."""
    for task_id in split.gone:
        del store[task_id]
    for workflow_key, task_id, body in split.added:
        assert task_id not in store, "a stored task was inserted twice"
        store[task_id] = (workflow_key, task_id, body)
    for workflow_key, task_id, body in split.changed:
        assert task_id in store
        store[task_id] = (workflow_key, task_id, body)


def test_finished_tasks_are_stored_once_and_the_document_stops_growing():
    from engine.runtime.state import dump_split
    from engine.runtime.finished_tasks import merge
    spec, subs, workflow = _started_loop()
    stored: dict = {}
    sizes = []
    for step in range(30):
        # when the workflow is saved after every step
        split = dump_split(workflow)
        _apply(stored, split)
        sizes.append(len(split.document))
        # then document and stored tasks together are exactly SpiffWorkflow's serialization
        assert merge(split.document, list(stored.values())) == _reference(workflow), f"differs at step {step}"
        # and a step stores only the few tasks it finished (one loop round: step, bump, gateway)
        assert len(split.added) <= 4 and not split.changed
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        ready[0].data["finished"] = step == 29
        ready[0].run()
        workflow.do_engine_steps()
    assert workflow.is_completed()
    # the document holds the unfinished tasks only: it does not grow with the history
    assert max(sizes[5:]) - min(sizes[5:]) < 200


def test_a_workflow_restored_from_the_document_and_stored_tasks_continues():
    from engine.runtime.state import dump_split, note_stored, restore_state
    from engine.runtime.finished_tasks import merge
    spec, subs, workflow = _started_loop()
    stored: dict = {}
    for _ in range(4):
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data["finished"] = False
        task.run()
        workflow.do_engine_steps()
        _apply(stored, dump_split(workflow))
    # given a workflow restored from its parts (as after a restart)
    document = dump_split(workflow).document
    rows = list(stored.values())
    restored = restore_state(merge(document, rows), spec, subs)
    note_stored(restored, [t for _w, t, _b in rows], [b for _w, _t, b in rows])
    assert json.loads(dump_state(restored)) == _reference(workflow)
    # when it goes on to the end, then only what that step finished is stored (the round's
    # tasks and the end events), nothing stored before is written again
    task = restored.get_tasks(state=TaskState.READY, manual=True)[0]
    task.data["finished"] = True
    task.run()
    restored.do_engine_steps()
    split = dump_split(restored)
    assert 1 <= len(split.added) <= 8 and not split.changed and not split.gone
    _apply(stored, split)
    assert merge(split.document, list(stored.values())) == _reference(restored)
    assert restored.is_completed() and restored.last_task.data["count"] == 5
