"""The modeler's properties panel, driven the way a designer drives it: typing a new candidate
group into the panel's own field (not through the modeler's JavaScript API) is saved, deployed
as a new version and routes new applications while an old one keeps its routing; and the panel
shows, with the values the deployed file holds, every setting the engine reads (assignment,
form key, due date, scripts, conditions, timers, multi-instance); the palette and the panel
speak the user's language."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine.core import commands, users
from engine.core.models import ProcessDefinition

from .conftest import PASSWORD, open_task, start_application

KEY = "application_formal_review"


@pytest.fixture
def designer(people, db):  # type: ignore[no-untyped-def]
    commands.execute(db, users.create_user, "sun", PASSWORD, ["designers"], None, None, "Sun",
                     password_policy=False)
    return "sun"


def _open_modeler(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(re.compile(r"/(inbox|applications|designer)"))
    page.goto("/designer")
    page.locator(f"#catalogue tr[data-process='{KEY}'] button[data-action=edit]").first.click()
    page.locator("#draft-files a", has_text=f"{KEY}.bpmn").first.click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")


def _select(page, element_id: str) -> None:  # type: ignore[no-untyped-def]
    # connections are thin and overlap labels, so they are selected through the selection
    # service; what is checked is the panel the selection opens
    page.evaluate("""(id) => { const m = window.designerModeler;
        m.get('selection').select(m.get('elementRegistry').get(id)); }""", element_id)
    expect(page.locator(".bio-properties-panel-header-label")).to_be_visible()


def _entry(page, entry_id: str):  # type: ignore[no-untyped-def]
    """The panel entry, with its group opened as a designer would open it."""
    entry = page.locator(f".bio-properties-panel-entry[data-entry-id='{entry_id}']")
    group = page.locator(".bio-properties-panel-group").filter(has=entry)
    header = group.locator(".bio-properties-panel-group-header").first
    if "open" not in (header.get_attribute("class") or ""):
        header.click()
    expect(entry).to_be_visible()
    return entry


def _versions(db) -> list[int]:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: sorted(v for (v,) in s.query(ProcessDefinition.version)
                                                .filter(ProcessDefinition.key == KEY)))


def test_a_candidate_group_typed_into_the_properties_panel_routes_only_new_applications(page, designer, db):
    # given an application already waiting in the formal review on v1 (the lane routes it)
    old = start_application(db).id
    assert open_task(db, old).candidate_groups == ["institution_staff"]
    # when the designer clicks the task on the canvas and types a candidate group in the panel
    _open_modeler(page, designer)
    page.locator(".djs-element[data-element-id='formal_review']").first.click()
    expect(page.locator(".bio-properties-panel-header-label")).to_contain_text("Formal review")
    field = _entry(page, "candidateGroups").locator("input")
    field.fill("experts")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "unsaved")
    page.click("#save-button")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")
    # and validates and deploys the draft
    page.locator(".breadcrumb a").nth(1).click()
    page.click("#validate-button")
    expect(page.locator("#problems")).to_have_attribute("data-valid", "true")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#deploy-button")
    expect(page.locator(".flash-success")).to_contain_text(f"{KEY} v2")
    assert _versions(db) == [1, 2]
    # then a new application goes to the experts and the old one stays with the institution
    new = start_application(db, title="面板改组后的申报").id
    assert open_task(db, new).candidate_groups == ["experts"]
    assert open_task(db, old).candidate_groups == ["institution_staff"]


def test_the_panel_shows_every_setting_the_engine_reads_with_the_deployed_values(page, designer, db):
    # given the deployed formal review opened in the modeler
    _open_modeler(page, designer)
    # then a user task offers assignment, due date and form key, with the file's form key
    _select(page, "formal_review")
    for entry in ("assignee", "candidateGroups", "candidateUsers", "dueDate"):
        _entry(page, entry)
    expect(_entry(page, "formKey").locator("input")).to_have_value("formal_review")
    # a script task its Python script
    _select(page, "prepare")
    expect(_entry(page, "scriptFormat").locator("input")).to_have_value("python")
    expect(_entry(page, "scriptValue").locator("textarea")).to_have_value(re.compile(r"^corrections = 0"))
    # a gateway's outgoing flow its condition
    _select(page, "Flow_accept")
    expect(_entry(page, "conditionExpression").locator("input, textarea")).to_have_value('decision == "accept"')
    # a boundary timer its ISO 8601 duration
    _select(page, "correction_deadline")
    expect(_entry(page, "timerEventDefinitionValue").locator("input")).to_have_value("P10D")
    # and a task made multi-instance Camunda's collection, element variable and cardinality
    page.evaluate("""() => { const m = window.designerModeler;
        const task = m.get('elementRegistry').get('formal_review');
        m.get('modeling').updateProperties(task,
            {loopCharacteristics: m.get('moddle').create('bpmn:MultiInstanceLoopCharacteristics')}); }""")
    _select(page, "formal_review")
    for entry in ("collection", "elementVariable", "loopCardinality", "completionCondition"):
        _entry(page, entry)


def test_the_palette_and_the_panel_follow_the_users_language(page, designer, db):
    # given a designer on the Chinese (default) pages, in the modeler with a user task selected
    _open_modeler(page, designer)
    _select(page, "formal_review")
    # then the palette, the panel's groups and its fields are in Chinese
    expect(page.locator(".djs-palette .bpmn-icon-task")).to_have_attribute("aria-label", "创建任务")
    expect(_entry(page, "candidateGroups")).to_contain_text("候选组")
    expect(page.locator(".bio-properties-panel-group-header-title", has_text="用户分配")).to_be_visible()
    # when they switch to English and open the modeler again
    page.click(".lang-switch button[value=en]")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
    _select(page, "formal_review")
    # then the same places are in English
    expect(page.locator(".djs-palette .bpmn-icon-task")).to_have_attribute("aria-label", "Create task")
    expect(_entry(page, "candidateGroups")).to_contain_text("Candidate groups")
    expect(page.locator(".bio-properties-panel-group-header-title", has_text="用户分配")).to_have_count(0)
