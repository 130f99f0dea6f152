"""An external task's incident on the supervisor's page of the instance, in both languages:
the card names the step, the topic and the worker's last error; its retry form needs a reason
(re-rendered with the error, nothing changed) and then makes the task fetchable again."""
from __future__ import annotations

from engine.core import commands
from engine.core.principals import Actor
from engine.runtime import external_tasks, instances
from tests.web.conftest import csrf_from

FINANCE = Actor("finance", frozenset({"integrations"}))
TOPICS = [{"name": "finance-payment", "lock_duration": 60_000}]


def _incident(db) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    instance = commands.execute(db, instances.start, Actor("alice"), "external_payment", {})
    [task] = commands.execute(db, external_tasks.fetch_and_lock, FINANCE, "w1", 1, TOPICS)
    commands.execute(db, external_tasks.failure, FINANCE, task["id"], "w1", "bank offline", 0, 0)
    return instance.id, task["id"]


def test_a_supervisor_sees_the_incident_and_lets_a_worker_fetch_it_again(client, db, deploy, make_user):
    deploy("bpmn/external_payment.bpmn")
    make_user("sue", ["supervisors"], password="pw-sue-12345")
    instance_id, task_id = _incident(db)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": token, "username": "sue", "password": "pw-sue-12345"}).status_code == 302
    html = client.get(f"/supervisor/instances/{instance_id}").get_data(as_text=True)
    assert "等待外部系统" in html and "故障" in html  # Chinese by default
    client.post("/language", data={"csrf_token": csrf_from(html), "lang": "en"})
    html = client.get(f"/supervisor/instances/{instance_id}").get_data(as_text=True)
    assert 'id="external-tasks"' in html and "Pay the tranche" in html and "finance-payment" in html
    assert "bank offline" in html and "no retries left" in html
    token = csrf_from(html)
    refused = client.post(f"/supervisor/external-tasks/{task_id}/retry", data={"csrf_token": token, "retries": "2", "reason": ""})
    assert refused.status_code == 422
    assert commands.execute(db, external_tasks.fetch_and_lock, FINANCE, "w2", 1, TOPICS) == []
    done = client.post(f"/supervisor/external-tasks/{task_id}/retry",
                       data={"csrf_token": token, "retries": "2", "reason": "the bank is back"})
    assert done.status_code == 302
    assert commands.query(db, instances.get, instance_id).state == "running"
    [again] = commands.execute(db, external_tasks.fetch_and_lock, FINANCE, "w2", 1, TOPICS)
    assert again["id"] == task_id
    client.post("/language", data={"csrf_token": token, "lang": "zh_CN"})
    html = client.get(f"/supervisor/instances/{instance_id}").get_data(as_text=True)
    assert "已由外部处理程序 w2 锁定" in html
