"""The budget table on the application page, in a real browser in Chinese at desktop (1366) and
phone (390x844) sizes: the categories to choose from, rows added in the page, a table that breaks
a category rule refused on that row's field with the category named in Chinese and nothing
started, and the corrected table submitted."""
from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from engine.core import commands, users
from engine.core.models import ProcessInstance
from engine.lifecycle import funds
from tests.lifecycle.world import ORG, build_world
from tests.web.conftest import PASSWORD, sign_in



@pytest.fixture
def world(people, db):  # type: ignore[no-untyped-def]
    build_world(db)
    commands.execute(db, users.create_user, "lina", PASSWORD, ["applicants"], ORG, None, "李娜 Li Na",
                     password_policy=False)
    return db



def _instances(db: Any) -> int:
    return commands.query(db, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance)))


def _row(page: Any, index: int, category: str, municipal: str) -> None:
    page.select_option(f"select[name='budget_lines.{index}.category']", category)
    page.fill(f"input[name='budget_lines.{index}.municipal']", municipal)


def test_a_budget_table_breaking_a_category_rule_is_refused_on_its_row_then_corrected(sized_page, world):
    page = sized_page
    sign_in(page, "lina")
    page.goto("/applications/new/project_lifecycle")
    # the table offers the seven categories in Chinese
    first = page.locator("select[name='budget_lines.0.category']")
    expect(first.locator("option")).to_have_count(len(funds.CATEGORIES) + 1)
    expect(first.locator("option", has_text="间接费用")).to_have_count(1)
    expect(page.locator("[data-list=budget_lines] legend")).to_contain_text("预算表")
    page.fill("input[name=title]", "基于常规血检的脓毒症早期预警模型")
    page.select_option("select[name=plan_category]", "public_welfare")
    page.select_option("select[name=discipline]", "biomed")
    page.fill("input[name=budget]", "80")
    page.fill("input[name=period_months]", "24")
    page.fill("textarea[name=abstract]", "利用县级医院常规血常规数据构建脓毒症风险预警模型，完成多中心验证。")
    page.check("input[name=integrity_pledge]")
    # when she fills three rows, indirect costs at 20 of 80 (25%, above the 20% cap), and submits
    add = page.locator("[data-list=budget_lines] [data-add-row]")
    _row(page, 0, "equipment", "40")
    add.click()
    _row(page, 1, "materials", "20")
    add.click()
    _row(page, 2, "indirect", "20")
    page.click("#submit-application")
    # then that row's figure is refused, in Chinese, naming the category, and nothing started
    error = page.locator("[data-field='budget_lines.2.municipal'] .field-error")
    expect(error).to_contain_text("间接费用")
    expect(error).not_to_contain_text("Indirect")
    assert _instances(world) == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # when she moves 5 from indirect costs to materials, the application goes in
    page.fill("input[name='budget_lines.1.municipal']", "25")
    page.fill("input[name='budget_lines.2.municipal']", "15")
    page.click("#submit-application")
    expect(page.locator(".flash-success, .flash").first).to_be_visible()
    assert _instances(world) == 1


def test_the_applicant_asks_for_a_budget_adjustment_from_the_running_projects_page(page, world):
    from engine.runtime import instances, tasks
    from tests.lifecycle.test_funds import GOOD
    from tests.lifecycle.world import SUPERVISOR, make_project, stage_data
    # given 张伟's project in execution, with its contract's budget
    commands.execute(world, users.create_user, "zhang.wei", PASSWORD, ["applicants"], ORG, None, "张伟 Zhang Wei",
                     password_policy=False)
    project_id = make_project(world)
    commands.execute(world, funds.save_budget, project_id, "contract", GOOD)
    running = commands.execute(world, instances.start, SUPERVISOR, "in_process_management", stage_data(project_id))
    # when he opens the project's page and follows "ask for a budget adjustment"
    sign_in(page, "zhang.wei")
    page.goto(f"/instances/{running.id}")
    page.click("#budget-adjustment")
    # then the form has his project filled in; he moves 2 from materials to equipment
    expect(page.locator("input[name=project_id]")).to_have_value(str(project_id))
    page.select_option("select[name=from_category]", "materials")
    page.select_option("select[name=to_category]", "equipment")
    page.fill("input[name=adjust_amount]", "2")
    page.fill("textarea[name=adjust_reason]", "实验方案调整，需增购配件")
    page.click("#submit-application")
    expect(page.locator(".flash").first).to_be_visible()
    # and the undertaking unit has it to review (within the threshold)
    started = commands.query(world, lambda s: s.scalar(select(ProcessInstance).where(
        ProcessInstance.process_key == "budget_adjustment")))
    assert [t.name for t in commands.query(world, tasks.open_tasks, started.id)] == ["unit_review"]


def test_the_applicant_fits_the_contracts_budget_to_an_award_below_the_request(page, world):
    from engine.runtime import tasks
    from tests.lifecycle.test_funds import DRAFT, _establishment
    from tests.lifecycle.world import STAFF
    # given 100 approved of the 120 requested, the contract drafted
    commands.execute(world, users.create_user, "zhang.wei", PASSWORD, ["applicants"], ORG, None, "张伟 Zhang Wei",
                     password_policy=False)
    d = _establishment(world, 100.0)
    d.complete("draft_contract", STAFF, DRAFT)
    task = d.task("sign_contract")
    # when he opens the contract, the award and the request are shown and the table is his request's
    sign_in(page, "zhang.wei")
    page.goto(f"/tasks/{task.id}")
    expect(page.locator("input[name=approved_funding]")).to_have_value(re.compile(r"^100(\.0+)?$"))
    expect(page.locator("select[name='budget_lines.0.category']")).to_have_value("equipment")
    expect(page.locator("input[name='budget_lines.0.municipal']")).to_have_value(re.compile(r"^40(\.0+)?$"))
    page.check("input[name=contract_signed]")
    page.fill("input[name=signatory]", "张伟")
    page.click("#complete-button")
    # then signing as requested is refused: the table adds up to 120, not the 100 approved
    expect(page.locator("[data-list=budget_lines] .field-error")).to_contain_text("应等于 100")
    assert [t.name for t in commands.query(world, tasks.open_tasks, d.instance_id)] == ["sign_contract"]
    # when he takes 20 off the equipment, the contract goes on to the institution's check
    page.check("input[name=contract_signed]")
    page.fill("input[name='budget_lines.0.municipal']", "20")
    page.click("#complete-button")
    expect(page.locator(".flash").first).to_be_visible()
    assert [t.name for t in commands.query(world, tasks.open_tasks, d.instance_id)] == ["unit_sign_contract"]
