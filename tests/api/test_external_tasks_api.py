"""External tasks through the API, as Camunda 7's fetch-and-lock: a worker locks a task of its
topic, a lock that expires lets another worker fetch it (a dead worker loses nothing) and the
first may no longer complete it; failures retry after a timeout and, with no retries left,
become an incident a supervisor retries; a BPMN error goes to the task's boundary event."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from engine.core import clock

PAYMENT = ("bpmn/external_payment.bpmn",)
TOPIC = [{"name": "finance-payment", "lock_duration": 60_000}]


@pytest.fixture
def waiting(api, deploy):  # type: ignore[no-untyped-def]
    """Given an instance waiting on the finance system to pay its tranche."""
    deploy(*PAYMENT)
    status, instance = api("alice").post("/process-instances", {"process_key": "external_payment",
                                                                "data": {"amount": 300}, "business_key": "P-1"})
    assert status == 201, instance
    return instance


@pytest.fixture
def finance(api):  # type: ignore[no-untyped-def]
    return api("finance", ["integrations"])


@pytest.fixture
def supervisor(api):  # type: ignore[no-untyped-def]
    return api("sue", ["supervisors"])


def _fetch(worker: Any, worker_id: str) -> list[dict[str, Any]]:
    status, locked = worker.post("/external-tasks/fetch-and-lock",
                                 {"worker_id": worker_id, "max_tasks": 5, "topics": TOPIC})
    assert status == 200, locked
    return locked


def _later(minutes: int) -> Any:
    return clock.frozen_at(datetime.now(timezone.utc) + timedelta(minutes=minutes))


def _instance(supervisor: Any, instance_id: int) -> dict[str, Any]:
    return supervisor.get(f"/process-instances/{instance_id}")[1]


def test_a_task_is_fetched_its_lock_expires_another_worker_fetches_and_completes_it(waiting, finance, supervisor):
    [task] = _fetch(finance, "w1")
    assert task["topic"] == "finance-payment" and task["process_instance_id"] == waiting["id"]
    assert task["business_key"] == "P-1" and task["data"]["amount"] == 300
    assert _fetch(finance, "w2") == []  # locked by w1
    with _later(2):  # w1 died: its lock ran out
        [again] = _fetch(finance, "w2")
        assert again["id"] == task["id"]
        status, body = finance.post(f"/external-tasks/{task['id']}/complete", {"worker_id": "w1"})
        assert status == 409 and body["error"]["code"] == "conflict"
        status, body = finance.post(f"/external-tasks/{task['id']}/complete",
                                    {"worker_id": "w2", "data": {"paid_at": "2026-12-03"}})
        assert status == 200 and body["state"] == "completed"
    after = _instance(supervisor, waiting["id"])
    assert after["state"] == "completed" and after["data"]["paid_at"] == "2026-12-03"
    assert finance.post(f"/external-tasks/{task['id']}/complete", {"worker_id": "w2"})[0] == 409


def test_a_worker_sees_no_confidential_data_and_only_the_variables_it_asks_for(api, deploy, finance):
    # given an instance whose process keeps the panel's opinion confidential
    deploy(*PAYMENT)
    status, instance = api("alice").post("/process-instances", {
        "process_key": "external_payment", "data": {"amount": 300, "payee": "某大学", "panel_opinion": "secret"}})
    assert status == 201, instance
    # when one worker fetches everything and another only the amount
    [task] = _fetch(finance, "w1")
    assert task["data"]["amount"] == 300 and task["data"]["payee"] == "某大学"
    assert "panel_opinion" not in task["data"]
    with _later(2):
        status, [narrow] = finance.post("/external-tasks/fetch-and-lock", {
            "worker_id": "w2", "max_tasks": 1,
            "topics": [{"name": "finance-payment", "lock_duration": 1000, "variables": ["amount", "panel_opinion"]}]})
    # then each gets what it may see, and no more than it asked for
    assert status == 200 and narrow["data"] == {"amount": 300}


def test_an_expired_lock_cannot_complete(waiting, finance):
    [task] = _fetch(finance, "w1")
    with _later(2):
        status, body = finance.post(f"/external-tasks/{task['id']}/complete", {"worker_id": "w1"})
    assert status == 409 and "expired" in body["error"]["message"]


def test_failures_retry_after_a_timeout_then_an_incident_a_supervisor_retries(waiting, finance, supervisor):
    [task] = _fetch(finance, "w1")
    status, _ = finance.post(f"/external-tasks/{task['id']}/failure", {
        "worker_id": "w1", "error_message": "bank offline", "retries": 1, "retry_timeout": 300_000})
    assert status == 200
    assert _fetch(finance, "w1") == []  # not before the retry timeout
    with _later(6):
        [task] = _fetch(finance, "w1")
        status, body = finance.post(f"/external-tasks/{task['id']}/failure", {
            "worker_id": "w1", "error_message": "bank still offline", "retries": 0, "retry_timeout": 0})
        assert status == 200 and body["retries"] == 0
        assert _fetch(finance, "w1") == []
    failed = _instance(supervisor, waiting["id"])
    assert failed["state"] == "error" and "bank still offline" in failed["error"]["message"]
    stuck = supervisor.get("/supervisor/stuck")[1]["items"]
    assert [s["id"] for s in stuck] == [waiting["id"]]
    # found in the attention list by its business key
    found = supervisor.get("/supervisor/attention?q=p-1")[1]["items"]
    assert {item["instance_id"] for item in found} == {waiting["id"]}
    assert finance.post(f"/external-tasks/{task['id']}/retry", {"reason": "bank back"})[0] == 403
    status, body = supervisor.post(f"/external-tasks/{task['id']}/retry", {"retries": 2, "reason": ""})
    assert status == 422
    status, body = supervisor.post(f"/external-tasks/{task['id']}/retry", {"retries": 2, "reason": "bank back"})
    assert status == 200 and body["retries"] == 2
    assert _instance(supervisor, waiting["id"])["state"] == "running"
    [task] = _fetch(finance, "w1")
    assert finance.post(f"/external-tasks/{task['id']}/complete", {"worker_id": "w1"})[0] == 200
    assert _instance(supervisor, waiting["id"])["state"] == "completed"


def test_the_supervisors_instance_retry_also_clears_an_incident(waiting, finance, supervisor):
    [task] = _fetch(finance, "w1")
    finance.post(f"/external-tasks/{task['id']}/failure", {
        "worker_id": "w1", "error_message": "refused", "retries": 0, "retry_timeout": 0})
    status, body = supervisor.post(f"/process-instances/{waiting['id']}/retry", {"data": {}, "reason": "fixed"})
    assert status == 200 and body["state"] == "running", body
    [again] = _fetch(finance, "w1")
    assert again["id"] == task["id"]


def test_a_bpmn_error_goes_to_the_boundary_event(waiting, finance, supervisor):
    [task] = _fetch(finance, "w1")
    status, body = finance.post(f"/external-tasks/{task['id']}/bpmn-error",
                                {"worker_id": "w1", "error_code": "NO_SUCH_CODE"})
    assert status == 409
    status, body = finance.post(f"/external-tasks/{task['id']}/bpmn-error",
                                {"worker_id": "w1", "error_code": "PAYMENT_REFUSED", "data": {"why": "closed"}})
    assert status == 200, body
    after = _instance(supervisor, waiting["id"])
    assert after["state"] == "completed"
    assert after["data"]["outcome"] == "refused" and after["data"]["why"] == "closed"


def test_only_integrations_work_external_tasks(waiting, api):
    for user in (api("rita", ["reviewers"]), api("ada", ["admins"])):
        assert user.post("/external-tasks/fetch-and-lock",
                         {"worker_id": "x", "max_tasks": 1, "topics": TOPIC})[0] == 403


def test_bad_fetch_requests_are_refused(finance):
    status, body = finance.post("/external-tasks/fetch-and-lock", {"worker_id": "w1", "max_tasks": 0, "topics": []})
    assert status == 422 and set(body["error"]["fields"]) == {"max_tasks", "topics"}
    assert finance.post("/external-tasks/nope/complete", {"worker_id": "w1"})[0] == 404
