"""The current tasks of a workflow (`engine.runtime.engine_steps.live_tasks`) are found without SpiffWorkflow's
whole-tree walk, but must be exactly the tasks, in exactly the order, that the walk gives:
the projection creates task rows and picks the newest data in that order."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.util.task import TaskState

from engine.runtime import engine_steps
from engine.definitions.parser import EngineParser
from engine.runtime.state import new_workflow
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]
SPIFF_MODELS = SHARED / "bpmn-corpus" / "spiffworkflow"


def _walk(workflow) -> list:  # type: ignore[no-untyped-def]
    return [task.id for task in workflow.get_tasks(state=engine_steps.LIVE)]


def _corpus_workflows():  # type: ignore[no-untyped-def]
    for path in sorted(SPIFF_MODELS.rglob("*.bpmn")):
        try:
            parser = EngineParser()
            parser.add_bpmn_xml(etree.parse(str(path)), filename=path.name)
            keys = parser.get_process_ids()
        except Exception:  # noqa: BLE001 - files our parser refuses are tested in test_corpus.py
            continue
        for key in keys:
            try:
                workflow = new_workflow(parser.get_spec(key), parser.get_subprocess_specs(key))
                workflow.do_engine_steps()
            except Exception:  # noqa: BLE001 - models that need data or services to start
                continue
            yield workflow


@pytest.mark.skipif(not SPIFF_MODELS.exists(), reason="../shared/bpmn-corpus is not present")
def test_live_tasks_equal_spiffworkflows_walk_at_every_step_of_the_corpus_models():
    # given SpiffWorkflow's own test models (parallel and inclusive gateways, subprocesses,
    # boundary events, multi-instance), run as far as they go with the last ready task first
    compared = several = 0
    for workflow in _corpus_workflows():
        for _ in range(40):
            # then the live tasks are the walk's, in the walk's order
            assert [task.id for task in engine_steps.live_tasks(workflow)] == _walk(workflow)
            compared += 1
            several += len(_walk(workflow)) > 1
            ready = [t for t in workflow.get_tasks(state=TaskState.READY)]
            if not ready:
                break
            try:
                ready[-1].run()
                workflow.do_engine_steps()
            except Exception:  # noqa: BLE001 - a model that needs data stops here
                break
    # and the comparison covered real cases with more than one current task
    assert compared > 50 and several > 20


def test_a_subprocess_comes_before_the_children_of_the_task_that_runs_it():
    # given the lifecycle, whose first stage is a call activity
    parser = EngineParser()
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        parser.add_bpmn_xml(etree.parse(str(path)), filename=path.name)
    for path in sorted((ROOT / "processes").glob("*.dmn")):
        parser.add_dmn_xml(etree.parse(str(path)).getroot(), filename=path.name)
    workflow = new_workflow(parser.get_spec("project_lifecycle"),
                            parser.get_subprocess_specs("project_lifecycle"))
    # when it starts (the first stage stops at a task that needs data)
    try:
        workflow.do_engine_steps()
    except Exception:  # noqa: BLE001
        pass
    # then the stage's task and the call activity are found as the walk finds them
    live = engine_steps.live_tasks(workflow)
    assert workflow.subprocesses and len(live) >= 2
    assert [task.id for task in live] == _walk(workflow)
