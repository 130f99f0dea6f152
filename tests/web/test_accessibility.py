"""No serious or critical accessibility violation on each role's main pages, in Chinese: axe-core
(npm, published by web/assets.py like every other front-end file) is injected into the page and
run as it is; each finding is printed with the page, so a failure says what and where."""
from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from engine.core import commands, users
from engine.runtime import instances, tasks

from .conftest import PASSWORD, actor, open_task, sign_in, start_application

BLOCKING = ("serious", "critical")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now."""
    page.add_script_tag(url="/assets/axe.min.js")
    return page.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ['violations'] });
        return result.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')) }));
    }""")


def check(page: Any, where: str, found: dict[str, list[dict[str, Any]]]) -> None:
    violations = axe_violations(page)
    found[where] = violations
    for v in violations:
        print(f"axe {where}: {v['impact']} {v['id']} ({v['help']}) at {v['targets']}")


def blocking(found: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    return {where: [f"{v['id']} {v['targets']}" for v in vs if v["impact"] in BLOCKING]
            for where, vs in found.items() if any(v["impact"] in BLOCKING for v in vs)}


def test_the_applicants_pages_have_no_serious_violation(page, people, db):
    # given an applicant with a submitted application, on the Chinese pages
    start_application(db)
    sign_in(page, "zhang")
    found: dict[str, list[dict[str, Any]]] = {}
    # when axe checks their home, their applications and the new application form
    page.goto("/")
    check(page, "applicant home", found)
    page.goto("/applications")
    check(page, "my applications", found)
    page.goto("/applications/new/application_formal_review")
    expect(page.locator("form")).not_to_have_count(0)
    check(page, "new application", found)
    # then none is serious or critical
    assert blocking(found) == {}


def test_the_staff_and_expert_pages_have_no_serious_violation(page, people, db):
    # given a formal review claimed by the reviewer wang and a scoring task of the expert zhou
    instance = start_application(db)
    commands.execute(db, tasks.claim, actor("wang"), open_task(db, instance.id).id)
    scoring = commands.execute(db, instances.start, actor("zhang"), "expert_scoring", {"expert": "zhou"})
    found: dict[str, list[dict[str, Any]]] = {}
    # when axe checks their inboxes and task pages
    sign_in(page, "wang")
    page.goto("/inbox")
    check(page, "staff inbox", found)
    page.goto(f"/tasks/{open_task(db, instance.id).id}")
    expect(page.locator("#task-form")).to_be_visible()
    check(page, "staff task page", found)
    page.context.clear_cookies()
    sign_in(page, "zhou")
    page.goto("/inbox")
    check(page, "expert inbox", found)
    page.goto(f"/tasks/{open_task(db, scoring.id).id}")
    check(page, "expert task page", found)
    # then none is serious or critical
    assert blocking(found) == {}


def test_the_supervisors_pages_have_no_serious_violation(page, people, db):
    # given a running application
    instance = start_application(db)
    found: dict[str, list[dict[str, Any]]] = {}
    # when axe checks the supervisor's dashboard and the instance's page
    sign_in(page, "zhao")
    page.goto("/supervisor/dashboard")
    check(page, "supervisor dashboard", found)
    page.goto(f"/supervisor/instances/{instance.id}")
    expect(page.locator("#data-table")).to_be_visible()
    check(page, "supervisor instance page", found)
    # then none is serious or critical
    assert blocking(found) == {}


@pytest.mark.slow
def test_the_designers_pages_have_no_serious_violation(page, people, db):
    # given a designer
    commands.execute(db, users.create_user, "sun", PASSWORD, ["designers"], None, None, "Sun", password_policy=False)
    found: dict[str, list[dict[str, Any]]] = {}
    # when axe checks the designer's list and the modeler of a deployed process
    page.goto("/login")
    page.fill("#username", "sun")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(re.compile(r"/(inbox|applications|designer)"))
    page.goto("/designer")
    check(page, "designer list", found)
    page.locator("#catalogue tr[data-process='application_formal_review'] button[data-action=edit]").first.click()
    page.locator("#draft-files a", has_text="application_formal_review.bpmn").first.click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
    check(page, "modeler", found)
    # then none is serious or critical
    assert blocking(found) == {}
