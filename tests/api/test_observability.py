"""Watching the engine run (issue 19): /metrics counts commands by name and outcome and their
conflicts by cause, and carries tasks open and overdue per process, instances in error, the
outbox's backlog and each scheduler's heartbeat; every log line is one JSON object, and the
request id (taken from X-Request-Id or made) is echoed and reaches the audit events of the command
it ran; a scheduler that has gone silent is shown on the supervisor's dashboard and in the API,
in both languages."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from engine.core import clock, commands
from engine.core.models import AuditEvent
from engine.scheduling import heartbeat

SIMPLE = ("bpmn/simple_review.bpmn", "forms/simple_decision.form")
COMPLETE = "api.tasks.complete_task"


def samples(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    response = client.get("/metrics")
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def open_review(api, deploy):  # type: ignore[no-untyped-def]
    """Given a deployed simple review with one open task, and a reviewer who may take it."""
    deploy(*SIMPLE)
    status, instance = api("applicant").post("/process-instances",
                                             {"process_key": "simple_review", "data": {"title": "Solar"}})
    assert status == 201, instance
    return api("rita", ["reviewers"]), instance["tasks"][0]["id"]


def beat(db, scheduler_id: str, at: datetime, interval: int = 30) -> None:  # type: ignore[no-untyped-def]
    """A heartbeat row as a scheduler process writes it, at `at`."""
    me = heartbeat.Identity(scheduler_id, "node-1", 4242, interval)
    with clock.frozen_at(at):
        commands.execute(db, heartbeat.announce, me)
        commands.execute(db, heartbeat.pass_started, me)
        commands.execute(db, heartbeat.pass_ended, me, 0.25, 12.0, "instance 7: boom")


def test_a_completion_moves_the_command_counter_and_a_second_one_counts_a_conflict(client, open_review):
    reviewer, task_id = open_review
    before = samples(client)
    # when the reviewer completes the task, and then tries again
    assert reviewer.post(f"/tasks/{task_id}/complete", {"data": {"decision": "approve"}})[0] == 200
    assert reviewer.post(f"/tasks/{task_id}/complete", {"data": {"decision": "approve"}})[0] == 409
    after = samples(client)
    # then the completion command counted one success and one conflict, with its cause
    assert value(after, "engine_commands_total", command=COMPLETE, outcome="ok") == \
        value(before, "engine_commands_total", command=COMPLETE, outcome="ok") + 1
    assert value(after, "engine_commands_total", command=COMPLETE, outcome="conflict") == \
        value(before, "engine_commands_total", command=COMPLETE, outcome="conflict") + 1
    assert value(after, "engine_command_conflicts_total", command=COMPLETE, cause="state") == \
        value(before, "engine_command_conflicts_total", command=COMPLETE, cause="state") + 1
    assert value(after, "engine_command_duration_seconds_count", command=COMPLETE) >= 2
    # and the request's latency is there per route
    assert value(after, "http_request_duration_seconds_count", endpoint="api.complete_task", method="POST") >= 2


def test_metrics_carry_open_and_overdue_tasks_per_process_the_outbox_and_the_schedulers(client, db, open_review):
    now = datetime.now(timezone.utc)
    beat(db, "node-1:4242", now - timedelta(minutes=5))
    found = samples(client)
    assert value(found, "engine_open_tasks", process="simple_review") == 1
    assert value(found, "engine_overdue_tasks", process="simple_review") == 0
    for name in ("engine_error_instances", "engine_outbox_backlog"):
        assert (name, ()) in found
    # a heartbeat five minutes old, with a 30 s interval, is a silent scheduler
    assert value(found, "engine_schedulers_silent") == 1
    assert value(found, "engine_scheduler_lag_seconds", scheduler="node-1:4242") == 12.0
    assert value(found, "engine_scheduler_last_pass_seconds", scheduler="node-1:4242") == 0.25
    assert value(found, "engine_scheduler_passes_total", scheduler="node-1:4242") == 1
    assert value(found, "engine_scheduler_heartbeat_age_seconds", scheduler="node-1:4242") >= 290
    # and overdue counts once the due date has passed
    with clock.frozen_at(now + timedelta(days=400)):
        later = samples(client)
    assert value(later, "engine_overdue_tasks", process="simple_review") == 1


def log_lines(text: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_each_log_line_is_json_and_the_request_id_follows_the_completion_into_the_audit_log(
        client, db, open_review, capsys):
    reviewer, task_id = open_review
    capsys.readouterr()
    # when the completion comes with the proxy's request id
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "approve"}},
                           headers={"Authorization": f"Bearer {reviewer.token}", "X-Request-Id": "edge-7f3a.1"})
    assert response.status_code == 200
    # then the answer echoes it, and the request's log line is one JSON object naming it
    assert response.headers["X-Request-Id"] == "edge-7f3a.1"
    lines = log_lines(capsys.readouterr().err)
    [line] = [entry for entry in lines if entry["logger"] == "web.requests"]
    assert line["request_id"] == "edge-7f3a.1" and line["user"] == "rita" and line["status"] == 200
    assert line["route"] == "/api/v1/tasks/<task_id>/complete" and line["level"] == "INFO"
    assert isinstance(line["duration_ms"], float) and line["time"].endswith("+00:00")
    assert "POST /api/v1/tasks/" in line["message"]
    # and SpiffWorkflow's INFO lines, which carry the instance's data, stay out of the log
    assert not [entry for entry in lines if entry["logger"].startswith("spiff")]
    # and the completion's audit events carry it
    with db.read() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.task_id == task_id,
                                                          AuditEvent.action == "task_completed")).all()
    assert [e.request_id for e in events] == ["edge-7f3a.1"]


def test_a_request_without_a_usable_id_gets_a_new_one(client):
    plain = client.get("/readyz")
    forged = client.get("/readyz", headers={"X-Request-Id": 'x" level="CRITICAL'})
    made = [plain.headers["X-Request-Id"], forged.headers["X-Request-Id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", m) for m in made) and made[0] != made[1]


def sign_in(client, name: str, english: bool = False):  # type: ignore[no-untyped-def]
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": name,
                                       "password": "pw-secret"}).status_code == 302
    if english:
        with client.session_transaction() as session:
            session["lang"] = "en"
    return client


def test_a_silent_scheduler_is_shown_on_the_dashboard_and_in_the_api_in_both_languages(
        app, db, make_user, api):
    # given one scheduler beating now and one whose last heartbeat is ten minutes old (30 s interval)
    now = datetime.now(timezone.utc)
    beat(db, "node-1:4242", now - timedelta(minutes=10))
    beat(db, "node-2:77", now)
    make_user("boss", ["supervisors"])
    # when a supervisor opens the dashboard, in Chinese (the default) and in English
    chinese = sign_in(app.test_client(), "boss").get("/supervisor/dashboard").get_data(as_text=True)
    english = sign_in(app.test_client(), "boss", english=True).get("/supervisor/dashboard").get_data(as_text=True)
    # then the silent one is named with a warning, the live one is not
    assert "调度程序 node-1:4242（主机 node-1，进程 4242）已 10 分钟没有心跳" in chinese
    assert "The scheduler node-1:4242 (host node-1, process 4242) has sent no heartbeat for 10 minutes" in english
    assert "node-2:77 (host" not in english and 'data-scheduler-status="silent"' in english
    assert "已失联" in chinese and "最近错误" in chinese and "instance 7: boom" in english
    # and the API says the same, for supervisors only
    status, body = api("sam", ["supervisors"]).get("/supervisor/schedulers")
    assert status == 200 and body["status"] == "silent"
    assert [(s["id"], s["silent"]) for s in body["schedulers"]] == [("node-1:4242", True), ("node-2:77", False)]
    [message] = body["messages"]
    assert message["en"].startswith("The scheduler node-1:4242") and message["zh_CN"].startswith("调度程序 node-1:4242")
    assert api("olga").get("/supervisor/schedulers")[0] == 403


def test_with_every_scheduler_beating_there_is_no_warning_and_with_none_there_is_a_note(app, db, api):
    sam = api("sam", ["supervisors"])
    status, body = sam.get("/supervisor/schedulers")
    assert body["status"] == "none" and "No scheduler has reported" in body["messages"][0]["en"]
    beat(db, "node-2:77", datetime.now(timezone.utc))
    status, body = sam.get("/supervisor/schedulers")
    assert body["status"] == "ok" and body["messages"] == []
    assert body["schedulers"][0]["lag_seconds"] == 12.0 and body["schedulers"][0]["last_error"] == "instance 7: boom"


def test_a_clean_stop_removes_the_heartbeat_and_long_silent_rows_are_forgotten(db):
    now = datetime.now(timezone.utc)
    beat(db, "gone:1", now - timedelta(days=8))
    beat(db, "stopping:2", now)
    beat(db, "alive:3", now)  # its pass forgets the row silent for more than a week
    commands.execute(db, heartbeat.stopped, heartbeat.Identity("stopping:2", "h", 2, 30))
    assert [s.id for s in commands.query(db, heartbeat.schedulers)] == ["alive:3"]


def test_under_several_processes_the_scrape_adds_up_what_every_process_counted(db, database_url, tmp_path):
    """prometheus-client's multiprocess mode, as under gunicorn: with PROMETHEUS_MULTIPROC_DIR set,
    a worker that answered requests and exited still counts in the next scrape of another."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DATABASE_URL": database_url,
           "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    app = "from web import create_app; client = create_app({'TESTING': True}).test_client(); "

    def run(code: str) -> str:
        return subprocess.run([sys.executable, "-c", app + code], env=env, cwd=ROOT, text=True,
                              capture_output=True, check=True, timeout=120).stdout

    # given one worker that answered three health checks and is gone
    run("[client.get('/healthz') for _ in range(3)]")
    # when another one is scraped
    text = run("print(client.get('/metrics').get_data(as_text=True))")
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in text_string_to_metric_families(text) for s in family.samples}
    # then the first one's requests are in it, and the engine's figures too
    assert value(found, "http_requests_total", endpoint="home.healthz", method="GET", status="200") == 3
    assert ("engine_running_instances", ()) in found


def _write_behind_a_concurrent_one(session, instance_id: int) -> None:  # type: ignore[no-untyped-def]
    """Load the instance, let another writer move its revision on (a statement the loaded object
    knows nothing of, as a second worker's commit would), then write the stale object."""
    from sqlalchemy import update

    from engine.core.models import ProcessInstance
    row = session.get(ProcessInstance, instance_id)
    session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                    .values(revision=ProcessInstance.revision + 1).execution_options(synchronize_session=False))
    row.state = "suspended"
    session.flush()


def test_a_lost_optimistic_lock_counts_as_a_revision_conflict_and_changes_nothing(client, db, open_review):
    from engine.core.errors import Conflict
    from engine.core.models import ProcessInstance
    with db.read() as session:
        instance_id = session.scalar(select(ProcessInstance.id))
    name = "tests.api.test_observability._write_behind_a_concurrent_one"
    before = value(samples(client), "engine_command_conflicts_total", command=name, cause="revision")
    with pytest.raises(Conflict):
        commands.execute(db, _write_behind_a_concurrent_one, instance_id)
    assert value(samples(client), "engine_command_conflicts_total", command=name, cause="revision") == before + 1
    with db.read() as session:
        assert session.get(ProcessInstance, instance_id).state == "running"
