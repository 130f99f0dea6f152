"""A panel member's task and the chair's task in a real browser, in Chinese, at desktop (1366)
and phone (390) sizes: the member sees their own form only (no other member's opinion) and sends
it; the chair's task shows every member's score, proposed conclusion and opinion, numbered
without names, above the group's conclusion."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from engine.core import commands, users
from tests.lifecycle.world import EXPERT, SUPERVISOR, Driver, build_world, make_project, sh, stage_data
from tests.web.conftest import PASSWORD, sign_in, no_sideways_scroll



@pytest.fixture
def world(people, db):  # type: ignore[no-untyped-def]
    """Every real process deployed, the expert pool filled, and each expert able to sign in."""
    build_world(db)
    for n in range(14):
        commands.execute(db, users.create_user, f"expert{n:02d}", PASSWORD, ["experts"], None, None,
                         f"材料专家{n:02d}", password_policy=False)
    return db




def test_a_member_gives_an_opinion_blind_and_the_chair_sees_them_all(sized_page, world):
    page = sized_page
    # given an acceptance through its financial audit: 5 members have a task each
    project_id = make_project(world, start="2026-01-05", months=12, status="awaiting_acceptance")
    d = Driver(world, sh(2027, 1, 5, 9, 0))
    d.start("acceptance", stage_data(project_id), SUPERVISOR)
    d.apply_for_acceptance()
    rows = d.expert_rows("member_opinion")
    chair_name = d.data()["chair"]["expert"]
    member = next(r for r in rows if r.assignee != chair_name)
    # four members have already given their opinion
    others = [r for r in rows if r.id != member.id]
    for n, row in enumerate(others):
        d.complete_row(row, EXPERT(row.assignee),
                       {"member_score": 80 + n, "member_conclusion": "pass",
                        "member_opinion": f"第{n + 1}位成员的意见：任务完成良好"})
    # when the last member opens their task: their own form, in Chinese, and nothing of the others
    sign_in(page, member.assignee)
    page.goto(f"/tasks/{member.id}")
    expect(page.locator("h1, h2").first).to_be_visible()
    expect(page.locator("body")).to_contain_text("个人评分")
    expect(page.locator("body")).not_to_contain_text("第1位成员的意见")
    expect(page.locator("body")).not_to_contain_text("Your score")
    no_sideways_scroll(page)
    page.fill("input[name=member_score]", "92")
    page.check("input[name=member_conclusion][value=pass]")
    page.fill("textarea[name=member_opinion]", "成果达到任务书要求，同意通过验收")
    page.click("#complete-button")
    expect(page.locator(".flash-success")).to_be_visible()
    # then the chair's task shows all five opinions, numbered, without names
    chair = d.task("acceptance_review")
    page.context.clear_cookies()
    sign_in(page, chair.assignee)
    page.goto(f"/tasks/{chair.id}")
    listed = page.locator("[data-list=panel_opinions] .list-row")
    expect(listed).to_have_count(5)
    expect(page.locator("body")).to_contain_text("专家组成员意见")
    expect(page.locator("body")).to_contain_text("成果达到任务书要求")
    for row in rows:
        expect(page.locator("[data-list=panel_opinions]")).not_to_contain_text(f"材料专家{row.assignee[-2:]}")
    no_sideways_scroll(page)
