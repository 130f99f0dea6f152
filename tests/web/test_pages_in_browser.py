"""The web UI as people use it, in a real browser (Debian's chromium through Playwright) against
the real app and the real formal-review process: an applicant submits, a reviewer claims, gets
field errors with the input kept, completes; experts can't open each other's tasks; the diagram
marks the current task; the language switch works; new tasks appear without a reload."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from engine.core import commands
from engine.runtime import tasks

from .conftest import actor, open_task, sign_in, start_application


def test_an_applicant_submits_an_application_and_sees_it_waiting_for_the_formal_review(page, people, db):
    # given the applicant on the new-application form (of the standalone formal review: a building
    # block, not offered on "my applications", but its BPMN lets applicants start it)
    sign_in(page, "zhang")
    page.goto("/applications/new/application_formal_review")
    # when they fill it in and submit
    page.fill("input[name=title]", "Low-cost soil moisture sensing for tea gardens")
    page.select_option("select[name=plan_category]", "natural_science")
    page.select_option("select[name=discipline]", "agriculture")
    page.fill("input[name=organisation]", "Tea Research Institute")
    page.fill("input[name=principal_investigator]", "Zhang Wei")
    page.fill("input[name=budget]", "35")
    page.fill("input[name=period_months]", "18")
    page.fill("textarea[name=abstract]", "Printed capacitive sensors and a LoRa network for hill tea gardens.")
    page.check("input[name=integrity_pledge]")
    page.click("#submit-application")
    # then the instance page shows it running and waiting for the formal review
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    expect(page.locator("h1")).to_contain_text("Low-cost soil moisture sensing")
    expect(page.locator("#instance-state")).to_have_text("进行中")
    expect(page.locator("#open-tasks")).to_contain_text("形式审查")
    # and "my applications" lists it with its stage
    page.goto("/applications")
    expect(page.locator("#applications")).to_contain_text("Low-cost soil moisture sensing")
    expect(page.locator("#applications")).to_contain_text("申报形式审查")


def test_a_reviewer_claims_gets_field_errors_with_the_input_kept_then_completes(page, people, db):
    # given an application waiting for the institution's formal review
    instance = start_application(db)
    sign_in(page, "wang")
    # when the reviewer finds it among the group's open tasks and claims it
    page.goto("/inbox?scope=group")
    row = page.locator("#task-list tbody tr", has_text="高熵合金增材制造工艺研究")
    row.locator("button", has_text="认领").click()
    expect(page.locator("#task-form")).to_be_visible()
    # and submits without a decision but with a comment
    page.fill("textarea[name=review_comment]", "材料齐全，请补充伦理审查批件。")
    page.check("input[name=checks_passed][value=complete]")
    page.click("#complete-button")
    # then the decision field is named as missing and what was typed is still there
    expect(page.locator(".error-summary")).to_contain_text("审查结论")
    expect(page.locator("[data-field=decision] .field-error")).to_have_text("此项为必填项。")
    expect(page.locator("textarea[name=review_comment]")).to_have_value("材料齐全，请补充伦理审查批件。")
    expect(page.locator("input[name=checks_passed][value=complete]")).to_be_checked()
    assert open_task(db, instance.id).state == "open"
    # when the decision is chosen and the form submitted again
    page.check("input[name=decision][value=accept]")
    page.click("#complete-button")
    # then the task is done and listed among the completed ones
    expect(page.locator(".flash-success")).to_contain_text("已完成")
    page.goto("/inbox?scope=completed")
    expect(page.locator("#task-list")).to_contain_text("高熵合金增材制造工艺研究")
    assert commands.query(db, lambda s: s.get(type(instance), instance.id).state) == "completed"


def test_an_expert_cannot_open_another_experts_task(page, people, db):
    # given a scoring task assigned to the expert zhou
    from engine.runtime import instances
    instance = commands.execute(db, instances.start, actor("zhang"), "expert_scoring", {"expert": "zhou"})
    task = open_task(db, instance.id)
    # when the expert liu opens it by its address
    sign_in(page, "liu")
    response = page.goto(f"/tasks/{task.id}")
    # then they get the 403 page, and the task page of their own is not shown
    assert response.status == 403
    expect(page.locator("h1")).to_contain_text("无权访问")
    expect(page.locator("#task-form")).to_have_count(0)
    # while zhou can work on it
    page.context.clear_cookies()
    sign_in(page, "zhou")
    page.goto(f"/tasks/{task.id}")
    expect(page.locator("#task-form")).to_be_visible()


def test_the_diagram_marks_the_completed_path_and_the_current_task(page, people, db):
    # given an application waiting in the formal review
    instance = start_application(db)
    # when its applicant opens the instance page
    sign_in(page, "zhang")
    page.goto(f"/instances/{instance.id}")
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")
    # then the formal review is marked current and the registration completed
    expect(page.locator("g[data-element-id=formal_review]")).to_have_class(re.compile(r"marker-current"))
    expect(page.locator("g[data-element-id=prepare]")).to_have_class(re.compile(r"marker-completed"))
    expect(page.locator("g[data-element-id=correct_application]")).not_to_have_class(re.compile(r"marker-"))


def test_the_language_switch_changes_the_pages_and_the_process_labels(page, people, db):
    # given a reviewer with a task, on the Chinese (default) pages
    start_application(db)
    sign_in(page, "wang")
    page.goto("/inbox?scope=group")
    expect(page.locator("h1")).to_have_text("我的任务")
    expect(page.locator("#task-list")).to_contain_text("形式审查")
    # when they switch to English
    page.click(".lang-switch button[value=en]")
    # then the page, the task names and the process names are in English, and it stays so
    expect(page.locator("h1")).to_have_text("My tasks")
    expect(page.locator("#task-list")).to_contain_text("Formal review")
    expect(page.locator("#task-list")).not_to_contain_text("形式审查")
    page.goto("/account/substitutes")
    expect(page.locator("h1")).to_have_text("Substitutes")
    # and back to Chinese
    page.click(".lang-switch button[value=zh_CN]")
    expect(page.locator("h1")).to_have_text("代理设置")


def test_a_new_task_appears_in_the_open_inbox_without_reloading_the_page(page, people, db):
    # given a reviewer looking at their groups' (empty) open tasks
    sign_in(page, "wang")
    page.goto("/inbox?scope=group")
    expect(page.locator(".empty")).to_be_visible()
    page.evaluate("window.__stillTheSamePage = true")
    # when an applicant submits meanwhile
    start_application(db, title="Early detection of sepsis from routine blood tests")
    # then the row appears (the poll noticed) and the menu count follows, in the same page
    expect(page.locator("#task-list")).to_contain_text("Early detection of sepsis", timeout=15_000)
    expect(page.locator("#menu-count-group")).to_have_text("1")
    assert page.evaluate("window.__stillTheSamePage") is True


def test_bulk_claim_takes_the_selected_tasks_and_release_gives_them_back(page, people, db):
    # given three applications waiting for the institution
    for title in ("Project one", "Project two", "Project three"):
        start_application(db, title=title)
    sign_in(page, "wang")
    page.goto("/inbox?scope=group&sort=project")
    # when two of them are selected and claimed at once
    page.locator("tr", has_text="Project one").locator(".row-select").check()
    page.locator("tr", has_text="Project two").locator(".row-select").check()
    page.click("button[value=claim]")
    # then both are assigned to the reviewer, the third still open to the group
    expect(page.locator(".flash-success")).to_contain_text("已认领 2 项任务")
    mine = commands.query(db, tasks.list_tasks, actor("wang"), "assigned")
    assert mine.total == 2
    assert commands.query(db, tasks.list_tasks, actor("wang"), "candidate").total == 1
    # when the reviewer selects all assigned tasks and releases them (confirming)
    page.goto("/inbox?scope=assigned")
    page.check("[data-select-all]")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[value=release]")
    expect(page.locator(".flash-success")).to_contain_text("已将 2 项任务放回组队列")
    assert commands.query(db, tasks.list_tasks, actor("wang"), "assigned").total == 0


def test_a_task_completed_meanwhile_gives_a_clear_message_and_no_error(page, people, db):
    # given the reviewer has the task open in the browser
    instance = start_application(db)
    task = open_task(db, instance.id)
    commands.execute(db, tasks.claim, actor("wang"), task.id)
    sign_in(page, "wang")
    page.goto(f"/tasks/{task.id}")
    page.check("input[name=decision][value=accept]")
    # when a supervisor reassigns it to a colleague, who completes it meanwhile
    commands.execute(db, tasks.assign, actor("zhao"), task.id, "chen")
    commands.execute(db, tasks.complete, actor("chen"), task.id, {"decision": "return", "review_comment": "请补充材料"})
    page.click("#complete-button")
    # then the reviewer is told it was completed or cancelled meanwhile (409), nothing saved
    expect(page.locator("h1")).to_contain_text("已被他人修改")
    expect(page.locator("main")).to_contain_text("此任务已在此期间被他人完成或取消")
    completed = commands.query(db, tasks.get, task.id)
    assert completed.completed_by == "chen"


def test_an_applicant_saves_a_draft_comes_back_and_submits_it(page, people, db):
    # given a half-filled application saved as a draft
    sign_in(page, "li")
    page.goto("/applications/new/application_formal_review")
    page.fill("input[name=title]", "Sepsis early warning")
    page.fill("input[name=budget]", "80")
    page.click("#save-draft")
    expect(page.locator(".flash-success")).to_contain_text("草稿已保存")
    # when the applicant comes back to it from "my applications"
    page.goto("/applications")
    page.click("text=Sepsis early warning")
    expect(page.locator("input[name=title]")).to_have_value("Sepsis early warning")
    expect(page.locator("input[name=budget]")).to_have_value("80")
    # and submits it incomplete, then complete
    page.click("#submit-application")
    expect(page.locator("[data-field=abstract] .field-error")).to_be_visible()
    expect(page.locator("input[name=title]")).to_have_value("Sepsis early warning")
    page.select_option("select[name=plan_category]", "public_welfare")
    page.select_option("select[name=discipline]", "biomed")
    page.fill("input[name=organisation]", "Zhejiang Biomedicine Lab")
    page.fill("input[name=principal_investigator]", "Li Na")
    page.fill("input[name=period_months]", "24")
    page.fill("textarea[name=abstract]", "A validated model that flags sepsis risk from routine blood counts.")
    page.check("input[name=integrity_pledge]")
    page.click("#submit-application")
    # then it is submitted and the draft is gone
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    page.goto("/applications")
    expect(page.locator("#drafts-title")).to_have_count(0)
    expect(page.locator("#applications")).to_contain_text("Sepsis early warning")
