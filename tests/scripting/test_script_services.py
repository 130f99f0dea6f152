"""The functions scripts may call (engine.script_services): they work only inside an engine
command, in its transaction; they check their arguments; they return JSON; and a real BPMN script
calls them through the sandbox."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from engine.core import clock, commands
from engine.runtime import instances
from engine.lifecycle import organisations, projects
from engine.scripting import script_services
from engine.core.calendar import BUREAU_TZ
from engine.core.principals import Actor
from engine.scripting.script_engine import RestrictedEnvironment

APPLICATION = {"title": "茶园土壤湿度传感网络", "abstract": "印刷电容式传感器用于山地茶园灌溉调度。",
               "plan_category": "natural_science", "discipline": "agriculture", "organisation": "某研究所",
               "principal_investigator": "王五", "budget": 80, "period_months": 24}

SCRIPTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://x">
  <bpmn:process id="scripted" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>project = register_application(application, "wang.wu")
deadline = working_days_after(5)
status = set_project_status(project["project_id"], wanted, reason)["status"]</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_outside_a_command_the_services_refuse_to_run():
    with pytest.raises(RuntimeError, match="only while the engine runs a command"):
        script_services.project_facts(1)


def test_a_bpmn_script_calls_the_services_in_the_commands_transaction(db):
    from engine.definitions import deployment
    commands.execute(db, deployment.deploy, [("scripted.bpmn", SCRIPTED)], "t")
    with clock.frozen_at(datetime(2025, 9, 26, 10, tzinfo=BUREAU_TZ)):
        instance = commands.execute(db, instances.start, Actor("wang.wu"), "scripted",
                                    {"application": APPLICATION, "reason": "材料不全", "wanted": "not_accepted"})
    data = commands.query(db, lambda s: instances.data_of(instances.get(s, instance.id)))
    # then the register has the project with the status the script set, and the deadline skipped
    # the National Day holiday (28 Sep is a make-up Sunday)
    assert instance.state == "completed" and data["status"] == "not_accepted"
    assert data["deadline"] == "2025-10-10T10:00:00+08:00"
    assert commands.query(db, lambda s: projects.get(s, data["project"]["project_id"]).status) == "not_accepted"


def test_a_script_that_fails_halfway_leaves_nothing_in_the_register_and_retries_cleanly(db):
    from engine.definitions import deployment
    commands.execute(db, deployment.deploy, [("scripted.bpmn", SCRIPTED)], "t")
    instance = commands.execute(db, instances.start, Actor("wang.wu"), "scripted",
                                {"application": APPLICATION, "reason": "x", "wanted": "no_such_status"})
    # the instance is in error at the script, with the service's message; the project registered
    # on the script's first line is rolled back with it
    assert instance.state == "error" and "unknown project status" in instance.error_message
    count = lambda: commands.query(db, lambda s: s.scalar(select(func.count()).select_from(projects.Project)))  # noqa: E731
    assert count() == 0
    # and a supervisor's retry with corrected data registers it exactly once
    supervisor = Actor("boss", frozenset({"supervisors"}))
    commands.execute(db, instances.retry, supervisor, instance.id, {"wanted": "not_accepted"}, "fixed the status")
    assert count() == 1 and commands.query(db, instances.get, instance.id).state == "completed"


def test_every_service_returns_plain_json(db):
    def run(session):  # type: ignore[no-untyped-def]
        organisations.ensure(session, "inst", "某研究所", "institute", recommender_code="xh")
        with script_services.bound(session):
            facts = script_services.register_application(APPLICATION, "wang.wu")
            pid = facts["project_id"]
            return [facts, script_services.submission_check(APPLICATION), script_services.integrity_check(pid),
                    script_services.similar_applications(pid), script_services.credit_history(pid),
                    script_services.aggregate_scores([80, 90, 70, 85, 60]), script_services.months_after(6, "2026-01-04"),
                    script_services.set_project_status(pid, "under_review"), script_services.rank_in_batch(pid)]
    results = commands.execute(db, run)
    assert json.loads(json.dumps(results)) == results
    assert results[1]["organisation"]["recommender_group"] == "recommender.xh"
    assert results[6] == "2026-07-04T09:00:00+08:00"


@pytest.mark.parametrize("call, message", [
    (lambda: script_services.working_days_after("five"), "whole number"),
    (lambda: script_services.aggregate_scores("80,90"), "list of numbers"),
    (lambda: script_services.expert_scored(1, {"slot": 0}, 101), "0 to 100"),
    (lambda: script_services.project_facts("1"), "whole number"),
    (lambda: script_services.submission_check("an application"), "an object"),
])
def test_bad_arguments_give_a_message_a_designer_understands(db, call, message):
    def run(session):  # type: ignore[no-untyped-def]
        with script_services.bound(session):
            call()
    with pytest.raises(ValueError, match=message):
        commands.execute(db, run)


def test_scripts_see_the_services_and_nothing_else_of_the_engine():
    env = RestrictedEnvironment(environment_globals=script_services.GLOBALS)
    context: dict = {}
    env.execute("names = sorted(n for n in ['working_days_after', 'draw_experts'])", context)
    assert "working_days_after" in script_services.GLOBALS and "_db" not in script_services.GLOBALS
    assert "bound" not in script_services.GLOBALS and "Session" not in script_services.GLOBALS
    with pytest.raises(Exception, match="not allowed|_db"):
        env.execute("x = _db()", context)


def test_a_working_day_deadline_starts_from_the_given_moment():
    assert script_services.working_days_after(1, "2025-09-30T17:00:00+08:00") == "2025-10-09T17:00:00+08:00"
    assert script_services.working_days_after(1, "2025-09-30") == "2025-10-09T09:00:00+08:00"
