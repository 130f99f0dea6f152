"""The lifecycle's definition files themselves: they validate; every user task has a form, a role
and a due date; every element is named in both languages and drawn (BPMNDI), so bpmn-js can
show it; every form label is bilingual."""
from __future__ import annotations

import json

import pytest
from lxml import etree

from engine.definitions.validation import collect_paths, validate_sources
from tests.conftest import ROOT

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
LIFECYCLE = ["project_lifecycle", "application_acceptance", "establishment_review", "establishment",
             "in_process_management", "acceptance", "performance_evaluation"]
FLOW_NODES = ("startEvent", "endEvent", "userTask", "scriptTask", "businessRuleTask", "callActivity",
              "exclusiveGateway", "parallelGateway", "intermediateCatchEvent", "boundaryEvent", "subProcess")


def _bilingual(label: str | None) -> bool:
    """'中文 · English' (after full-width punctuation the space before the dot is left out)."""
    chinese, _, english = (label or "").partition("· ")
    return bool(chinese.strip() and english.strip()) and any("\u4e00" <= ch <= "\u9fff" for ch in chinese)


def _tree(key: str):  # type: ignore[no-untyped-def]
    return etree.parse(str(ROOT / "processes" / f"{key}.bpmn"))


def test_processes_and_forms_validate_together():
    bundle = validate_sources(collect_paths([str(ROOT / "processes"), str(ROOT / "forms")]))
    assert bundle.problems == []
    assert set(LIFECYCLE) <= {p.key for p in bundle.processes}


@pytest.mark.parametrize("key", LIFECYCLE)
def test_every_user_task_has_a_form_a_role_and_a_due_date(key):
    for task in _tree(key).iter(f"{{{BPMN}}}userTask"):
        attributes = {k.split("}")[-1]: v for k, v in task.attrib.items()}
        due_props = task.findall(f".//{{{CAMUNDA}}}property[@name='dueWorkingDays']")
        assert attributes.get("formKey"), task.get("id")
        assert attributes.get("assignee") or attributes.get("candidateGroups"), task.get("id")
        assert attributes.get("dueDate") or due_props, task.get("id")


@pytest.mark.parametrize("key", LIFECYCLE)
def test_every_element_is_named_in_both_languages_and_drawn(key):
    tree = _tree(key)
    drawn = {shape.get("bpmnElement") for shape in tree.iter(f"{{{DI}}}BPMNShape")}
    edges = {edge.get("bpmnElement") for edge in tree.iter(f"{{{DI}}}BPMNEdge")}
    for tag in FLOW_NODES:
        for node in tree.iter(f"{{{BPMN}}}{tag}"):
            assert _bilingual(node.get("name")), f"{node.get('id')} needs a '中文 · English' name"
            assert node.get("id") in drawn, f"{node.get('id')} has no shape"
    for flow in tree.iter(f"{{{BPMN}}}sequenceFlow"):
        assert flow.get("id") in edges, f"{flow.get('id')} has no edge"
        waypoints = tree.find(f".//{{{DI}}}BPMNEdge[@bpmnElement='{flow.get('id')}']").findall(
            "{http://www.omg.org/spec/DD/20100524/DI}waypoint")
        assert len(waypoints) >= 2


LIFECYCLE_FORMS = sorted({node.get(f"{{{CAMUNDA}}}formKey") for key in LIFECYCLE
                          for node in _tree(key).iter() if node.get(f"{{{CAMUNDA}}}formKey")})


@pytest.mark.parametrize("form_key", LIFECYCLE_FORMS)
def test_every_form_label_is_bilingual(form_key):
    form = json.loads((ROOT / "forms" / f"{form_key}.form").read_text(encoding="utf-8"))

    def labelled(components):  # type: ignore[no-untyped-def]
        for component in components:
            yield component
            yield from labelled(component.get("components", []))
    for component in labelled(form["components"]):
        if component.get("label"):
            assert _bilingual(component["label"]), f"{form_key}: {component['label']}"
        for option in component.get("values", []):
            assert _bilingual(option["label"]), f"{form_key}: {option['label']}"
