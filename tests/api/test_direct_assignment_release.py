"""A task assigned directly (camunda:assignee, no candidate user or group) cannot be released:
it would be left with no assignee and nobody who could claim it. The API and the page refuse
with 409 and change nothing; the pages offer no release button for it. A claimed task with
candidates is still released as before."""
from __future__ import annotations

import re

import pytest

PASSWORD = "pw-secret"


@pytest.fixture
def direct(api, deploy):  # type: ignore[no-untyped-def]
    """Given a process whose step is assigned directly to its initiator, and an instance of it."""
    deploy("bpmn/loop.bpmn")
    owner = api("olga")
    status, instance = owner.post("/process-instances", {"process_key": "loop", "data": {}})
    assert status == 201, instance
    [task] = instance["tasks"]
    assert task["assignee"] == "olga" and task["candidate_groups"] == [] and task["candidate_users"] == []
    return owner, task["id"]


def test_the_assignee_of_a_directly_assigned_task_cannot_release_it(direct, api):
    owner, task_id = direct
    # when the assignee (or even a supervisor) releases it
    for caller in (owner, api("boss", ["supervisors"])):
        status, body = caller.post(f"/tasks/{task_id}/unclaim")
        # then it is refused as a conflict that says why, and the task keeps its assignee
        assert status == 409, body
        assert "assigned directly" in body["error"]["message"]
    assert owner.get(f"/tasks/{task_id}")[1]["assignee"] == "olga"


def _sign_in(client, name: str) -> str:  # type: ignore[no-untyped-def]
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD}).status_code == 302
    return re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/inbox").get_data(as_text=True)).group(1)


def test_the_pages_offer_no_release_and_refuse_a_forged_one(direct, client):
    _, task_id = direct
    token = _sign_in(client, "olga")
    # the task page and the inbox show the task without a release button
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert f"/tasks/{task_id}/unclaim" not in page and 'id="task-form"' in page
    inbox = client.get("/inbox?scope=assigned").get_data(as_text=True)
    assert f'data-task-id="{task_id}"' in inbox and f"/tasks/{task_id}/unclaim" not in inbox
    # when the release is posted anyway, it is refused with a clear message and nothing changes
    response = client.post(f"/tasks/{task_id}/unclaim", data={"csrf_token": token})
    assert response.status_code == 409
    assert "无人能够领取" in response.get_data(as_text=True)
    assert f"/tasks/{task_id}/unclaim" not in client.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_a_claimed_task_with_candidates_is_still_released_from_the_page(api, deploy, client):
    deploy("bpmn/simple_review.bpmn", "forms/simple_decision.form")
    status, instance = api("ann").post("/process-instances", {"process_key": "simple_review", "data": {"title": "t"}})
    task_id = instance["tasks"][0]["id"]
    rita = api("rita", ["reviewers"])
    assert rita.post(f"/tasks/{task_id}/claim")[0] == 200
    token = _sign_in(client, "rita")
    assert f"/tasks/{task_id}/unclaim" in client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert f"/tasks/{task_id}/unclaim" in client.get("/inbox?scope=assigned").get_data(as_text=True)
    assert client.post(f"/tasks/{task_id}/unclaim", data={"csrf_token": token}).status_code == 302
    assert rita.get(f"/tasks/{task_id}")[1]["assignee"] is None
