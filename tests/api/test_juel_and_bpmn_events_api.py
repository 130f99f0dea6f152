"""Files written for Camunda 7 run as their authors meant: JUEL conditions in `${...}` route as
in Camunda (`&&`, `!`, `gt`, `||`, `empty`, `eq`, `not`, `a.b` on maps, `a ? b : c` in an
assignment), and BPMN error and escalation end events reach the boundary events that catch
them; a data store keeps a value for later tasks; driven through the API."""
from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def start(api, deploy):  # type: ignore[no-untyped-def]
    users: dict[str, Any] = {}

    def _start(key: str, data: dict[str, Any]) -> dict[str, Any]:
        if not users:
            deploy(f"bpmn/{key}.bpmn")
            users["starter"] = api("starter")
            users["supervisor"] = api("sue", ["supervisors"])  # sees all of an instance's data
        status, instance = users["starter"].post("/process-instances", {"process_key": key, "data": data})
        assert status == 201, instance
        return users["supervisor"].get(f"/process-instances/{instance['id']}")[1]
    return _start


@pytest.mark.parametrize("data, path", [
    ({"amount": 5000, "approved": False, "applicant": {"tags": ["a"], "contact": "carol"}}, "escalate"),
    ({"amount": 5000, "approved": True, "applicant": {"tags": ["a"]}}, "auto"),
    ({"amount": 10, "approved": False, "applicant": {"tags": []}}, "auto"),  # empty list
    ({"amount": 10, "approved": False, "applicant": {}}, "auto"),  # a.b of a missing key is null
    ({"amount": 10, "approved": False, "applicant": {"tags": ["a"]}}, "manual"),  # the default flow
])
def test_juel_conditions_route_as_in_camunda(start, data, path):
    instance = start("juel_routing", data)
    assert instance["data"]["path"] == path
    assert instance["state"] == ("running" if path == "escalate" else "completed")


def test_a_juel_ternary_assignment_picks_the_assignee(start, api):
    start("juel_routing", {"amount": 5000, "approved": False, "applicant": {"tags": ["a"], "contact": "carol"}})
    assert api("carol").get("/tasks?scope=assigned")[1]["total"] == 1


@pytest.mark.parametrize("outcome, path", [
    ("refuse", "refused"),  # error end event -> error boundary event
    ("late", "escalated"),  # escalation end event -> escalation boundary event
    ("pay", "paid"),
])
def test_error_and_escalation_end_events_reach_their_boundary_events(start, outcome, path):
    instance = start("error_and_escalation", {"outcome": outcome})
    assert instance["state"] == "completed"
    assert instance["data"]["path"] == path


def test_a_data_store_keeps_what_one_task_wrote_for_a_later_task_to_read(start):
    instance = start("data_store_ledger", {"amount": 120})
    assert instance["state"] == "completed", instance.get("error")
    assert instance["data"]["seen"] == 120


def test_a_non_interrupting_escalation_runs_its_path_while_the_subprocess_carries_on(start):
    instance = start("error_and_escalation", {"outcome": "warn"})
    assert instance["state"] == "completed"
    assert instance["data"]["path"] == "paid" and instance["data"]["warned"] is True
