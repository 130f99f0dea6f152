"""A formal review that goes round twice, in Chinese, at desktop and phone size (390x844): a
return without a comment is refused naming the comment; releasing reads "放回组队列" and sits
apart from the form, and an applicant's own task offers no release; after the correction the
applicant lands on their application, not on an inbox they have no menu entry for; the second
round starts with nothing chosen; and the first round's task, completed, shows what was
submitted, read-only."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine.core import commands
from engine.runtime import tasks

from .conftest import actor, open_task, sign_in, start_application

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", list(SIZES))
def test_a_second_review_round_starts_empty_and_the_first_shows_what_was_submitted(page, new_page, people, db, size):
    page.set_viewport_size(SIZES[size])
    instance = start_application(db)
    first = open_task(db, instance.id)
    # given the reviewer has claimed the formal review
    sign_in(page, "wang")
    page.goto(f"/tasks/{first.id}")
    page.click("#claim-button")
    # then releasing is offered apart from the form, in its own words
    expect(page.locator("#release-button")).to_have_text("放回组队列")
    expect(page.locator("#task-form #release-button")).to_have_count(0)
    # when they return the application without a comment (the comment is marked required once
    # "return" is chosen)
    mark = page.locator("[data-field=review_comment] [data-required-mark]")
    expect(mark).to_be_hidden()
    page.check("input[name=decision][value=return]")
    expect(mark).to_be_visible()
    page.click("#complete-button")
    # then it is refused, the comment named, the choice kept, and the task still open
    expect(page.locator("[data-field=review_comment] .field-error")).to_have_text("“审查结论”为“退回修改”时必须填写。")
    expect(page.locator("input[name=decision][value=return]")).to_be_checked()
    assert open_task(db, instance.id).id == first.id
    # when they write why and send it back
    page.fill("textarea[name=review_comment]", "请补充伦理审查批件。")
    page.click("#complete-button")
    expect(page.locator(".flash-success")).to_contain_text("已完成")

    # the applicant corrects it: no release on their own task, and they land on the application
    applicant = new_page()
    applicant.set_viewport_size(SIZES[size])
    sign_in(applicant, "zhang")
    correction = open_task(db, instance.id)
    applicant.goto(f"/tasks/{correction.id}")
    expect(applicant.locator("#task-form")).to_be_visible()
    expect(applicant.locator("#release-button")).to_have_count(0)
    expect(applicant.locator("textarea[name=correction_note]")).to_have_value("")
    applicant.fill("textarea[name=correction_note]", "已补充伦理审查批件。")
    applicant.click("#complete-button")
    applicant.wait_for_url(re.compile(rf"/instances/{instance.id}$"))
    expect(applicant.locator(".flash-success")).to_contain_text("已完成")

    # when the reviewer claims the second round
    second = open_task(db, instance.id)
    assert second.name == "formal_review" and second.id != first.id
    commands.execute(db, tasks.claim, actor("wang"), second.id)
    page.goto(f"/tasks/{second.id}")
    # then nothing of the first round is chosen or written
    expect(page.locator("#task-form")).to_be_visible()
    for value in ("accept", "return", "reject"):
        expect(page.locator(f"input[name=decision][value={value}]")).not_to_be_checked()
    expect(page.locator("textarea[name=review_comment]")).to_have_value("")
    expect(page.locator("input[name=checks_passed]:checked")).to_have_count(0)

    # when they open the first round from their completed tasks
    page.goto("/inbox?scope=completed")
    row = page.locator(f"#task-list tr[data-task-id='{first.id}']")
    expect(row.locator("a.btn")).to_have_text("查看")
    row.locator("a.btn").click()
    # then it shows what was submitted, read-only
    expect(page.locator("#submitted-caption")).to_be_visible()
    values = page.locator("#submitted-values")
    expect(values.locator("input[name=decision][value=return]")).to_be_checked()
    expect(values.locator("input[name=decision][value=return]")).to_be_disabled()
    expect(values.locator("textarea[name=review_comment]")).to_have_value("请补充伦理审查批件。")
    expect(page.locator("#task-form")).to_have_count(0)
