"""The applicant's side of the submission rules and of how an application ended, in a real browser
at desktop (1366) and phone (390x844) sizes, in Chinese and English: an ineligible applicant is
told why before any form; one "new application" per call (the standalone formal review, a
building block, is not offered); the organisation is chosen from the register, with a way to ask
for registration; a submission that the rules refuse is refused with the reason and starts
nothing; a refused application says "submission refused" in red with its reasons, to its
applicant and to staff."""
from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from engine.core import commands, users
from engine.core.models import ProcessInstance
from engine.lifecycle import integrity
from engine.notify.notifications import Notification
from engine.core.principals import Actor
from engine.runtime import instances
from tests.lifecycle.world import APPLICATION, ORG, build_world, make_project
from tests.web.conftest import PASSWORD, sign_in, no_sideways_scroll



@pytest.fixture
def world(people, db):  # type: ignore[no-untyped-def]
    """Every real process deployed, the register filled, and two applicants of one institute."""
    build_world(db)
    for name, display in (("zhangwei", "张伟 Zhang Wei"), ("lina", "李娜 Li Na")):
        commands.execute(db, users.create_user, name, PASSWORD, ["applicants"], ORG, None, display,
                         password_policy=False)
    return db




def _instances(db: Any) -> int:
    return commands.query(db, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance)))


def test_an_ineligible_applicant_is_told_why_before_any_form(sized_page, world):
    page = sized_page
    # given 张伟 already leads two open projects
    make_project(world, start="2025-01-06")
    make_project(world, start="2025-06-02", title="另一个在研项目")
    # when he opens his applications, then one "new application" is offered: the lifecycle, not the
    # standalone formal review (a building block)
    sign_in(page, "zhangwei")
    page.goto("/applications")
    offers = page.locator("a.btn[href*='/applications/new/']")
    expect(offers).to_have_count(1)
    expect(offers).to_have_attribute("href", re.compile(r"/applications/new/project_lifecycle$"))
    expect(page.locator("a[href*='application_formal_review']")).to_have_count(0)
    # and following it tells him why he may not apply, in Chinese, instead of a form
    offers.click()
    expect(page.locator("#not-eligible")).to_be_visible()
    expect(page.locator("#eligibility-reasons")).to_contain_text("项目负责人已有 2 项在研项目")
    expect(page.locator("#eligibility-reasons")).not_to_contain_text("open projects")
    expect(page.locator("#application-form")).to_have_count(0)
    no_sideways_scroll(page)
    assert _instances(world) == 0


def test_a_refused_application_says_so_in_red_with_its_reasons_to_applicant_and_staff(page, world, new_page):
    # given an application 张伟 sent through the API naming an unregistered organisation: refused at the gate
    refused = commands.execute(world, instances.start, Actor("zhangwei", frozenset({"applicants"})),
                               "project_lifecycle", APPLICATION | {"organisation": "不存在的公司"})
    assert refused.state == "completed"
    # when he opens his applications, then it says "submission refused" in red, with the reason, not "completed"
    sign_in(page, "zhangwei")
    page.goto("/applications")
    row = page.locator(f"#applications tr[data-instance-id='{refused.id}']")
    badge = row.locator("[data-outcome]")
    expect(badge).to_have_text("不予申报")
    expect(badge).to_have_class(re.compile(r"outcome-refused"))
    expect(row).to_contain_text("申报单位「不存在的公司」未在本系统注册")
    expect(row).not_to_contain_text("已完成")
    # and the instance page gives the outcome and its reasons in place of "waiting for"
    row.locator("a").first.click()
    expect(page.locator("#instance-state")).to_contain_text("不予申报")
    expect(page.locator("#outcome-reasons")).to_contain_text("未在本系统注册")
    expect(page.locator("main")).not_to_contain_text("此申报已完成")
    # and in English, all of it in English
    page.click(".lang-switch button[value=en]")
    expect(page.locator("#instance-state")).to_contain_text("Submission refused")
    expect(page.locator("#outcome-reasons")).to_contain_text("is not registered with the bureau")
    expect(page.locator("#outcome-reasons")).not_to_contain_text("未在本系统注册")
    # and, once he leads two open projects, the new-application page tells him why in English too
    make_project(world, start="2025-01-06")
    make_project(world, start="2025-06-02", title="另一个在研项目")
    page.goto("/applications/new/project_lifecycle")
    expect(page.locator("#not-eligible h2")).to_have_text("You may not apply at the moment")
    expect(page.locator("#eligibility-reasons")).to_contain_text("the investigator already leads 2 open projects")
    expect(page.locator("#eligibility-reasons")).not_to_contain_text("在研项目")
    # and a supervisor sees the same outcome and reasons on the instance's supervision page
    staff = new_page()
    sign_in(staff, "zhao")
    staff.goto(f"/supervisor/instances/{refused.id}")
    expect(staff.locator("#instance-outcome")).to_contain_text("不予申报")
    expect(staff.locator("#outcome-reasons")).to_contain_text("未在本系统注册")


