"""The end of acceptance in a real browser, in Chinese, at desktop (1366) and phone (390x844) sizes:
the bureau's officer finds the confirmation of the group's conclusion in the group inbox, named in
Chinese; confirming without ticking the confirmation is refused naming the field; once confirmed,
the investigator finds the acceptance certificate on the project's page and downloads it as PDF."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from engine.core import commands, users
from tests.lifecycle.world import (APPLICANT, EXPERT, SUPERVISOR, Driver, build_world,
                                   make_project, sh, stage_data)
from tests.web.conftest import PASSWORD, sign_in, no_sideways_scroll



@pytest.fixture
def concluded(people, db):  # type: ignore[no-untyped-def]
    """Every real process deployed; an acceptance whose expert group has concluded "pass", waiting
    for the bureau; the bureau's officer 赵局 and the investigator able to sign in."""
    build_world(db)
    commands.execute(db, users.create_user, "zhaoju", PASSWORD, ["bureau_staff"], None, None, "赵局 Zhao Ju",
                     password_policy=False)
    commands.execute(db, users.create_user, APPLICANT.username, PASSWORD, ["applicants"], None, None, "张伟 Zhang Wei",
                     password_policy=False)
    d = Driver(db, sh(2027, 1, 5, 9, 0))
    d.start("acceptance", stage_data(make_project(db, start="2026-01-05", months=12, status="awaiting_acceptance")),
            SUPERVISOR)
    d.apply_for_acceptance()
    d.members_give_opinions("member_opinion", ["pass"] * 5, [88] * 5)
    chair = d.task("acceptance_review").assignee
    d.complete("acceptance_review", EXPERT(chair), {"completion_rate": 100, "acceptance_score": 88,
                                                    "acceptance_opinion": "完成全部任务，同意通过验收"})
    return {"db": db, "driver": d, "task": d.task("bureau_confirm_acceptance")}




def test_the_bureau_confirms_the_conclusion_and_the_investigator_downloads_the_certificate(sized_page, concluded):
    page, d, task = sized_page, concluded["driver"], concluded["task"]
    # given the bureau's officer signs in and opens the group inbox
    sign_in(page, "zhaoju")
    page.goto("/inbox?scope=group")
    # then the confirmation is listed in Chinese, with no raw group id
    expect(page.locator(f"#task-list tr[data-task-id='{task.id}']")).to_contain_text("管理部门确认验收结论")
    expect(page.locator("body")).not_to_contain_text("bureau_staff")
    no_sideways_scroll(page)
    # when they open it, claim it and complete it without ticking the confirmation
    page.goto(f"/tasks/{task.id}")
    page.click("#claim-button")
    page.click("#complete-button")
    # then the confirmation is asked for by name and nothing moved
    expect(page.locator("[data-field=bureau_acceptance_confirmed] .field-error")).to_be_visible()
    assert d.names() == ["bureau_confirm_acceptance"]
    no_sideways_scroll(page)
    # when they tick it and complete
    page.check("input[name=bureau_acceptance_confirmed]")
    page.click("#complete-button")
    expect(page.locator(".flash-success")).to_contain_text("已完成")
    assert d.project()["status"] == "passed"
    # then the investigator finds the certificate on the project's page and downloads it
    page.context.clear_cookies()
    sign_in(page, APPLICANT.username)
    page.goto(f"/instances/{d.instance_id}")
    link = page.locator("#acceptance-certificate")
    expect(link).to_contain_text("验收证书（PDF）")
    no_sideways_scroll(page)
    response = page.request.get(link.get_attribute("href") or "")
    assert response.status == 200 and response.body().startswith(b"%PDF")
