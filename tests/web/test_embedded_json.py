"""Data embedded in a page as JSON (the dashboard's figures, the heatmap's counts, the diagram's
markers) goes through Jinja's `tojson`, which escapes `<`, `>`, `&` and `'`: a process or task
named like markup, or a query string carrying it, stays text inside the data block and never
closes it, so no element of the attacker's lands in the page."""
from __future__ import annotations

import json
import re
from html import escape

import pytest
from playwright.sync_api import expect

from engine.core import commands
from engine.definitions import deployment
from engine.runtime import instances, tasks

from .conftest import actor, sign_in
from .test_sign_in_and_protection import sign_in as sign_in_client

PAYLOAD = "</script><img src=x onerror=alert(1)>"
BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="Defs_inject" targetNamespace="http://scitech.example/test">
  <bpmn:process id="inject" name="{escape(PAYLOAD)}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="{escape(PAYLOAD)}" camunda:candidateGroups="supervisors" camunda:dueDate="P3D">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="inject">
    <bpmndi:BPMNShape id="s_start" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_check" bpmnElement="check"><dc:Bounds x="200" y="78" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_end" bpmnElement="end"><dc:Bounds x="360" y="100" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="e1" bpmnElement="f1"><di:waypoint x="136" y="118" /><di:waypoint x="200" y="118" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="e2" bpmnElement="f2"><di:waypoint x="300" y="118" /><di:waypoint x="360" y="118" /></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
PAGES = ["/supervisor/dashboard", "/supervisor/dashboard?process=inject", "/supervisor/heatmap?process=inject",
         f"/supervisor/dashboard?process={PAYLOAD}", f"/supervisor/heatmap?process={PAYLOAD}"]


@pytest.fixture
def named_like_markup(people, db):  # type: ignore[no-untyped-def]
    """Given a process and its task named like markup, one instance done and one waiting."""
    commands.execute(db, deployment.deploy, [("inject.bpmn", BPMN.encode())], "test")
    boss = actor("zhao")
    done = commands.execute(db, instances.start, boss, "inject", {})
    commands.execute(db, tasks.complete, boss, commands.query(db, tasks.open_tasks, done.id)[0].id, {})
    return commands.execute(db, instances.start, boss, "inject", {})


def _data_blocks(html: str) -> list[str]:
    return re.findall(r'<script type="application/json" id="[\w-]+">(.*?)</script>', html, re.S)


@pytest.mark.parametrize("path", PAGES)
def test_a_name_or_query_like_markup_stays_inside_the_pages_json(client, named_like_markup, path):
    sign_in_client(client, "zhao")
    # when a supervisor opens the dashboard or the heatmap
    response = client.get(path)
    html = response.get_data(as_text=True)
    # then the markup never lands: no raw tag, the data block is one piece of valid JSON
    assert response.status_code in (200, 404)
    assert "<img" not in html
    for block in _data_blocks(html):
        assert "<" not in block and ">" not in block
        json.loads(block)
    if path.endswith("process=inject"):
        [block] = _data_blocks(html)
        assert PAYLOAD in json.dumps(json.loads(block), ensure_ascii=False)  # shown, as text


def test_the_instance_pages_markers_are_embedded_as_json_through_tojson(client, named_like_markup):
    sign_in_client(client, "zhao")
    for path in (f"/instances/{named_like_markup.id}", f"/supervisor/instances/{named_like_markup.id}"):
        html = client.get(path).get_data(as_text=True)
        markers = re.search(r"data-markers='([^']*)'", html).group(1)
        assert "check" in json.loads(markers)["current"]


def test_in_the_browser_no_element_of_the_name_is_injected(page, named_like_markup):
    sign_in(page, "zhao")
    page.goto("/supervisor/dashboard")
    assert page.locator("img[src='x']").count() == 0
    expect(page.locator("#dashboard")).to_have_attribute("data-charts", "3")
    page.goto("/supervisor/heatmap?process=inject")
    assert page.locator("img[src='x']").count() == 0
    expect(page.locator("#heatmap")).to_have_attribute("data-ready", "true")
    expect(page.locator("#heatmap-table tr[data-element='check']")).to_contain_text(PAYLOAD)
    page.goto(f"/supervisor/dashboard?process={PAYLOAD}")
    assert page.locator("img[src='x']").count() == 0
