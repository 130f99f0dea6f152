"""The in-app side through the REST API: my notifications with the unread count, in my language,
marking them read; a task's escalation policy and history; and the CLI's report of a pass."""
from __future__ import annotations

from .support import start, tick

SLA = {"dueWorkingDays": "2", "reminderWorkingDays": "1", "escalateAfterWorkingDays": "2",
       "escalationAction": "escalate"}


def _overdue_for(db, deploy_process, api, name: str = "erin"):  # type: ignore[no-untyped-def]
    deploy_process("sla_review", SLA)
    caller = api(name, ["experts"])
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": name})
    tick(db, "2025-09-30 10:00")
    tick(db, "2025-10-09 10:00")
    return caller, task_id


def test_my_notifications_come_newest_first_with_the_unread_count(db, deploy_process, api):
    erin, task_id = _overdue_for(db, deploy_process, api)
    status, body = erin.get("/notifications?lang=en")
    assert status == 200 and body["total"] == 2 and body["unread"] == 2
    assert [n["kind"] for n in body["items"]] == ["task_overdue", "task_due_soon"]
    first = body["items"][0]
    assert first["title"] == "Task overdue: Expert review" and first["task_id"] == task_id
    assert "was due 2025-10-09 10:00" in first["body"] and first["read"] is False
    assert erin.get("/notifications/unread-count") == (200, {"unread": 2})


def test_texts_follow_the_language_asked_for(db, deploy_process, api, client):
    erin, _ = _overdue_for(db, deploy_process, api)
    _, chinese = erin.get("/notifications")
    assert chinese["items"][0]["title"] == "任务已逾期：专家评审"
    response = client.get("/api/v1/notifications", headers={
        "Authorization": f"Bearer {erin.token}", "Accept-Language": "en-GB,en;q=0.9"})
    assert response.get_json()["items"][0]["title"] == "Task overdue: Expert review"
    status, body = erin.get("/notifications?lang=fr")
    assert status == 422 and "lang" in body["error"]["fields"]


def test_marking_read_one_then_all(db, deploy_process, api):
    erin, _ = _overdue_for(db, deploy_process, api)
    _, body = erin.get("/notifications")
    newest = body["items"][0]["id"]
    status, marked = erin.post(f"/notifications/{newest}/read")
    assert status == 200 and marked["read"] is True and marked["read_at"]
    assert erin.get("/notifications/unread-count")[1] == {"unread": 1}
    _, unread_only = erin.get("/notifications?unread=true")
    assert [n["kind"] for n in unread_only["items"]] == ["task_due_soon"]
    assert erin.post("/notifications/read-all") == (200, {"marked": 1, "unread": 0})
    assert erin.post("/notifications/read-all") == (200, {"marked": 0, "unread": 0})


def test_someone_elses_notification_is_not_found_and_bad_input_is_refused(db, deploy_process, api):
    erin, _ = _overdue_for(db, deploy_process, api)
    _, body = erin.get("/notifications")
    nosy = api("nosy")
    status, error = nosy.post(f"/notifications/{body['items'][0]['id']}/read")
    assert status == 404 and error["error"]["code"] == "not_found"
    assert erin.post("/notifications/999999/read")[0] == 404
    status, error = erin.post("/notifications/read-all", json={"ids": ["x"]})
    assert status == 422
    assert erin.post("/notifications/read-all", json={"ids": [1], "extra": 1})[0] == 422
    assert erin.get("/notifications/unread-count")[1] == {"unread": 2}  # nothing changed
    assert erin.get("/notifications?per_page=0")[0] == 422


def test_an_empty_list_for_someone_with_no_notifications(api):
    quiet = api("quiet")
    assert quiet.get("/notifications") == (200, {"items": [], "total": 0, "unread": 0, "page": 1, "per_page": 20})


def test_a_task_shows_its_policy_and_escalation_history(db, deploy_process, api):
    erin, task_id = _overdue_for(db, deploy_process, api)
    status, body = erin.get(f"/tasks/{task_id}/escalations")
    assert status == 200
    assert body["escalation_level"] == 1
    assert body["next_escalation_at"].startswith("2025-10-11T02:00:00")  # make-up Saturday 10:00
    assert body["policy"]["escalation_action"] == "escalate"
    assert body["policy"]["escalate_after_working_days"] == 2
    assert [e["action"] for e in body["history"]] == ["task_reminded", "task_overdue"]
    assert body["history"][1]["details"]["notified"] == ["erin"]
    # a supervisor sees it too; an outsider does not
    assert api("boss", ["supervisors"]).get(f"/tasks/{task_id}/escalations")[0] == 200
    assert api("outsider").get(f"/tasks/{task_id}/escalations")[0] == 403
    assert erin.get("/tasks/nope/escalations")[0] == 404


def test_the_openapi_document_lists_the_new_calls(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/v1/notifications", "/v1/notifications/unread-count", "/v1/notifications/{id}/read",
            "/v1/notifications/read-all", "/v1/tasks/{id}/escalations"} <= set(paths)


def test_the_tick_command_says_what_it_did(db, deploy_process, person, runner):
    deploy_process("sla_review", SLA)
    person("erin", ("experts",))
    _, task_id = start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    quiet = runner.invoke(args=["scheduler", "tick", "--now", "2025-09-30T09:00:00+08:00"])
    assert quiet.exit_code == 0
    assert "sent 0 reminder(s), 0 overdue notice(s), escalated 0 task(s)" in quiet.output
    result = runner.invoke(args=["scheduler", "tick", "--now", "2025-10-11T10:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "1 overdue notice(s), escalated 1 task(s)" in result.output
    assert f"overdue {task_id}: \"专家评审 · Expert review\" overdue since" in result.output
    assert f"escalated {task_id}: " in result.output and "supervisors' inbox (was erin)" in result.output
    assert "SMTP not configured (SMTP_HOST), 1 e-mail(s) waiting" in result.output
    assert runner.invoke(args=["scheduler", "tick", "--batch-size", "0"]).exit_code != 0
