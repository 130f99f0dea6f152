"""An undertaking unit's research office in a real browser, in Chinese, at desktop (1366) and phone
(390x844) sizes: its group inbox lists its applications to review and its contracts to sign and
seal, named in Chinese (no raw group ids); a return without its reason is refused naming the
field; signing and sealing moves the contract on to the institution's check. And an investigator
barred by the credit rule reads why and until when on the new-application page."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from engine.core import commands, users
from engine.runtime import tasks
from tests.lifecycle.world import (APPLICANT, APPLICATION, ORG, STAFF, SUPERVISOR, Driver, build_world, make_project,
                                   sh, stage_data)
from tests.web.conftest import PASSWORD, sign_in, no_sideways_scroll



@pytest.fixture
def office(people, db):  # type: ignore[no-untyped-def]
    """Every real process deployed, the register filled, the unit's office 罗慧 and two tasks for it:
    an application to review and a contract the investigator has signed."""
    build_world(db)
    commands.execute(db, users.create_user, "luohui", PASSWORD, ["unit.hzam"], ORG, None, "罗慧 Luo Hui",
                     password_policy=False)
    application = Driver(db, sh(2026, 3, 2))
    application.start("project_lifecycle", APPLICATION | {"principal_investigator": "王五", "title": "单位审核的申报"})
    contract = Driver(db, sh(2026, 4, 1))
    contract.start("establishment", stage_data(make_project(db, status="established")), SUPERVISOR)
    contract.complete("draft_contract", STAFF, {"contract_no": "HZKJ-2026-009", "contract_targets": "完成工艺规范与样件试制",
                                                "assessment_indicators": "发明专利 2 项"})
    contract.complete("sign_contract", APPLICANT, {"contract_signed": True, "signatory": "张伟"})
    return {"db": db, "review": application.task("unit_review"), "sign": contract.task("unit_sign_contract"),
            "contract": contract}




def test_the_unit_office_sees_its_tasks_and_signs_the_contract(sized_page, office):
    page, db = sized_page, office["db"]
    # given 罗慧 of the institute's research office signs in and opens the group inbox
    sign_in(page, "luohui")
    page.goto("/inbox?scope=group")
    rows = page.locator("#task-list")
    # then both of the unit's tasks are listed, in Chinese, with no raw group id
    expect(rows.locator(f"tr[data-task-id='{office['review'].id}']")).to_contain_text("承担单位审核")
    expect(rows.locator(f"tr[data-task-id='{office['sign'].id}']")).to_contain_text("承担单位签章")
    expect(page.locator("body")).not_to_contain_text("unit.hzam")
    no_sideways_scroll(page)
    # when they open the contract, claim it and return it without a reason
    page.goto(f"/tasks/{office['sign'].id}")
    page.click("#claim-button")
    page.check("input[name=unit_sign_decision][value=return]")
    page.click("#complete-button")
    # then the reason is asked for by name and nothing moved
    expect(page.locator("[data-field=unit_sign_comment] .field-error")).to_be_visible()
    assert office["contract"].names() == ["unit_sign_contract"]
    no_sideways_scroll(page)
    # when they sign and seal it instead
    page.check("input[name=unit_sign_decision][value=sign]")
    page.fill("input[name=unit_signatory]", "罗慧")
    page.click("#complete-button")
    expect(page.locator(".flash-success")).to_contain_text("已完成")
    # then the contract goes on to the institution's check
    assert office["contract"].names() == ["check_contract"]
    assert commands.query(db, tasks.open_tasks, office["contract"].instance_id)[0].candidate_groups == ["institution_staff"]


def test_an_investigator_barred_by_the_credit_rule_is_told_why_and_until_when(sized_page, people, db):
    from datetime import timedelta

    from dateutil.relativedelta import relativedelta

    from engine.core import clock
    from engine.core.calendar import BUREAU_TZ
    from engine.lifecycle import credit
    page = sized_page
    # given 张伟, whose project failed its acceptance today
    build_world(db)
    commands.execute(db, users.create_user, "zhangwei", PASSWORD, ["applicants"], ORG, None, "张伟 Zhang Wei",
                     password_policy=False)
    commands.execute(db, lambda s: credit.record(s, subject_type="person", subject_name="张伟", kind="acceptance_failed",
                                                 outcome="fail", project_title="早期项目", source_key="web:failed"))
    until = (clock.now().astimezone(BUREAU_TZ).date() + relativedelta(months=24) - timedelta(days=1)).isoformat()
    # when he opens a new application, then he is told why and until when, in Chinese, with no form
    sign_in(page, "zhangwei")
    page.goto("/applications/new/project_lifecycle")
    reasons = page.locator("#eligibility-reasons")
    expect(reasons).to_contain_text(f"{until}（含）前不得申报")
    expect(reasons).to_contain_text("验收不通过")
    expect(reasons).not_to_contain_text("may not apply")
    expect(page.locator("#application-form")).to_have_count(0)
    no_sideways_scroll(page)
