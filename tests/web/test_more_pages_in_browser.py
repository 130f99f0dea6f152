"""The rest of the reviewer's tools in a real browser: substitutes, attachments, comments,
follow-up dates and saved filters."""
from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from engine.core import commands
from engine.runtime import tasks

from .conftest import actor, open_task, sign_in, start_application

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_a_reviewer_names_a_substitute_who_takes_over_their_task(page, new_page, people, db):
    # given wang has claimed a task
    instance = start_application(db)
    task = open_task(db, instance.id)
    commands.execute(db, tasks.claim, actor("wang"), task.id)
    # when wang names chen (a colleague in the same group) as substitute for the coming week
    sign_in(page, "wang")
    page.click("text=代理设置")
    page.fill("#f-substitute", "chen")
    page.fill("#f-ends_on", (date.today() + timedelta(days=7)).isoformat())
    page.fill("#f-reason", "年假")
    page.click("button:has-text('指定代理人')")
    expect(page.locator(".flash-success")).to_contain_text("chen")
    expect(page.locator("table.list")).to_contain_text("生效中")
    # then chen sees wang's task marked as wang's and takes it over
    other = new_page()
    sign_in(other, "chen")
    other.goto("/inbox?scope=assigned")
    row = other.locator("#task-list tbody tr", has_text="高熵合金增材制造工艺研究")
    expect(row).to_contain_text("代 Wang")
    row.locator("button", has_text="接手").click()
    expect(other.locator(".flash-success")).to_contain_text("代理人")
    expect(other.locator("#task-form")).to_be_visible()
    assert open_task(db, instance.id).assignee == "chen"


def test_a_reviewer_attaches_a_file_that_permitted_people_can_download(page, new_page, people, db, tmp_path):
    # given wang works on a task
    instance = start_application(db)
    task = open_task(db, instance.id)
    commands.execute(db, tasks.claim, actor("wang"), task.id)
    sign_in(page, "wang")
    page.goto(f"/tasks/{task.id}")
    # when a renamed executable is uploaded, it is refused with a reason
    fake = tmp_path / "批件.pdf"
    fake.write_bytes(b"MZ\x90\x00 this is no pdf")
    page.set_input_files("#file-input", str(fake))
    page.click("button:has-text('上传')")
    expect(page.locator(".flash-error")).to_contain_text("文件内容与扩展名不符")
    # when a real PDF is uploaded, it is listed and downloads intact
    real = tmp_path / "伦理审查批件.pdf"
    real.write_bytes(PDF)
    page.set_input_files("#file-input", str(real))
    page.click("button:has-text('上传')")
    expect(page.locator(".flash-success")).to_contain_text("文件已添加")
    link = page.locator("#attachments a", has_text="伦理审查批件.pdf")
    href = link.get_attribute("href")
    download = page.request.get(href)
    assert download.status == 200 and download.body() == PDF
    assert "attachment" in download.headers["content-disposition"]
    # and an applicant of another project gets 403 for it
    outsider = new_page()
    sign_in(outsider, "li")
    assert outsider.request.get(href).status == 403


def test_comments_and_a_follow_up_date_on_a_task(page, people, db):
    instance = start_application(db, title="Follow-up project")
    start_application(db, title="Another project")
    task = open_task(db, instance.id)
    sign_in(page, "wang")
    page.goto(f"/tasks/{task.id}")
    # when a comment is written, it shows under the task
    page.fill("#comment-body", "已电话联系申报人，周一补交。")
    page.click("button:has-text('添加评论')")
    expect(page.locator("#comments")).to_contain_text("已电话联系申报人，周一补交。")
    # when a follow-up date of today is set, the inbox's "follow-up due" filter finds only that task
    page.fill("input[name=follow_up_on]", date.today().isoformat())
    page.click("form[action$='/follow-up'] button:has-text('保存')")
    expect(page.locator(".flash-success")).to_contain_text("跟进日期已保存")
    page.goto("/inbox?scope=group")
    page.select_option("select[name=due]", "follow_up")
    expect(page.locator("#task-list tbody tr")).to_have_count(1)
    expect(page.locator("#task-list")).to_contain_text("Follow-up project")
    assert "due=follow_up" in page.url


def test_a_saved_filter_brings_back_the_same_list(page, people, db):
    start_application(db, title="Soil moisture sensing")
    start_application(db, title="Sepsis detection")
    sign_in(page, "wang")
    page.goto("/inbox?scope=group&q=soil")
    expect(page.locator("#task-list tbody tr")).to_have_count(1)
    # when the filter is saved under a name
    page.click("summary:has-text('保存当前筛选')")
    page.fill("details input[name=name]", "土壤项目")
    page.click("details button:has-text('保存')")
    expect(page.locator(".flash-success")).to_contain_text("筛选条件已保存")
    # then after going elsewhere, one click brings the same list back
    page.goto("/inbox?scope=assigned")
    page.click(".saved-filters a:has-text('土壤项目')")
    page.wait_for_url(re.compile(r"q=soil"))
    expect(page.locator("#task-list tbody tr")).to_have_count(1)
    expect(page.locator("#task-list")).to_contain_text("Soil moisture sensing")
