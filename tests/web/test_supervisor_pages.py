"""The supervisor console in a real browser: only supervisors get in; a failed instance is found
in the attention list and retried with corrected data; a bulk suspension is previewed, confirmed
and followed on a progress bar; the list exports; the dashboard draws its charts and the heatmap
its overlays; an archived project is found and read; a task is reassigned and skipped."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import expect

from engine.supervision import archive
from engine.core import clock, commands
from engine.definitions import deployment
from engine.runtime import instances, tasks
from engine.scheduling import heartbeat
from engine.core.principals import Actor

from .conftest import actor, csrf_from, sign_in

from tests.lifecycle.world import APPLICATION, Driver, build_world, sh

GRANT = Path(__file__).resolve().parent.parent / "supervision" / "fixtures"
OFFICER = Actor("wang", frozenset({"officers"}))
BOSS = actor("zhao")


@pytest.fixture
def grants(people, db, make_user):  # type: ignore[no-untyped-def]
    """The grant process (tests/supervision/fixtures) deployed beside the formal review."""
    files = [(p.name, p.read_bytes()) for p in sorted(GRANT.iterdir()) if p.suffix in (".bpmn", ".form")]
    commands.execute(db, deployment.deploy, files, "test")
    return db


def _grant(db, title: str, started: datetime | None = None) -> int:
    with clock.frozen_at(started or datetime.now(timezone.utc)):
        return commands.execute(db, instances.start, actor("zhang"), "grant", {"title": title}).id


def _plan(db, instance_id: int, title: str, years: int) -> None:
    task = commands.query(db, tasks.open_tasks, instance_id)[0]
    commands.execute(db, tasks.complete, OFFICER, task.id,
                     {"title": title, "budget": 100, "years": years, "approvers": "ghosts"})


def _state(db, instance_id: int) -> str:
    return commands.query(db, lambda s: instances.get(s, instance_id).state)


def test_only_supervisors_open_the_supervisor_pages(page, grants, db):
    instance = _grant(db, "Private")
    task = commands.query(db, tasks.open_tasks, instance)[0]
    for name in ("wang", "zhang"):
        sign_in(page, name)
        for path in ("/supervisor", "/supervisor/attention", "/supervisor/dashboard", "/supervisor/heatmap",
                     "/supervisor/archive", f"/supervisor/instances/{instance}", "/supervisor/attention/export.csv"):
            assert page.goto(path).status == 403, (name, path)
        token = csrf_from(page.content())
        for path in ("/supervisor/bulk/preview", "/supervisor/bulk/run", f"/supervisor/instances/{instance}/suspend",
                     f"/supervisor/instances/{instance}/retry", f"/supervisor/tasks/{task.id}/reassign",
                     f"/supervisor/tasks/{task.id}/skip"):
            response = page.request.post(path, form={"csrf_token": token, "reason": "x", "action": "suspend",
                                                     "id_list": str(instance)})
            assert response.status == 403, (name, path, response.status)
        page.context.clear_cookies()
    assert _state(db, instance) == "running"
    # the menu shows the supervision entry to supervisors only
    sign_in(page, "zhao")
    page.click("a[href='/supervisor']")
    expect(page.locator("#attention-table, #attention-empty")).to_be_visible()


def test_a_supervisor_finds_a_failed_instance_and_retries_it_with_corrected_data(page, grants, db):
    # given a grant whose budget script failed on zero years
    failing = _grant(db, "量子传感器")
    _plan(db, failing, "量子传感器", 0)
    sign_in(page, "zhao")
    page.goto("/supervisor/attention?kind=error")
    row = page.locator(f"#attention-table tr[data-instance='{failing}']")
    expect(row).to_contain_text("量子传感器")
    expect(row).to_contain_text("division by zero")
    row.locator("a", has_text="量子传感器").click()
    expect(page.locator("#instance-error")).to_contain_text("per_year")
    # a correction the form refuses is shown with its error; nothing changes
    page.fill("#retry-form input[name='years']", "9")
    page.fill("#retry-reason", "申请人笔误")
    page.click("#retry-button")
    expect(page.locator("#retry-form .field-error").first).to_be_visible()
    assert _state(db, failing) == "error"
    # the right correction runs the script again
    page.fill("#retry-form input[name='years']", "3")
    page.fill("#retry-reason", "申请人笔误")
    page.click("#retry-button")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#instance-state")).to_have_attribute("data-state", "running")
    expect(page.locator("#audit-table tr[data-action='instance_retried']")).to_contain_text("申请人笔误")
    expect(page.locator("#data-history tr[data-key='years'] .value")).to_have_text("3")
    expect(page.locator("#token-path li[data-element='per_year']")).to_have_count(1)


def test_a_bulk_suspension_is_previewed_confirmed_and_followed_on_a_progress_bar(page, grants, db):
    # given three grants without progress for weeks, selected in the list ...
    long_ago = datetime.now(timezone.utc) - timedelta(days=20)
    ids = [_grant(db, f"逾期项目{n}", long_ago) for n in range(3)]
    sign_in(page, "zhao")
    page.goto("/supervisor/attention?kind=quiet")
    for instance_id in ids:
        page.check(f"#attention-table tr[data-instance='{instance_id}'] .row-select")
    # ... one of which someone else suspends meanwhile
    commands.execute(db, instances.suspend, BOSS, ids[0], "earlier")
    page.select_option("#bulk-action", "suspend")
    page.fill("#bulk-reason", "年度审计")
    page.click("#bulk-preview")
    # the preview says what would happen to each; nothing has changed yet
    expect(page.locator("#preview-table tr[data-will='change']")).to_have_count(2)
    expect(page.locator(f"#preview-table tr[data-instance='{ids[0]}']")).to_have_attribute("data-will", "refuse")
    assert _state(db, ids[1]) == "running"
    # (the progress bar is the deferred script's; without it the form posts and the page reports)
    page.wait_for_load_state("load")
    # when confirmed, the progress bar runs to the end
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#run-button")
    expect(page.locator("#run-form")).to_have_attribute("data-finished", "true")
    expect(page.locator("#progress-text")).to_have_text("2 / 2")
    assert [_state(db, i) for i in ids] == ["suspended"] * 3


def test_the_attention_list_exports_to_csv(page, grants, db):
    failing = _grant(db, "导出项目")
    _plan(db, failing, "导出项目", 0)
    sign_in(page, "zhao")
    page.goto("/supervisor/attention")
    with page.expect_download() as download:
        page.click("#export-csv")
    content = Path(download.value.path()).read_bytes()
    assert content.startswith("\ufeff".encode()) and "导出项目" in content.decode("utf-8-sig")
    with page.expect_download() as download:
        page.click("#export-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")


def test_the_dashboard_draws_its_charts_and_the_heatmap_its_overlays(page, grants, db):
    waiting = _grant(db, "等待中", datetime.now(timezone.utc) - timedelta(days=10))
    failing = _grant(db, "失败的")
    _plan(db, failing, "失败的", 0)
    # and a scheduler whose last heartbeat is ten minutes old (it should beat every 30 s)
    quiet = heartbeat.Identity("node-9:31", "node-9", 31, 30)
    with clock.frozen_at(datetime.now(timezone.utc) - timedelta(minutes=10)):
        commands.execute(db, heartbeat.announce, quiet)
    sign_in(page, "zhao")
    page.goto("/supervisor/dashboard")
    expect(page.locator("#dashboard")).to_have_attribute("data-charts", "3")
    expect(page.locator("[data-scheduler-status='silent']")).to_contain_text("node-9:31")
    expect(page.locator("#schedulers-table tr.silent")).to_contain_text("node-9:31")
    expect(page.locator("#stages-table tbody tr")).to_have_text(re.compile(r"Grant budget\s*1\s*0\s*1\s*0\s*0"))
    page.goto("/supervisor/heatmap?process=grant")
    expect(page.locator("#heatmap")).to_have_attribute("data-ready", "true")
    badge = page.locator(".heat-badge[data-element='plan_budget']")
    expect(badge).to_be_visible()
    expect(badge).to_have_class(re.compile("heat-3"))  # ten days ago: over five working days
    expect(page.locator("#heatmap-table tr[data-element='per_year']")).to_contain_text("1")
    assert waiting


def test_an_archived_project_is_found_and_read(page, grants, db, web_app, tmp_path):
    ended = _grant(db, "已归档的项目")
    commands.execute(db, instances.terminate, BOSS, ended, "撤回")
    previous = web_app.config.get("ARCHIVE_DIR")
    web_app.config["ARCHIVE_DIR"] = str(tmp_path)
    try:
        archive.run(db, tmp_path, 0)
        sign_in(page, "zhao")
        page.goto("/supervisor/archive")
        page.fill("input[name='q']", "已归档")
        page.click("form.filters button[type='submit']")
        page.click("#archive-table a", timeout=5000)
        expect(page.locator("h1")).to_contain_text("已归档的项目")
        expect(page.locator("#archived-timeline li[data-action='instance_terminated']")).to_have_count(1)
    finally:
        web_app.config["ARCHIVE_DIR"] = previous


def test_a_supervisor_reassigns_a_task_and_skips_another(page, grants, db, make_user):
    make_user("olga", ["officers"])
    first, second = _grant(db, "改派项目"), _grant(db, "跳过项目")
    sign_in(page, "zhao")
    page.goto(f"/supervisor/instances/{first}")
    box = page.locator("#open-tasks .task-box").first
    box.locator("summary", has_text=re.compile("Reassign|改派")).click()
    box.locator("input[name='assignee']").fill("olga")
    box.locator(".reassign-form input[name='reason']").fill("原经办人休假")
    box.locator(".reassign-form button").click()
    expect(page.locator(".flash-success")).to_contain_text("olga")
    assert commands.query(db, tasks.open_tasks, first)[0].assignee == "olga"
    page.goto(f"/supervisor/instances/{second}")
    box = page.locator("#open-tasks .task-box").first
    box.locator("summary").nth(1).click()
    form = box.locator(".skip-form")
    form.locator("input[name='title']").fill("跳过项目")
    form.locator("input[name='budget']").fill("50")
    form.locator("input[name='years']").fill("2")
    form.locator("input[name='approvers']").fill("approvers")
    form.locator("input[name='reason']").fill("专家组已决定")
    page.once("dialog", lambda dialog: dialog.accept())
    form.locator("button").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#open-tasks .task-box[data-name='approve']")).to_have_count(1)


def test_the_lifecycle_heatmap_counts_on_stages_and_opens_one_stage(page, people, db):
    # given an application waiting for its unit's review inside the lifecycle's first stage
    build_world(db)
    Driver(db, sh(2026, 3, 2)).start("project_lifecycle", APPLICATION)
    # when a supervisor opens the lifecycle's heatmap
    sign_in(page, "zhao")
    page.goto("/supervisor/heatmap?process=project_lifecycle")
    expect(page.locator("#heatmap")).to_have_attribute("data-ready", "true")
    # then the wait is drawn on the stage's call activity
    expect(page.locator(".heat-badge[data-element='stage_application_acceptance']")).to_be_visible()
    # and choosing the stage draws that stage's diagram with the waiting step
    page.select_option("select[name=stage]", "application_acceptance")
    expect(page.locator(".heat-badge[data-element='unit_review']")).to_be_visible()
    expect(page.locator("#heatmap-table tr[data-element='unit_review']")).to_contain_text("1")
