"""The supervisor console through the REST API: every endpoint answers supervisors and refuses
reviewers and applicants with 403; the attention list, its exports, the interventions, bulk
operations, dashboard, heatmap, instance detail and the archive work end to end."""
from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pytest

from engine.supervision import archive
from engine.core import clock
from web.api.openapi import OPERATIONS

from .helpers import MONDAY, complete, open_task, plan, start

SUPERVISOR_PATHS = [(path, method) for path, method, *_ in OPERATIONS
                    if path.startswith("/v1/supervisor/")
                    or path.rsplit("/", 1)[-1] in ("audit", "data-history", "path", "diagram",
                                                   "suspend", "resume", "terminate", "retry")]
LATER = MONDAY + timedelta(days=15)


@pytest.fixture
def world(processes, api, app, tmp_path):  # type: ignore[no-untyped-def]
    """A failed grant, one waiting for planning, and one archived instance."""
    db = processes
    app.config["ARCHIVE_DIR"] = str(tmp_path)
    gone = start(db, "grant", {"title": "Archived grant"})
    boss = api("chief", ["supervisors"])
    with clock.frozen_at(MONDAY):
        boss.post(f"/process-instances/{gone}/terminate", {"reason": "withdrawn"})
    with clock.frozen_at(MONDAY + timedelta(days=2)):
        archive.run(db, tmp_path, 1)
    failing = start(db, "grant", {"title": "Failing grant"})
    complete(db, failing, plan("Failing grant", years=0), MONDAY)
    waiting = start(db, "grant", {"title": "Waiting grant"})
    return {"boss": boss, "failing": failing, "waiting": waiting,
            "task": open_task(db, waiting).id, "reviewer": api("rita", ["officers"]),
            "applicant": api("ada2", ["applicants"])}


def _concrete(path: str, world) -> str:  # type: ignore[no-untyped-def]
    path = path.removeprefix("/v1")
    if "/tasks/{id}" in path:
        return path.replace("{id}", world["task"])
    return path.replace("{id}", str(world["failing"]))


def test_every_supervisor_endpoint_is_documented_and_refuses_others_with_403(world, client):
    assert len(SUPERVISOR_PATHS) >= 20
    for path, method in SUPERVISOR_PATHS:
        url = _concrete(path, world)
        for who in ("reviewer", "applicant"):
            caller = world[who]
            status, body = caller.get(url) if method == "get" else caller.post(url, {})
            assert status == 403, (who, method, url, status, body)
            assert body["error"]["code"] == "forbidden"
        # and without a token: 401
        response = getattr(client, method)(f"/api/v1{url}")
        assert response.status_code == 401, (method, url)


def test_the_attention_list_filters_counts_and_exports(world, client):
    boss = world["boss"]
    with clock.frozen_at(LATER):
        status, body = boss.get("/supervisor/attention?kind=error,overdue&sort=-age")
        assert status == 200, body
        assert {i["kind"] for i in body["items"]} == {"error", "overdue"}
        assert body["counts"]["quiet"] == 1 and body["total"] == 2
        error = next(i for i in body["items"] if i["kind"] == "error")
        assert error["element"] == "per_year" and error["title"] == "Failing grant"
        status, body = boss.get("/supervisor/attention?kind=lost&sort=sideways")
        assert status == 422 and {"kind", "sort"} <= set(body["error"]["fields"])
        headers = {"Authorization": f"Bearer {boss.token}"}
        response = client.get("/api/v1/supervisor/attention/export?format=xlsx&lang=en", headers=headers)
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
        rows = list(openpyxl.load_workbook(io.BytesIO(response.data)).active.values)
        assert rows[0][0] == "Kind" and len(rows) == 4  # header, error, overdue, quiet
        response = client.get("/api/v1/supervisor/attention/export?kind=error", headers=headers)
        assert response.mimetype == "text/csv" and "Failing grant" in response.data.decode("utf-8-sig")


