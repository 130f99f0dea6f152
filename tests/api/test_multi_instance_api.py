"""Multi-instance user tasks through the API, in both forms the contract names: the standard
BPMN form gathers each instance's output item into the output list in input order, whatever
order people finish in; Camunda's `camunda:collection` form gives each person their item; a
completion condition ends the panel early and cancels the tasks left open."""
from __future__ import annotations

from typing import Any

import pytest

EXPERTS = ["ann", "bob", "cai"]


@pytest.fixture
def people(api):  # type: ignore[no-untyped-def]
    """Signed-in API users by name, each created once."""
    known: dict[str, Any] = {}
    return lambda name: known.setdefault(name, known.get(name) or api(name))


@pytest.fixture
def panel(people, deploy):  # type: ignore[no-untyped-def]
    def _start(key: str, data: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        deploy(f"bpmn/{key}.bpmn", "forms/panel_vote.form")
        starter = people("chair")
        status, instance = starter.post("/process-instances",
                                        {"process_key": key, "data": data or {"experts": EXPERTS}})
        assert status == 201, instance
        return starter, instance
    return _start


def _open_task(people: Any, who: str) -> dict[str, Any] | None:
    items = people(who).get("/tasks?scope=assigned")[1]["items"]
    return items[0] if items else None


def _vote(people: Any, who: str, vote: str) -> dict[str, Any]:
    task = _open_task(people, who)
    assert task is not None, f"{who} has no open task"
    status, done = people(who).post(f"/tasks/{task['id']}/complete", {"data": {"vote": vote}})
    assert status == 200, done
    return done["process_instance"]


def test_standard_form_parallel_gathers_votes_in_input_order_not_completion_order(panel, people):
    _, instance = panel("panel_standard")
    assert len(instance["tasks"]) == 3
    _vote(people, "cai", "no")
    _vote(people, "ann", "yes")
    finished = _vote(people, "bob", "no")
    assert finished["state"] == "completed"
    assert finished["data"]["votes"] == ["yes", "no", "no"]


def test_standard_form_sequential_asks_one_expert_after_another(panel, people):
    _, instance = panel("panel_sequential")
    assert len(instance["tasks"]) == 1 and _open_task(people, "ann") is not None
    assert _open_task(people, "bob") is None
    _vote(people, "ann", "no")
    _vote(people, "bob", "yes")
    finished = _vote(people, "cai", "yes")
    assert finished["state"] == "completed" and finished["data"]["votes"] == ["no", "yes", "yes"]


def test_camunda_collection_form_gives_each_expert_their_task(panel, people):
    _, instance = panel("panel_camunda")
    assert len(instance["tasks"]) == 3
    for who in reversed(EXPERTS):
        finished = _vote(people, who, "yes")
    assert finished["state"] == "completed"


def test_completion_condition_stops_when_two_of_three_voted_no(panel, people):
    _, instance = panel("panel_until_two_no")
    _vote(people, "bob", "no")
    after_one = people("chair").get(f"/process-instances/{instance['id']}")[1]
    assert after_one["state"] == "running"
    finished = _vote(people, "cai", "no")
    assert finished["state"] == "completed"
    assert finished["data"]["votes"] == ["no", "no"]  # bob's, then cai's: input order
    assert _open_task(people, "ann") is None  # her vote is no longer needed


def test_loop_cardinality_with_a_juel_completion_condition_on_camunda_counters(panel, people):
    _, instance = panel("panel_cardinality", {"seats": 3, "expert": "ann"})
    assert len(instance["tasks"]) == 3
    first = _vote(people, "ann", "yes")
    assert first["state"] == "running"
    finished = _vote(people, "ann", "no")
    assert finished["state"] == "completed" and finished["data"]["votes"] == ["yes", "no"]



def test_camunda_collection_without_element_variable_runs_one_instance_per_item(panel, api):
    _, instance = panel("panel_camunda_no_item")
    assert len(instance["tasks"]) == 3
    member = api("pat", ["panel"])
    for task in member.get("/tasks?scope=candidate")[1]["items"]:
        status, done = member.post(f"/tasks/{task['id']}/complete", {"data": {"vote": "yes"}})
        assert status == 200, done
    assert done["process_instance"]["state"] == "completed"
