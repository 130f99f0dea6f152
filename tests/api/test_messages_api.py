"""Messages and signals from other systems through the API (the contract's POST /messages and
POST /signals): a message reaches the one instance waiting that matches its business key,
instance id or correlation variables; none waiting is 404 `no_match`, several 409; a message
start event starts an instance; thrown messages reach other instances; a signal reaches every
waiting instance. Every delivery is in the audit log."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.core.models import AuditEvent

WAIT = ("bpmn/message_wait.bpmn",)


@pytest.fixture
def finance(api):  # type: ignore[no-untyped-def]
    return api("finance", ["integrations"])


def _start(user: Any, key: str, data: dict[str, Any] | None = None, business_key: str | None = None) -> dict:
    body: dict[str, Any] = {"process_key": key, "data": data or {}}
    if business_key is not None:
        body["business_key"] = business_key
    status, instance = user.post("/process-instances", body)
    assert status == 201, instance
    return instance


def test_a_business_key_is_kept_shown_and_unique_among_running_instances(api, deploy):
    deploy(*WAIT)
    alice = api("alice")
    first = _start(alice, "message_wait", business_key="ORDER-1")
    assert first["business_key"] == "ORDER-1"
    assert alice.get(f"/process-instances/{first['id']}")[1]["business_key"] == "ORDER-1"
    status, body = alice.post("/process-instances", {"process_key": "message_wait", "data": {},
                                                     "business_key": "ORDER-1"})
    assert status == 409 and body["error"]["code"] == "conflict"
    assert _start(alice, "message_wait")["business_key"] is None


def test_a_message_correlates_by_business_key_and_its_data_is_merged(api, deploy, finance, db):
    """Given two instances waiting for payment_confirmed with different business keys, when the
    finance system sends it for ORDER-2, then only that instance moves on, with the data."""
    deploy(*WAIT)
    alice = api("alice")
    one, two = _start(alice, "message_wait", business_key="ORDER-1"), _start(alice, "message_wait", business_key="ORDER-2")
    status, body = finance.post("/messages", {"name": "payment_confirmed", "business_key": "ORDER-2",
                                              "data": {"amount": 5000}})
    assert status == 200 and body == {"process_instance_id": two["id"]}
    supervisor = api("sue", ["supervisors"])  # the starter sees only the fields declared for them
    assert supervisor.get(f"/process-instances/{two['id']}")[1]["data"]["amount"] == 5000
    # the second instance now waits at its receive task; the first still for the payment
    status, body = finance.post("/messages", {"name": "order_placed", "business_key": "ORDER-2"})
    assert status == 200
    assert alice.get(f"/process-instances/{two['id']}")[1]["state"] == "completed"
    assert alice.get(f"/process-instances/{one['id']}")[1]["state"] == "running"
    with db.read() as session:
        delivered = session.scalars(select(AuditEvent).where(AuditEvent.action == "message_delivered")).all()
    assert [(e.process_instance_id, e.details["name"]) for e in delivered] == \
        [(two["id"], "payment_confirmed"), (two["id"], "order_placed")]


def test_a_message_correlates_by_a_process_variable(api, deploy, finance):
    deploy(*WAIT)
    alice = api("alice")
    _start(alice, "message_wait", {"order": "A-1"})
    wanted = _start(alice, "message_wait", {"order": "A-2"})
    status, body = finance.post("/messages", {"name": "payment_confirmed", "correlation": {"order": "A-2"}})
    assert status == 200 and body["process_instance_id"] == wanted["id"]


def test_a_message_no_instance_waits_for_is_404_no_match_and_changes_nothing(api, deploy, finance):
    deploy(*WAIT)
    alice = api("alice")
    instance = _start(alice, "message_wait", business_key="ORDER-1")
    # the receive task is not ready yet: a message that comes too early is an error
    status, body = finance.post("/messages", {"name": "order_placed", "business_key": "ORDER-1"})
    assert status == 404 and body["error"]["code"] == "no_match"
    status, body = finance.post("/messages", {"name": "payment_confirmed", "business_key": "ORDER-9"})
    assert status == 404 and body["error"]["code"] == "no_match"
    assert api("sue", ["supervisors"]).get(f"/process-instances/{instance['id']}")[1]["data"] == {}


def test_a_message_several_instances_match_is_409(api, deploy, finance):
    deploy(*WAIT)
    alice = api("alice")
    _start(alice, "message_wait", {"order": "A-1"})
    _start(alice, "message_wait", {"order": "A-1"})
    status, body = finance.post("/messages", {"name": "payment_confirmed", "correlation": {"order": "A-1"}})
    assert status == 409 and body["error"]["code"] == "conflict"


def test_a_message_start_event_starts_an_instance_whose_end_message_reaches_another(api, deploy, finance):
    """Given an instance waiting for duplicate_checked, when the provincial platform reports a
    duplicate, then a duplicate_report instance starts with the business key; when its check is
    done, its message end event moves the waiting instance on."""
    deploy("bpmn/message_start.bpmn")
    alice, supervisor = api("alice"), api("sue", ["supervisors"])
    waiting = _start(alice, "duplicate_wait")
    status, body = finance.post("/messages", {"name": "duplicate_reported", "business_key": "P-7",
                                              "data": {"project": "P-7"}})
    assert status == 200
    reviewer = api("rita", ["reviewers"])
    started = supervisor.get(f"/process-instances/{body['process_instance_id']}")[1]
    assert started["process_key"] == "duplicate_report" and started["business_key"] == "P-7"
    assert started["data"]["project"] == "P-7"
    [task] = started["tasks"]
    assert reviewer.post(f"/tasks/{task['id']}/claim")[0] == 200
    assert reviewer.post(f"/tasks/{task['id']}/complete", {"data": {}})[0] == 200
    assert alice.get(f"/process-instances/{waiting['id']}")[1]["state"] == "completed"


def test_a_signal_reaches_every_waiting_instance(api, deploy, finance):
    deploy("bpmn/signal_wait.bpmn")
    alice = api("alice")
    one, two = _start(alice, "signal_wait"), _start(alice, "signal_wait")
    status, body = finance.post("/signals", {"name": "budget_frozen", "data": {"frozen": True}})
    assert status == 200 and body == {"delivered": 2}
    for instance in (one, two):
        after = alice.get(f"/process-instances/{instance['id']}")[1]
        assert after["state"] == "completed" and after["tasks"] == []
    assert finance.post("/signals", {"name": "budget_frozen"})[1] == {"delivered": 0}


def test_only_integrations_and_admins_send_messages_and_signals(api, deploy):
    deploy(*WAIT)
    _start(api("alice"), "message_wait", business_key="ORDER-1")
    stranger = api("sam", ["reviewers"])
    assert stranger.post("/messages", {"name": "payment_confirmed", "business_key": "ORDER-1"})[0] == 403
    assert stranger.post("/signals", {"name": "budget_frozen"})[0] == 403
    admin = api("ada", ["admins"])
    assert admin.post("/messages", {"name": "payment_confirmed", "business_key": "ORDER-1"})[0] == 200
    assert admin.post("/messages", {"name": ""})[0] == 422


def test_the_openapi_document_describes_the_calls_of_other_systems(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/v1/messages", "/v1/signals", "/v1/external-tasks/fetch-and-lock",
                 "/v1/external-tasks/{id}/complete", "/v1/external-tasks/{id}/failure",
                 "/v1/external-tasks/{id}/bpmn-error", "/v1/external-tasks/{id}/retry"):
        assert "post" in paths[path], path
    assert "business_key" in client.get("/api/openapi.json").get_json()["components"]["schemas"]["StartRequest"]["properties"]


def test_a_signal_thrown_in_a_process_reaches_the_instances_waiting_for_it(api, deploy):
    deploy("bpmn/signal_wait.bpmn", "bpmn/signal_throw.bpmn")
    alice = api("alice")
    waiting = [_start(alice, "signal_wait"), _start(alice, "signal_wait")]
    assert _start(alice, "signal_throw")["state"] == "completed"
    assert [alice.get(f"/process-instances/{w['id']}")[1]["state"] for w in waiting] == ["completed", "completed"]


def test_a_non_interrupting_message_boundary_event_keeps_the_task_and_adds_a_path(api, deploy, finance):
    deploy("bpmn/message_boundary.bpmn")
    alice = api("alice")
    instance = _start(alice, "message_boundary", business_key="Q-1")
    assert finance.post("/messages", {"name": "platform_query", "business_key": "Q-1"})[0] == 200
    names = sorted(t["name"] for t in api("sue", ["supervisors"]).get(f"/process-instances/{instance['id']}")[1]["tasks"])
    assert names == ["answer_query", "work"]
    # SpiffWorkflow fires a non-interrupting boundary event once per activation of its task
    # (Camunda would fire it again): a second query finds nothing waiting
    assert finance.post("/messages", {"name": "platform_query", "business_key": "Q-1"})[0] == 404


def test_data_whose_keys_scripts_cannot_use_is_refused_and_changes_nothing(api, deploy, finance):
    deploy(*WAIT)
    _start(api("alice"), "message_wait", business_key="ORDER-1")
    status, body = finance.post("/messages", {"name": "payment_confirmed", "business_key": "ORDER-1",
                                              "data": {"__class__": 1, "ok": 2}})
    assert status == 422 and list(body["error"]["fields"]) == ["__class__"]
    assert finance.post("/messages", {"name": "payment_confirmed", "business_key": "ORDER-1"})[0] == 200


def test_a_thrown_message_with_a_correlation_reaches_only_the_matching_instance_with_its_message_data(api, deploy):
    # given two instances waiting for the same message, told apart by their data
    deploy("bpmn/correlated_wait.bpmn", "bpmn/correlated_throw.bpmn")
    alice = api("alice")
    first, second = (_start(alice, "correlated_wait", {"project_id": n, "note": "old"}) for n in (1, 2))
    # when a process throws it with a correlation naming the second
    assert _start(alice, "correlated_throw", {"target": 2})["state"] == "completed"
    # then only the second receives it, with the message's data winning over what it held,
    # and nothing else of the sender's data
    supervisor = api("boss", ["supervisors"])  # sees the whole data
    got = {w["id"]: supervisor.get(f"/process-instances/{w['id']}")[1] for w in (first, second)}
    assert got[first["id"]]["state"] == "running"
    data = got[second["id"]]["data"]
    assert got[second["id"]]["state"] == "completed" and data["seen"] == "new" and data["answer"] == 42
    assert "secret" not in data and "correlation" not in data
