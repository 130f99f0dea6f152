"""One language throughout (issue 15, item 7): in Chinese mode people read display names and
group names, never user names or group ids; the supervisor's data panel is a table of labelled
fields with Chinese as Chinese; the designer's panel and form editor speak Chinese; bpmnlint's
advice, the bulk preview's state changes and a SpiffWorkflow validation message are translated."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine.core import commands, users
from engine.core.principals import Actor
from engine.runtime import tasks

from .conftest import PASSWORD, open_task, sign_in, start_application

ENGLISH_WORD = re.compile(r"[A-Za-z][a-z]{2,}")  # a word, not an acronym such as HTML


def test_the_task_page_names_people_and_groups_by_their_names(page, people, db):
    # given an application waiting for the institution's staff, and a colleague with a Chinese name
    commands.execute(db, users.create_user, "gao.feng", PASSWORD, ["institution_staff"], None, None, "高峰",
                     password_policy=False)
    instance = start_application(db)
    task = open_task(db, instance.id)
    # when the colleague opens the unclaimed task
    sign_in(page, "gao.feng")
    page.goto(f"/tasks/{task.id}")
    # then it waits for the group by its name, not its id
    expect(page.locator("main")).to_contain_text("项目管理机构")
    expect(page.locator("main")).not_to_contain_text("institution_staff")
    # when they claim it
    commands.execute(db, tasks.claim, Actor("gao.feng", frozenset({"institution_staff"})), task.id)
    page.reload()
    # then the task is assigned to 高峰, and the history names 高峰 and the applicant by name
    expect(page.locator("main")).to_contain_text("已分配给 高峰")
    expect(page.locator("main")).not_to_contain_text("gao.feng")
    page.goto(f"/instances/{instance.id}")
    expect(page.locator("#timeline")).to_contain_text("高峰")
    expect(page.locator("#timeline")).not_to_contain_text("gao.feng")
    expect(page.locator("#timeline")).not_to_contain_text("institution_staff")


def test_the_supervisors_data_panel_is_a_table_of_labelled_fields(page, people, db):
    # given a running application with Chinese values
    instance = start_application(db)
    # when the supervisor opens its page
    sign_in(page, "zhao")
    page.goto(f"/supervisor/instances/{instance.id}")
    table = page.locator("#data-table")
    # then the data is a table whose rows carry the forms' labels and the values as written
    expect(table).to_be_visible()
    expect(table.locator("tr[data-key=title] th")).to_have_text("项目名称")
    expect(table.locator("tr[data-key=title] .value")).to_have_text("高熵合金增材制造工艺研究")
    expect(table.locator("tr[data-key=integrity_pledge] .value")).to_have_text("是")
    assert "\\u" not in page.locator("#data-history").inner_text()
    assert "{" not in table.inner_text()


@pytest.mark.slow
def test_the_designer_shows_no_english_in_chinese_mode(page, people, db):
    # given a designer on the Chinese pages, in the modeler with the formal review's user task selected
    commands.execute(db, users.create_user, "sun", PASSWORD, ["designers"], None, None, "Sun", password_policy=False)
    page.goto("/login")
    page.fill("#username", "sun")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(re.compile(r"/(inbox|applications|designer)"))
    page.goto("/designer")
    page.locator("#catalogue tr[data-process='application_formal_review'] button[data-action=edit]").first.click()
    page.locator("#draft-files a", has_text="application_formal_review.bpmn").first.click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
    page.evaluate("""() => { const m = window.designerModeler;
        m.get('selection').select(m.get('elementRegistry').get('formal_review')); }""")
    # then the panel names the element's type and its form choices in Chinese
    expect(page.locator(".bio-properties-panel-header-type")).to_have_text("用户任务")
    form_type = page.locator(".bio-properties-panel-group-header", has_text="表单")
    if "open" not in (form_type.get_attribute("class") or ""):
        form_type.click()
    expect(page.locator(".bio-properties-panel select option", has_text="嵌入或外部任务表单")).to_have_count(1)
    expect(page.locator(".bio-properties-panel")).not_to_contain_text("Embedded or External Task Forms")
    # when they open a form of the draft in the form editor and select a field
    page.go_back()
    page.locator("#draft-files a", has_text="formal_review.form").first.click()
    expect(page.locator("#form-editor")).to_have_attribute("data-ready", "true")
    page.locator(".fjs-editor-container .fjs-element:has(textarea)").first.click()
    # then the palette and the field's properties are in Chinese
    palette = page.locator(".fjs-palette-container")
    expect(palette).to_contain_text("单行文本")
    expect(palette.locator("input").first).to_have_attribute("placeholder", "搜索组件")
    assert not ENGLISH_WORD.search(palette.inner_text()), palette.inner_text()
    properties = page.locator(".fjs-properties-container")
    expect(properties).to_contain_text("常规")
    expect(properties).to_contain_text("字段标签")
    for english in ("General", "Field label", "Validation", "Required", "Condition"):
        expect(properties).not_to_contain_text(english)


def test_advice_preview_lines_and_the_cut_off_validation_message_are_translated(app):
    # given the Chinese pages (the default language)
    from web.i18n import field_error, plan_text
    from web.lint_messages import lint_message
    with app.test_request_context("/"):
        # then bpmnlint's rules, ours and bpmn.io's, speak Chinese
        assert lint_message("User task has no form (camunda:formKey)") == "用户任务没有表单（camunda:formKey）"
        assert lint_message("Element is not connected") == "元素没有连接"
        assert lint_message("bpmn:Process is missing end event") == "bpmn:Process 缺少结束事件"
        # and a bulk preview's state change is in words
        assert plan_text("running → suspended") == "进行中 → 已暂停"
        assert plan_text("is completed, not suspended").startswith("当前为")
        # and SpiffWorkflow's cut-off sentence, made whole by the engine, is translated
        assert field_error("A userTask may have only one outgoing sequence flow; to branch, lead it into a gateway.") \
            == "userTask 只能有一条流出的顺序流；如需分支，请先连到网关。"
        assert field_error("No such user.") == "没有此用户。"


def test_a_diagrams_lanes_named_after_groups_show_the_groups_names(db):
    # given a diagram whose lanes carry group ids (the engine routes tasks by those names)
    from engine.workspace import progress
    source = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p"><bpmn:laneSet id="s">
    <bpmn:lane id="a" name="institution_staff"/><bpmn:lane id="b" name="Reviewers"/>
  </bpmn:laneSet></bpmn:process></bpmn:definitions>"""
    # when a reader's copy is made in Chinese
    shown = commands.query(db, progress.lanes_named, source, "zh_CN").decode()
    # then the group's lane has the group's name and another lane keeps its own
    assert 'name="项目管理机构"' in shown and 'name="Reviewers"' in shown
    assert "institution_staff" not in shown


def test_a_diagrams_bilingual_names_show_the_readers_half(db):
    # given a diagram whose elements are named in both languages
    from engine.workspace import progress
    source = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" name="验收 · Acceptance"><bpmn:userTask id="t" name="形式审查 · Formal review"/>
  <bpmn:exclusiveGateway id="g" name="已受理？· Accepted?"/></bpmn:process></bpmn:definitions>""".encode()
    # when a reader's copy is made in each language
    chinese = commands.query(db, progress.lanes_named, source, "zh_CN").decode()
    english = commands.query(db, progress.lanes_named, source, "en").decode()
    # then each shows its own half only
    assert 'name="形式审查"' in chinese and 'name="已受理？"' in chinese and "Formal review" not in chinese
    assert 'name="Formal review"' in english and 'name="Accepted?"' in english and "形式审查" not in english


def test_a_list_items_line_is_picked_cell_by_cell():
    from engine.core import bilingual
    line = "设备费 · Equipment / 27.0 / 5.4 / 购置关键试验设备"
    assert bilingual.pick(line, "zh_CN") == "设备费 / 27.0 / 5.4 / 购置关键试验设备"
    assert bilingual.pick(line, "en") == "Equipment / 27.0 / 5.4 / 购置关键试验设备"
