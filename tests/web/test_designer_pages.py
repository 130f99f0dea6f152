"""The process designer in a real browser: only designers get in; a designer edits a task's
candidate group in the modeler, validates and deploys, and a new application routes to the new
group while one started before keeps the old routing; validation findings are listed and marked
on the element; the form editor previews the form as reviewers see it; a hostile upload is
refused with a clear message; running instances are migrated after a preview; a test run is
stepped through as each role."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from engine.core import commands, users
from engine.core.models import ProcessDefinition

from .conftest import PASSWORD, open_task, sign_in, start_application

KEY = "application_formal_review"


@pytest.fixture
def designer(people, db):  # type: ignore[no-untyped-def]
    commands.execute(db, users.create_user, "sun", PASSWORD, ["designers"], None, None, "Sun",
                     password_policy=False)
    return "sun"


def _sign_in(page, name: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, name)


def _versions(db) -> list[int]:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: sorted(v for (v,) in s.query(ProcessDefinition.version)
                                                .filter(ProcessDefinition.key == KEY)))


def _edit_in_modeler(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/designer")
    page.locator(f"#catalogue tr[data-process='{KEY}'] button[data-action=edit]").first.click()
    page.locator("#draft-files a", has_text=f"{KEY}.bpmn").first.click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")


def _set_candidate_groups(page, element: str, value: str) -> None:  # type: ignore[no-untyped-def]
    # through the modeler's own command stack, as the properties panel's field does
    page.evaluate("""([id, value]) => {
        const m = window.designerModeler;
        m.get('modeling').updateProperties(m.get('elementRegistry').get(id), {'camunda:candidateGroups': value});
    }""", [element, value])


def _formal_review_to_experts_in_a_draft(page, designer: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in, give the formal review to the experts in the modeler, save, back to the draft."""
    _sign_in(page, designer)
    _edit_in_modeler(page)
    _set_candidate_groups(page, "formal_review", "experts")
    page.click("#save-button")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")
    page.locator(".breadcrumb a").nth(1).click()


def test_only_designers_open_the_designer(page, designer, db):
    for name in ("zhao", "wang"):
        _sign_in(page, name)
        assert page.goto("/designer").status == 403
        page.context.clear_cookies()
    _sign_in(page, designer)
    page.goto("/designer")
    expect(page.locator(f"#catalogue tr[data-process='{KEY}']").first).to_contain_text("v1")
    expect(page.locator("nav.menu a[href='/designer']")).to_be_visible()


def test_a_new_candidate_group_routes_new_applications_and_old_ones_keep_theirs(page, designer, db):
    # given an application already waiting in the formal review on v1
    old = start_application(db).id
    assert open_task(db, old).candidate_groups == ["institution_staff"]
    # when the designer gives the formal review to the experts in the modeler, saves and deploys
    _sign_in(page, designer)
    _edit_in_modeler(page)
    _set_candidate_groups(page, "formal_review", "experts")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "unsaved")
    page.click("#save-button")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")
    page.locator(".breadcrumb a").nth(1).click()
    page.click("#validate-button")
    expect(page.locator("#problems")).to_have_attribute("data-valid", "true")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#deploy-button")
    expect(page.locator(".flash-success")).to_contain_text(f"{KEY} v2")
    assert _versions(db) == [1, 2]
    # then a new application goes to the experts, and the old one still to the institution
    new = start_application(db, title="新的申报").id
    assert open_task(db, new).candidate_groups == ["experts"]
    assert open_task(db, old).candidate_groups == ["institution_staff"]
    # and the comparison names the change
    page.goto(f"/designer/processes/{KEY}/compare?from=1&to=2")
    row = page.locator("#diff tr[data-element='formal_review'][data-setting='camunda:candidateGroups']")
    expect(row).to_contain_text("experts")


def test_validation_findings_are_listed_and_marked_on_the_element(page, designer, db):
    _sign_in(page, designer)
    _edit_in_modeler(page)
    _set_candidate_groups(page, "formal_review", "${1 +}")
    page.click("#check-button")
    expect(page.locator("#findings")).to_have_attribute("data-valid", "false")
    expect(page.locator("#findings-list li[data-element='formal_review']")).to_contain_text("candidateGroups")
    expect(page.locator(".problem-badge[data-element='formal_review']")).to_be_visible()
    assert _versions(db) == [1]


def test_the_form_editor_previews_the_form_as_reviewers_see_it(page, designer, db):
    _sign_in(page, designer)
    page.goto("/designer")
    page.locator(f"#catalogue tr[data-process='{KEY}'] button[data-action=edit]").first.click()
    page.locator("#draft-files a", has_text="formal_review.form").first.click()
    expect(page.locator("#form-editor")).to_have_attribute("data-ready", "true")
    page.click("#preview-button")
    expect(page.locator("#form-preview")).to_have_attribute("data-ready", "true")
    expect(page.locator("#form-preview input[name='decision']").first).to_be_attached()