def _fill_application(page: Any) -> None:
    page.fill("input[name=title]", "基于常规血检的脓毒症早期预警模型")
    page.select_option("select[name=plan_category]", "public_welfare")
    page.select_option("select[name=discipline]", "biomed")
    page.fill("input[name=budget]", "80")
    page.fill("input[name=period_months]", "24")
    page.fill("textarea[name=abstract]", "利用县级医院常规血常规数据构建脓毒症风险预警模型，完成多中心验证。")
    page.check("input[name=integrity_pledge]")


def test_the_organisation_comes_from_the_register_and_the_rules_are_checked_again_at_submission(sized_page, world):
    page = sized_page
    # given 李娜, eligible, opens a new application
    sign_in(page, "lina")
    page.goto("/applications/new/project_lifecycle")
    # then the organisation is chosen from the register (hers preselected), and she is the investigator
    organisation = page.locator("select[name=organisation]")
    expect(organisation).to_have_value(ORG)
    expect(organisation.locator("option", has_text="浙江工业大学")).to_have_count(1)
    expect(organisation.locator("option", has_text="滨江区科技局")).to_have_count(0)
    expect(page.locator("input[name=principal_investigator]")).to_have_value("李娜")
    expect(page.locator("[data-field=organisation] .help")).to_contain_text("请在申报书下方申请注册")
    no_sideways_scroll(page)
    # when, while she fills it in, she is put on the integrity list, and she submits
    commands.execute(world, integrity.add, "officer", {
        "subject_type": "person", "subject_name": "李娜", "grade": "serious", "reason": "抄袭他人成果",
        "penalty_start": "2025-01-01", "penalty_end": "2027-12-31"})
    _fill_application(page)
    page.click("#submit-application")
    # then the submission is refused on the investigator's field with the rules' reason, and nothing starts
    expect(page.locator("[data-field=principal_investigator] .field-error")).to_contain_text("处于科研失信惩戒期")
    expect(page.locator("input[name=title]")).to_have_value("基于常规血检的脓毒症早期预警模型")
    assert _instances(world) == 0


def test_an_applicant_asks_for_an_unlisted_organisation_to_be_registered(page, world):
    # given 李娜 on the new application page, her partner's company not in the register
    sign_in(page, "lina")
    page.goto("/applications/new/project_lifecycle")
    # when she asks for it to be registered
    page.click("#registration-request summary")
    page.fill("#reg-name", "杭州新材科技有限公司")
    page.fill("#reg-note", "本单位新成立")
    page.click("#send-registration-request")
    # then she is told it was sent, back on her application page, and the institution's staff are notified
    expect(page.locator(".flash-success")).to_contain_text("杭州新材科技有限公司")
    expect(page).to_have_url(re.compile(r"/applications/new/project_lifecycle$"))
    notified = commands.query(world, lambda s: list(s.scalars(select(Notification.username).where(
        Notification.kind == "organisation_registration_requested"))))
    assert sorted(notified) == ["chen", "ma", "wang"]
    # and asking for one already registered is refused with the advice to choose it
    page.click("#registration-request summary")
    page.fill("#reg-name", ORG)
    page.click("#send-registration-request")
    expect(page.locator(".flash-error")).to_contain_text("该单位已注册")
