"""Expressions as Camunda users write them. JUEL in `${...}`: the subset translates to the Python
the sandbox runs, Python inside `${...}` stays Python, and JUEL outside the subset is refused at
deploy naming the element and the construct. Other languages (FEEL, XPath, cron timer cycles)
are refused with the reason and what to write instead."""
from __future__ import annotations

from datetime import date

import pytest

from engine.definitions import juel
from engine.definitions.validation import split_names, validate_sources
from engine.scripting.sandbox import LocalEnvironment

ENV = LocalEnvironment()


@pytest.mark.parametrize("expression, data, expected", [
    ("!approved", {"approved": False}, True),
    ("a > 1 && b lt 3", {"a": 2, "b": 2}, True),
    ("a eq 'x' || b ne null", {"a": "y", "b": None}, False),
    ("empty tags", {"tags": []}, True),
    ("empty tags", {"tags": None}, True),
    ("empty tags", {"tags": ""}, True),
    ("empty tags", {"tags": [0]}, False),
    ("not empty m", {"m": {}}, False),
    ("person.name", {"person": {"name": "Li"}}, "Li"),
    ("person.missing", {"person": {}}, None),
    ("person.address.city", {"person": None}, None),
    ("big ? 'yes' : 'no'", {"big": True}, "yes"),
    ("x ge 2 and x le 4", {"x": 4}, True),
    ("true == flag", {"flag": True}, True),
    ("items[1]", {"items": [5, 6]}, 6),
    ("due.year", {"due": date(2027, 1, 1)}, 2027),  # not a map: the attribute, as Python read it
])
def test_the_subset_means_what_it_means_in_camunda(expression, data, expected):
    assert ENV.evaluate(juel.to_python(expression), dict(data)) == expected


@pytest.mark.parametrize("python", ['"a" in tags', "len(x) > 0", "x.get('a') == 1",
                                    "a if b else c", "x is None"])
def test_python_inside_dollar_braces_stays_python(python):
    assert juel.to_python(python) == python


@pytest.mark.parametrize("expression, construct", [
    ("execution.getVariable('a') && x", "execution"),
    ("list.size() > 0", "method call"),
    ("!approved && fn:contains(a, b)", "unexpected"),
])
def test_juel_outside_the_subset_is_named(expression, construct):
    with pytest.raises(juel.JuelError, match=construct):
        juel.to_python(expression)


def test_a_deploy_refuses_unsupported_juel_naming_the_flow():
    bpmn = b"""<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="g" default="f3"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
    <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e"><bpmn:conditionExpression>${orders.size() gt 0}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
    [problem] = validate_sources([("p.bpmn", bpmn)]).problems
    assert problem.element_id == "f2" and "method call" in problem.message and problem.line == 8


def _process(task_attributes: str = "", condition: str = "x") -> bytes:
    return f"""<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="u" {task_attributes}><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="g" default="f4"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/>
    <bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="g"/>
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e"><bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_assignment_and_due_date_attributes_are_translated_once_at_deploy():
    bundle = validate_sources([("p.bpmn", _process(
        'camunda:assignee="${project.owner}" camunda:candidateGroups="reviewers, ${empty team ? \'office\' : team}" '
        'camunda:dueDate="${urgent ? \'P1D\' : \'P5D\'}"', "${!done}"))])
    assert not bundle.problems
    attributes = bundle.processes[0].spec.task_specs["u"].extensions["attributes"]
    assert ENV.evaluate(attributes["assignee"][2:-1], {"project": {"owner": "li"}}) == "li"
    assert split_names(attributes["candidateGroups"])[0] == "reviewers"
    assert ENV.evaluate(split_names(attributes["candidateGroups"])[1][2:-1], {"team": None}) == "office"
    assert ENV.evaluate(attributes["dueDate"][2:-1], {"urgent": True}) == "P1D"


@pytest.mark.parametrize("condition, reason", [
    ("=fraud", "FEEL"),
    ("bpmn:getDataObject('approved')", "XPath"),
    ("${execution.getVariable('x')}", "execution"),
])
def test_expressions_of_other_languages_are_refused_with_the_reason(condition, reason):
    [problem] = validate_sources([("p.bpmn", _process(condition=condition))]).problems
    assert problem.element_id == "f3" and reason in problem.message


def test_plain_python_conditions_are_left_exactly_as_written():
    bundle = validate_sources([("p.bpmn", _process(condition='decision == "accept" and score &gt;= 60'))])
    assert not bundle.problems


def test_a_cron_timer_cycle_is_refused_with_the_iso_form_to_write_instead():
    bpmn = _process().replace(b'<bpmn:endEvent id="e">', b'''<bpmn:boundaryEvent id="b" attachedToRef="u" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeCycle>0 0 9 * * ?</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent><bpmn:endEvent id="e">''')
    [problem] = validate_sources([("p.bpmn", bpmn)]).problems
    assert problem.element_id == "b" and "cron" in problem.message and "R/P1D" in problem.message


def test_commas_inside_an_expression_do_not_split_an_assignment_attribute():
    assert split_names("reviewers, ${f(a, b)}, ${x if y else {'k': 1}['k']}") == \
        ["reviewers", "${f(a, b)}", "${x if y else {'k': 1}['k']}"]


def test_a_refused_timer_expression_names_its_event_not_the_definition():
    bpmn = _process().replace(b'<bpmn:endEvent id="e">', b'''<bpmn:boundaryEvent id="b" attachedToRef="u">
      <bpmn:timerEventDefinition id="TimerEventDefinition_1"><bpmn:timeDate>${deadline.plusDays(3)}</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent><bpmn:endEvent id="e">''')
    [problem] = validate_sources([("p.bpmn", bpmn)]).problems
    assert problem.element_id == "b" and "method call" in problem.message
