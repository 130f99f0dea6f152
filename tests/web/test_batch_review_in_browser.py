"""A call's batch review in the browser, in Chinese, at desktop (1366x768) and phone (390x844)
size: institution staff schedule a meeting panel's session (a session on site without a place is
refused naming the place), and a drawn expert scores the project their task names; the
applicant is told their defence slot and nobody on the panel."""
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine.core import clock, commands, users
from engine.definitions import deployment
from engine.definitions.validation import collect_paths
from engine.lifecycle import expert_pool
from engine.notify.notifications import Notification
from engine.runtime import instances, tasks
from engine.scheduling import scheduler
from tests.conftest import ROOT

from .conftest import PASSWORD, actor, sign_in

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
EXPERTS = [f"panel{n}" for n in range(1, 8)]
PROJECT = {"project_id": 501, "title": "高熵合金激光增材制造工艺", "plan_category": "key_rd", "discipline": "materials",
           "organisation": "杭州先进材料研究院", "investigator": "张伟", "applicant": "zhang", "requested_funding": 1200000}


@pytest.fixture
def batch(db, people, password_hash, monkeypatch) -> Any:  # type: ignore[no-untyped-def]
    files = collect_paths([str(ROOT / "processes" / "batch_review.bpmn"), str(ROOT / "processes" / "review_plan.dmn")]
                          + [str(ROOT / "forms" / f"{name}.form")
                             for name in ("batch_session", "batch_chair_summary", "expert_scoring")])
    commands.execute(db, deployment.deploy, files, "test")
    monkeypatch.setattr(users, "generate_password_hash", lambda password: password_hash)

    def pool(session):  # type: ignore[no-untyped-def]
        for n, name in enumerate(EXPERTS):
            users.create_user(session, name, PASSWORD, ["experts"], None, None, f"专家{n + 1}", password_policy=False)
            expert_pool.add_expert(session, name=f"材料专家{n + 1}", organisation=f"第{n + 1}研究所",
                                   title="professor", discipline="materials", username=name)
    commands.execute(db, pool)
    monkeypatch.undo()
    return commands.execute(db, instances.start, actor("wang"), "batch_review",
                            {"call_key": "2027-1", "call_title": "2027 年度第一批", "projects": [PROJECT]})


def _open(db, instance_id: int, name: str) -> list[Any]:  # type: ignore[no-untyped-def]
    return [t for t in commands.query(db, tasks.open_tasks, instance_id) if t.name == name]


@pytest.mark.parametrize("size", list(SIZES))
def test_staff_schedule_the_session_and_an_expert_scores_the_project_the_task_names(page, new_page, db, batch, size):
    page.set_viewport_size(SIZES[size])
    [schedule] = _open(db, batch.id, "schedule_session")
    sign_in(page, "wang")
    page.goto(f"/tasks/{schedule.id}")
    # the title names the group, in Chinese only; the breadcrumb names the call
    expect(page.locator("h1")).to_have_text("安排会评 — 重点研发计划新材料组")
    expect(page.locator("body")).to_contain_text("2027 年度第一批")
    if page.locator("#claim-button").count():
        page.click("#claim-button")
    # when the session is on site but no place is given, it is refused naming the place
    page.check("input[name=session_kind][value=on_site]")
    page.fill("input[name=session_start]", "2026-03-16T09:00")
    page.fill("input[name=defence_minutes]", "30")
    page.click("#complete-button")
    expect(page.locator("[data-field=session_place] .field-error")).to_be_visible()
    assert _open(db, batch.id, "schedule_session")
    # when they give the place, the session is set
    page.fill("input[name=session_place]", "市科技局 3 楼会议室")
    page.click("#complete-button")
    expect(page.locator(".flash-success")).to_contain_text("已完成")
    slot = commands.query(db, lambda s: [n.params for n in s.scalars(select(Notification).where(
        Notification.username == "zhang", Notification.kind == "defence_slot"))])
    assert slot and slot[0]["when"] == "2026-03-16 09:00" and not any(e in str(slot) for e in EXPERTS)

    # the session has begun: every member's sheet is open
    with clock.frozen_at(clock.now()):
        scheduler.tick(db)
    sheets = _open(db, batch.id, "batch_scoring")
    assert sorted(t.assignee for t in sheets) == EXPERTS
    sheet = sheets[0]
    expert = new_page()
    expert.set_viewport_size(SIZES[size])
    sign_in(expert, sheet.assignee)
    expert.goto(f"/tasks/{sheet.id}")
    expect(expert.locator("h1")).to_have_text(f"专家评分 — {PROJECT['title']}")
    for key, value in {"innovation": "27", "feasibility": "22", "team_capability": "13",
                       "budget_reasonableness": "13", "expected_benefits": "13"}.items():
        expert.fill(f"input[name={key}]", value)
    expert.fill("textarea[name=expert_opinion]", "技术路线清楚，团队基础扎实。")
    expert.click("#complete-button")
    expect(expert.locator(".flash-success")).to_contain_text("已完成")
    # nothing of the page overflows the phone's width
    assert expert.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    assert sheet.id not in {t.id for t in _open(db, batch.id, "batch_scoring")}
