"""`expertsMaySeeEachOther`: by default no expert sees another's work, before or after submitting
their own; a process may let experts see each other's once their own is in (`after_own`), or let
only the panel's chair see the members' once all are in (`chair` with `expertChair`)."""
from __future__ import annotations

import pytest

from engine.runtime import access, instances, tasks
from engine.core import commands
from engine.definitions import deployment
from engine.workspace import history
from engine.core.errors import DefinitionInvalid
from engine.core.principals import Actor

OPINION = {"opinion_text": "secret words"}
CHAIR, MEMBER = Actor("ea", frozenset({"experts"})), Actor("eb", frozenset({"experts"}))
STARTER = Actor("officer", frozenset({"institution_staff"}))


def panel_process(properties: dict[str, str]) -> bytes:
    props = "".join(f'<camunda:property name="{k}" value="{v}"/>' for k, v in properties.items())
    extension = f"<bpmn:extensionElements><camunda:properties>{props}</camunda:properties></bpmn:extensionElements>" \
        if props else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_panel" targetNamespace="http://scitech.example/test">
  <bpmn:process id="panel" name="Panel" isExecutable="true">
    {extension}
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="Lane_staff" name="institution_staff"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>split</bpmn:flowNodeRef><bpmn:flowNodeRef>join</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_experts" name="experts"><bpmn:flowNodeRef>review_a</bpmn:flowNodeRef><bpmn:flowNodeRef>review_b</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="review_a" name="Review" camunda:assignee="ea"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="review_b" name="Review" camunda:assignee="eb"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:parallelGateway id="join"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="wrap_up" name="Wrap up" camunda:candidateGroups="institution_staff"><bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="review_a"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="review_b"/>
    <bpmn:sequenceFlow id="f4" sourceRef="review_a" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="review_b" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="wrap_up"/>
    <bpmn:sequenceFlow id="f7" sourceRef="wrap_up" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def run_panel(db, properties: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    commands.execute(db, deployment.deploy, [("panel.bpmn", panel_process(properties))], "test")
    instance_id = commands.execute(db, instances.start, STARTER, "panel", {"chair": {"expert": "ea"}}).id
    return instance_id


def complete(db, instance_id: int, who: Actor) -> None:  # type: ignore[no-untyped-def]
    [row] = [t for t in commands.query(db, tasks.open_tasks, instance_id) if t.assignee == who.username]
    commands.execute(db, tasks.complete, who, row.id, dict(OPINION, by=who.username))


def sees_other(db, instance_id: int, who: Actor, other: Actor) -> bool:  # type: ignore[no-untyped-def]
    def read(session):  # type: ignore[no-untyped-def]
        instance = instances.get(session, instance_id)
        return history.timeline(session, access.view_of(session, who, instance), instance)
    return any(e.actor == other.username or other.username in [f.value for f in e.fields]
               for e in commands.query(db, read))


def test_by_default_no_expert_ever_sees_another(db):
    instance_id = run_panel(db, {})
    complete(db, instance_id, CHAIR)
    assert not sees_other(db, instance_id, MEMBER, CHAIR)  # before submitting their own
    complete(db, instance_id, MEMBER)
    assert not sees_other(db, instance_id, MEMBER, CHAIR) and not sees_other(db, instance_id, CHAIR, MEMBER)


def test_after_own_lets_an_expert_see_the_others_once_their_own_is_in(db):
    instance_id = run_panel(db, {"expertsMaySeeEachOther": "after_own"})
    complete(db, instance_id, CHAIR)
    assert not sees_other(db, instance_id, MEMBER, CHAIR)
    complete(db, instance_id, MEMBER)
    assert sees_other(db, instance_id, MEMBER, CHAIR)


def test_chair_lets_only_the_chair_see_the_members_once_all_are_in(db):
    instance_id = run_panel(db, {"expertsMaySeeEachOther": "chair", "expertChair": "chair"})
    complete(db, instance_id, MEMBER)
    assert not sees_other(db, instance_id, CHAIR, MEMBER)  # the chair has not submitted: one is still open
    complete(db, instance_id, CHAIR)
    assert sees_other(db, instance_id, CHAIR, MEMBER)
    assert not sees_other(db, instance_id, MEMBER, CHAIR)


@pytest.mark.parametrize("properties", [{"expertsMaySeeEachOther": "always"}, {"expertsMaySeeEachOther": "chair"}])
def test_a_misspelt_peer_rule_is_refused_at_deploy(db, properties):
    with pytest.raises(DefinitionInvalid) as error:
        commands.execute(db, deployment.deploy, [("panel.bpmn", panel_process(properties))], "test")
    assert "expertsMaySeeEachOther" in str(error.value.problems)
