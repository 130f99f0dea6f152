"""A test run of a draft touches no real data even when its scripts call the domain services:
a script sees the real reference data (organisations), what it writes to the project register is
gone when the step ends, and a later step that needs the vanished row stops the trial with a
clear error instead of finding or writing anything real."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.core import commands
from engine.lifecycle import organisations
from engine.designer import process_drafts, trial_runs
from engine.core.principals import Actor
from engine.lifecycle.projects import Project

DESIGNER = Actor("dana", frozenset({"designers"}))
APPLICATION = ('{"title": "T", "abstract": "A", "plan_category": "key", "discipline": "it", '
               '"organisation": "市第一研究院", "principal_investigator": "P", "budget": 1, "period_months": 12}')


def _bpmn(scripts: list[str], user_task_after_first: bool = False) -> str:
    """A straight line of script tasks (optionally with a user task after the first)."""
    nodes = [f'<bpmn:scriptTask id="s{i}" scriptFormat="python">'
             f'<bpmn:script>{body}</bpmn:script></bpmn:scriptTask>' for i, body in enumerate(scripts)]
    ids = [f"s{i}" for i in range(len(scripts))]
    if user_task_after_first:
        nodes.insert(1, '<bpmn:userTask id="look" camunda:candidateGroups="reviewers"/>')
        ids.insert(1, "look")
    chain = ["start", *ids, "end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(zip(chain, chain[1:])))
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://example.org/trial">
  <bpmn:process id="trial_isolation" isExecutable="true">
    <bpmn:startEvent id="start"/>{"".join(nodes)}<bpmn:endEvent id="end"/>{flows}
  </bpmn:process>
</bpmn:definitions>'''


def _projects(db) -> int:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: s.scalar(select(func.count()).select_from(Project)))


def _trial(db, bpmn: str):  # type: ignore[no-untyped-def]
    draft = commands.execute(db, process_drafts.create, DESIGNER, "isolation", {"trial_isolation.bpmn": bpmn})
    return commands.execute(db, trial_runs.start, DESIGNER, draft.id, None, {})


def test_a_script_in_a_test_run_reads_real_reference_data_and_registers_nothing(db):
    # given a registered organisation and a draft that checks and registers an application
    commands.execute(db, lambda s: organisations.ensure(s, "ORG1", "市第一研究院", organisations.KINDS[0]))
    bpmn = _bpmn([f"gate = submission_check({APPLICATION})\nfacts = register_application({APPLICATION})"])
    # when a designer test-runs it
    trial = _trial(db, bpmn)
    # then the script saw the real organisation and got the register's answer
    view = commands.query(db, trial_runs.view, DESIGNER, trial.id)
    assert view.trial.state == "completed", view.trial.error
    assert view.data["gate"]["organisation"]["code"] == "ORG1"
    assert view.data["facts"]["title"] == "T"
    # and the real register holds no project
    assert _projects(db) == 0


def test_a_later_step_of_a_test_run_does_not_find_what_an_earlier_one_wrote(db):
    # given a draft that registers an application, waits for a reviewer, then updates the project
    bpmn = _bpmn([f"facts = register_application({APPLICATION})",
                  f"facts = update_application(facts['id'], {APPLICATION})"], user_task_after_first=True)
    trial = _trial(db, bpmn)
    [task] = commands.query(db, trial_runs.view, DESIGNER, trial.id).tasks
    # when the reviewer's step is completed in the test run
    commands.execute(db, trial_runs.complete, DESIGNER, trial.id, task.id, {}, "reviewers")
    # then the trial stops at the update with an error, and nothing real was written
    done = commands.query(db, trial_runs.view, DESIGNER, trial.id)
    assert done.trial.state == "error" and done.trial.error.startswith("s1")
    assert (done.trial.log[-1]["action"], done.trial.log[-1]["element"]) == ("completed", "look")
    assert _projects(db) == 0
