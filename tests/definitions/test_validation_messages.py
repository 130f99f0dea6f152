"""Validation messages are whole sentences a designer can act on: SpiffWorkflow's "Multiple
outgoing flows are not supported for tasks of type" stops before naming the type, so the
engine says which kind of element it is and what to do instead."""
from __future__ import annotations

from engine.definitions.validation import validate_sources

TWO_WAYS_OUT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="split" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="work"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="a"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="b"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f1" sourceRef="work" targetRef="a"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="b"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_task_with_two_outgoing_flows_is_refused_with_a_whole_sentence():
    # given a script task with two outgoing sequence flows and no gateway
    bundle = validate_sources([("split.bpmn", TWO_WAYS_OUT)])
    # then the problem names the element and says what to do, and nothing is cut off
    messages = {p.element_id: p.message for p in bundle.problems}
    assert messages.get("work") == ("A scriptTask may have only one outgoing sequence flow; "
                                    "to branch, lead it into a gateway.")
    assert not any(m.endswith("of type") or m.endswith("of type.") for m in messages.values())