def test_a_hostile_upload_is_refused_with_a_clear_message_and_nothing_deployed(page, designer, db):
    _sign_in(page, designer)
    page.goto("/designer")
    page.fill("#new-draft input[name=name]", "来自桌面的文件")
    page.set_input_files("#new-draft input[name=files]", files=[{
        "name": "evil.bpmn", "mimeType": "application/xml",
        "buffer": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'}])
    page.click("#new-draft button[type=submit]")
    page.click("#validate-button")
    expect(page.locator("#problems")).to_contain_text("DOCTYPE")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#deploy-button")
    expect(page.locator(".flashes .flash-error")).to_be_visible()
    expect(page.locator("#problems")).to_contain_text("DOCTYPE")
    assert "root:" not in page.content()
    assert _versions(db) == [1]


def test_waiting_instances_are_migrated_after_a_preview(page, designer, db):
    old = start_application(db).id
    _formal_review_to_experts_in_a_draft(page, designer)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#deploy-button")
    expect(page.locator(".flash-success")).to_be_visible()
    page.goto(f"/designer/processes/{KEY}/migrate?from=1&to=2")
    expect(page.locator(f"#migration-plans tr[data-instance='{old}']")).to_have_attribute("data-possible", "true")
    page.fill("#migration-form input[name=reason]", "形式审查改由专家组负责")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#migrate-button")
    expect(page.locator("#migration-report")).to_contain_text("1")
    assert open_task(db, old).candidate_groups == ["experts"]
    from engine.core.models import ProcessInstance
    assert commands.query(db, lambda s: s.get(ProcessInstance, old).version) == 2


def test_a_test_run_is_stepped_through_as_each_role_without_real_data(page, designer, db):
    _sign_in(page, designer)
    page.goto("/designer")
    page.locator(f"#catalogue tr[data-process='{KEY}'] button[data-action=edit]").first.click()
    page.click("#trial-button")
    # the start form is checked as an applicant's would be: an empty one is refused, fields named
    page.click("#trial-start-button")
    expect(page.locator("#trial-start .flash-error")).to_be_visible()
    form = page.locator("#trial-start")
    form.locator("[name=title]").fill("试运行：高熵合金")
    form.locator("[name=plan_category]").select_option("key_rd")
    form.locator("[name=discipline]").select_option("materials")
    form.locator("[name=organisation]").fill("杭州先进材料研究院")
    form.locator("[name=principal_investigator]").fill("张伟")
    form.locator("[name=budget]").fill("100")
    form.locator("[name=period_months]").fill("24")
    form.locator("[name=abstract]").fill("研究高熵合金激光增材制造的组织调控与性能优化。")
    form.locator("[name=integrity_pledge]").check()
    page.click("#trial-start-button")
    # then the formal review waits for the institution staff; the designer acts as them
    task = page.locator(".trial-task[data-element='formal_review']")
    expect(task.locator(".groups")).to_have_text("institution_staff")
    task.locator("input[name=decision][value=accept]").check()
    task.locator("select[name=as_role]").select_option("institution_staff")
    task.locator("button[type=submit]").click()
    expect(page.locator("#trial-state")).to_have_attribute("data-state", "completed")
    expect(page.locator("#trial-log")).to_contain_text("institution_staff")
    # and nothing real was started
    from engine.core.models import HumanTask, ProcessInstance
    assert commands.query(db, lambda s: (s.query(ProcessInstance).count(), s.query(HumanTask).count())) == (0, 0)


CALLER = (b'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
          b'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_caller" '
          b'targetNamespace="http://scitech.example/test"><bpmn:process id="caller_p" isExecutable="true">'
          b'<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
          b'<bpmn:callActivity id="review" calledElement="' + KEY.encode() + b'">'
          b'<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>'
          b'<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
          b'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>'
          b'<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/></bpmn:process></bpmn:definitions>')


def test_a_changed_process_says_before_deploying_which_callers_get_new_versions_too(page, designer, db):
    from engine.definitions import deployment
    # given a deployed process that calls the formal review
    commands.execute(db, deployment.deploy, [("caller_p.bpmn", CALLER)], "test")
    # when the designer changes the formal review and validates the draft
    _formal_review_to_experts_in_a_draft(page, designer)
    page.click("#validate-button")
    # then the page says, in the user's language, that the caller gets a new version too
    expect(page.locator("#also-deployed")).to_contain_text("caller_p")
    expect(page.locator("#also-deployed")).to_contain_text(f"调用 {KEY}")
    # and deploying does exactly that
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#deploy-button")
    expect(page.locator(".flash-success")).to_contain_text("caller_p v2")
