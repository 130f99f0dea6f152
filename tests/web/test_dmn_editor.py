"""The decision-table editor (dmn-js) in a real browser: a designer opens the FEEL table a
deployed process uses, adds a new blank table to the draft, gets a FEEL cell outside the subset
refused by validation with its cell named and marked, fixes it, saves and deploys; the process
that uses the table gets a new version and a new instance decides by the edited cell."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from engine.core import commands, users
from engine.core.models import DefinitionFile, ProcessDefinition
from engine.definitions import deployment
from engine.runtime import instances

from tests.definitions.test_decision_tables import ALICE, BPMN, table
from .conftest import PASSWORD, sign_in

BAND = table("band", "FIRST", [("Score", "score")], ["band"], [
    ([">= 60"], ['"pass"']), (["-"], ['"fail"'])])


def _sign_in(page, name: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, name)


def _type_in_cell(page, cell_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    cell = page.locator(f"#dmn-editor td[data-element-id='{cell_id}']")
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.locator("#dmn-editor th").first.click()  # leave the cell, as a designer would


def _save_and_validate(page) -> None:  # type: ignore[no-untyped-def]
    page.click("#check-button")
    expect(page.locator("#findings")).to_have_attribute("data-valid", re.compile("true|false"))


def test_a_designer_edits_a_feel_table_in_the_browser_and_deploys_it(page, people, db):
    # given a deployed process whose business rule task uses a FEEL table, and a designer
    commands.execute(db, users.create_user, "sun", PASSWORD, ["designers"], None, None, "Sun",
                     password_policy=False)
    commands.execute(db, deployment.deploy, [("band.dmn", BAND.encode()),
                                             ("p_band.bpmn", BPMN.format(key="p_band", ref="band").encode())], "test")
    _sign_in(page, "sun")
    page.goto("/designer")
    page.locator("#catalogue tr[data-process='p_band'] button[data-action=edit]").first.click()

    # when the designer adds a new decision table, it opens in the editor and is valid as it is
    page.fill("#new-decision-form [name=decision_id]", "risk_band")
    page.fill("#new-decision-form [name=name]", "风险分档")
    page.click("#new-decision-form button[type=submit]")
    expect(page.locator("#dmn-editor")).to_have_attribute("data-ready", "true")
    _save_and_validate(page)
    expect(page.locator("#findings")).to_have_attribute("data-valid", "true")

    # and opens the process's table, where a FEEL cell outside the subset is refused, its cell named
    page.locator(".breadcrumb a").nth(1).click()
    page.locator("#draft-files a", has_text="band.dmn").first.click()
    expect(page.locator("#dmn-editor")).to_have_attribute("data-ready", "true")
    _type_in_cell(page, "r1o0", 'upper case("x")')
    expect(page.locator("#save-state")).to_have_attribute("data-state", "unsaved")
    _save_and_validate(page)
    expect(page.locator("#findings")).to_have_attribute("data-valid", "false")
    expect(page.locator("#findings-list li[data-element='r1o0']")).to_contain_text("rule 1 (r1), output 'band'")
    expect(page.locator("#dmn-editor td[data-element-id='r1o0']")).to_have_class(re.compile("has-problem"))

    # then, with the cell fixed, saved and the draft deployed
    _type_in_cell(page, "r1o0", '"excellent"')
    _save_and_validate(page)
    expect(page.locator("#findings")).to_have_attribute("data-valid", "true")
    page.locator(".breadcrumb a").nth(1).click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#deploy-button")
    expect(page.locator(".flash-success")).to_contain_text("p_band v2")

    # the process has a new version that decides by the edited cell, and the new table is stored
    versions = commands.query(db, lambda s: sorted(v for (v,) in s.query(ProcessDefinition.version)
                                                   .filter(ProcessDefinition.key == "p_band")))
    assert versions == [1, 2]
    instance = commands.execute(db, instances.start, ALICE, "p_band", {"score": 70})
    assert instances.data_of(instance)["band"] == "excellent"
    stored = commands.query(db, lambda s: [f.filename for f in s.query(DefinitionFile).filter(DefinitionFile.kind == "dmn")])
    assert "risk_band.dmn" in stored