def test_interventions_through_the_api(world):
    boss, failing, task = world["boss"], world["failing"], world["task"]
    # reassign needs a reason
    status, body = boss.post(f"/supervisor/tasks/{task}/reassign", {"assignee": "olga"})
    assert status == 422 and "reason" in body["error"]["fields"]
    status, body = boss.post(f"/supervisor/tasks/{task}/reassign", {"assignee": "olga", "reason": "hers"})
    assert status == 200 and body["assignee"] == "olga"
    # skip with data checked against the form
    status, body = boss.post(f"/supervisor/tasks/{task}/skip", {"data": {"years": 9}, "reason": "r"})
    assert status == 422
    status, body = boss.post(f"/supervisor/tasks/{task}/skip", {"data": plan(), "reason": "panel"})
    assert status == 200 and body["task"]["state"] == "completed" and body["state"] == "running"
    # retry: the form, a refused correction, then the fix
    status, form = boss.get(f"/supervisor/instances/{failing}/retry-form")
    assert status == 200 and form["form_key"] == "budget_plan" and form["values"]["years"] == 0
    assert boss.post(f"/supervisor/instances/{failing}/retry", {"data": {"years": -1}, "reason": "r"})[0] == 422
    status, body = boss.post(f"/supervisor/instances/{failing}/retry", {"data": {"years": 2}, "reason": "typo"})
    assert status == 200 and body["state"] == "running" and body["tasks"][0]["name"] == "approve"
    assert boss.post(f"/supervisor/instances/{failing}/retry", {"data": {}, "reason": "again"})[0] == 409


def test_bulk_preview_and_run_through_the_api(world):
    boss = world["boss"]
    request = {"action": "suspend", "reason": "audit", "selection": {"process_key": "grant"}}
    status, preview = boss.post("/supervisor/bulk/preview", request)
    assert status == 200 and preview["total"] == 2 and preview["changing"] == 2
    status, report = boss.post("/supervisor/bulk", request)
    assert status == 200 and report["succeeded"] == 2 and report["failed"] == 0
    status, report = boss.post("/supervisor/bulk", request)
    assert report["failed"] == 2 and {o["code"] for o in report["outcomes"]} == {"conflict"}
    status, body = boss.post("/supervisor/bulk", {"action": "suspend", "reason": "x", "selection": {}})
    assert status == 422


def test_dashboard_heatmap_and_instance_detail_through_the_api(world):
    boss, failing = world["boss"], world["failing"]
    with clock.frozen_at(LATER):
        status, figures = boss.get(f"/supervisor/dashboard?since={(MONDAY - timedelta(days=1)).isoformat()}"
                                   .replace("+", "%2B"))
        assert status == 200, figures
        assert [w["started"] for w in figures["throughput"]] == [0, 2, 0, 0]  # since a Sunday
        status, heat = boss.get("/supervisor/heatmap?process_key=grant")
        assert status == 200 and {e["element"] for e in heat["elements"]} >= {"per_year", "plan_budget"}
        assert boss.get("/supervisor/heatmap?process_key=nope")[0] == 404
    status, events = boss.get(f"/process-instances/{failing}/audit")
    assert status == 200 and events["items"][0]["action"] == "instance_started"
    status, history = boss.get(f"/process-instances/{failing}/data-history")
    assert status == 200 and any(k["key"] == "years" for k in history["keys"])
    status, path = boss.get(f"/process-instances/{failing}/path")
    assert status == 200 and path["markers"]["failed"] == ["per_year"]
    response = boss.client.get(f"/api/v1/process-instances/{failing}/diagram",
                               headers={"Authorization": f"Bearer {boss.token}"})
    assert response.status_code == 200 and b'id="grant"' in response.data


def test_the_archive_through_the_api(world):
    boss = world["boss"]
    status, found = boss.get("/supervisor/archive?q=archived")
    assert status == 200 and found["total"] == 1
    status, record = boss.get(f"/supervisor/archive/{found['items'][0]['id']}")
    assert status == 200 and record["record"]["title"] == "Archived grant"
    assert record["archive"]["state"] == "terminated"
    assert boss.get("/supervisor/archive/999")[0] == 404
    status, planned = boss.get("/supervisor/archive/plan?older_than_days=0")
    assert status == 200 and planned["total"] == 0


def test_the_openapi_document_lists_the_supervisor_endpoints(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/v1/supervisor/attention", "/v1/supervisor/bulk", "/v1/supervisor/dashboard",
                 "/v1/supervisor/archive/{id}", "/v1/process-instances/{id}/audit"):
        assert path in spec["paths"]
    export = spec["paths"]["/v1/supervisor/attention/export"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in export
