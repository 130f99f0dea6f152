"""A process that calls another (a call activity) or uses a DMN table embeds what it calls when
it is deployed: SpiffWorkflow builds the called spec into the caller's. So that a designer can
change one stage of the lifecycle, or one table, without touching the rest, a deployment that
changes a called process or a table gives every process that depends on it a new version too,
built from its own file against the new versions. Running instances keep their versions."""
from __future__ import annotations

from engine.core import audit, commands
from engine.definitions import deployment
from engine.runtime import instances, tasks  # noqa: F401
from engine.core.models import AuditEvent
from engine.core.principals import Actor

ALICE = Actor("alice", frozenset())
BPMN = ('<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_{key}" '
        'targetNamespace="http://scitech.example/test">'
        '<bpmn:process id="{key}" name="{key}" isExecutable="true">'
        '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>{middle}'
        '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="m"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="m" targetRef="e"/>'
        '</bpmn:process></bpmn:definitions>')
IN_OUT = "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"


def _child(title: str) -> tuple[str, bytes]:
    middle = f'<bpmn:userTask id="m" name="{title}" camunda:assignee="alice">{IN_OUT}</bpmn:userTask>'
    return "child_p.bpmn", BPMN.format(key="child_p", middle=middle).encode()


def _caller(key: str, calls: str) -> tuple[str, bytes]:
    middle = f'<bpmn:callActivity id="m" calledElement="{calls}">{IN_OUT}</bpmn:callActivity>'
    return f"{key}.bpmn", BPMN.format(key=key, middle=middle).encode()


def _rated() -> tuple[str, bytes]:
    middle = (f'<bpmn:businessRuleTask id="m" name="Rate" camunda:decisionRef="band">{IN_OUT}'
              '</bpmn:businessRuleTask>')
    return "rated_p.bpmn", BPMN.format(key="rated_p", middle=middle).encode()


def _table(pass_mark: int) -> tuple[str, bytes]:
    return "band.dmn", f'''<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Defs_band" name="band"
  namespace="http://scitech.example/test">
  <decision id="band" name="Band">
    <decisionTable id="t" hitPolicy="FIRST">
      <input id="i" label="score"><inputExpression id="ie" typeRef="number"><text>score</text></inputExpression></input>
      <output id="o" name="band" typeRef="string"/>
      <rule id="r1"><inputEntry id="e1"><text>&gt;= {pass_mark}</text></inputEntry><outputEntry id="o1"><text>"pass"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="e2"><text>-</text></inputEntry><outputEntry id="o2"><text>"fail"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>'''.encode()


def _deploy(db, *files):  # type: ignore[no-untyped-def]
    return {(r.key, r.version): r.changed for r in commands.execute(db, deployment.deploy, list(files), "designer")
            if r.kind == "process"}


def _open_title(db, instance_id: int) -> str:  # type: ignore[no-untyped-def]
    [row] = commands.query(db, tasks.open_tasks, instance_id)
    return row.title


def test_a_changed_called_process_reaches_new_instances_of_every_caller(db):
    # given a grandparent that calls a parent that calls a child, and one instance running
    _deploy(db, _child("Review v1"), _caller("parent_p", "child_p"), _caller("grand_p", "parent_p"))
    running = commands.execute(db, instances.start, ALICE, "grand_p", {}).id
    assert _open_title(db, running) == "Review v1"
    # when only the child is deployed again, changed
    deployed = _deploy(db, _child("Review v2"))
    # then the child and both of its callers have new versions
    assert deployed == {("child_p", 2): True, ("parent_p", 2): True, ("grand_p", 2): True}
    # and a new instance of the grandparent runs the new child, the running one keeps its own
    fresh = commands.execute(db, instances.start, ALICE, "grand_p", {})
    assert fresh.version == 2 and _open_title(db, fresh.id) == "Review v2"
    assert commands.query(db, instances.get, running).version == 1
    # and the audit log says why the callers were deployed (the grandparent embeds the child too)
    [event] = commands.query(db, lambda s: s.query(AuditEvent).filter_by(action="deploy").order_by(
        AuditEvent.id.desc()).limit(1).all())
    because = {d["key"]: d.get("because") for d in event.details["deployed"]}
    assert because == {"child_p": None, "parent_p": "calls child_p", "grand_p": "calls child_p"}


def test_deploying_a_called_process_again_unchanged_gives_no_caller_a_new_version(db):
    _deploy(db, _child("Review v1"), _caller("parent_p", "child_p"))
    assert _deploy(db, _child("Review v1")) == {("child_p", 1): False}


def test_a_changed_dmn_table_reaches_the_processes_that_use_it(db):
    # given a process whose rule task uses a table with a pass mark of 60
    _deploy(db, _table(60), _rated())
    assert commands.execute(db, instances.start, ALICE, "rated_p", {"score": 70}).state == "completed"
    # when only the table is deployed again, with a pass mark of 80
    deployed = _deploy(db, _table(80))
    # then the process has a new version, and new instances decide with the new table
    assert deployed == {("rated_p", 2): True}
    instance = commands.execute(db, instances.start, ALICE, "rated_p", {"score": 70})
    assert instance.version == 2 and instances.data_of(instance)["band"] == "fail"


def test_the_deploy_answer_names_the_callers_deployed_again_and_why(db, api):
    import io
    designer = api("dora", ["designers"])
    _deploy(db, _child("Review v1"), _caller("parent_p", "child_p"))
    name, content = _child("Review v2")
    status, body = designer.post("/process-definitions", data={"files": [(io.BytesIO(content), name)]},
                                 content_type="multipart/form-data")
    assert status == 201
    assert {"key": "child_p", "version": 2, "kind": "process", "changed": True} in body
    assert {"key": "parent_p", "version": 2, "kind": "process", "changed": True,
            "because": "calls child_p"} in body


def test_validating_a_draft_says_which_deployed_processes_would_get_new_versions_too(db, api):
    # given a deployed child and its caller, and a designer's draft of the child, changed
    designer = api("dora", ["designers"])
    _deploy(db, _child("Review v1"), _caller("parent_p", "child_p"))
    status, draft = designer.post("/designer/drafts", json={"name": "child", "from_key": "child_p"})
    assert status == 201, draft
    name, content = _child("Review v2")
    response = designer.client.put(f"/api/v1/designer/drafts/{draft['id']}/files/{name}",
                                   headers=designer._headers(), json={"content": content.decode()})
    assert response.status_code == 200, response.get_json()
    # when it is validated, then the answer names the caller that would be deployed again
    status, verdict = designer.post(f"/designer/drafts/{draft['id']}/validate")
    assert status == 200 and verdict["valid"], verdict
    assert verdict["also"] == [{"key": "parent_p", "because": "calls child_p"}]
    # and nothing was deployed by validating
    assert [d.version for d in commands.query(db, deployment.latest_definitions)] == [1, 1]


def test_an_unchanged_draft_would_redeploy_nothing_else(db):
    from engine.designer import process_drafts
    designer = Actor("dora", frozenset({"designers"}))
    _deploy(db, _child("Review v1"), _caller("parent_p", "child_p"))
    draft = commands.execute(db, process_drafts.from_definition, designer, "child_p", None, "child")
    verdict = commands.query(db, process_drafts.validate, designer, draft.id)
    assert verdict.valid and verdict.also == []
