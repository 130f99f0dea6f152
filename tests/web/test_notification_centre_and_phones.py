"""The notification centre and the phone layout, in a real browser: the header's bell counts a new
notification without a reload and clears when it is opened or all are marked read; the list
leads to the task as its reader may open it; and at 390x844 no role's inbox or task page
scrolls sideways, the header stays compact, the project facts come before the form and the
controls are at least 44 px high."""
from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from engine.core import clock, commands
from engine.runtime import instances, tasks

from .conftest import actor, open_task, sign_in, start_application

PHONE = {"width": 390, "height": 844}


def _notify(db: Any, username: str, task_id: str | None, instance_id: int, title: str) -> int:
    from engine.notify.notifications import Notification

    def add(session: Any) -> int:
        row = Notification(username=username, kind="task_reassigned_to_you",
                           params={"title": title, "instance_id": instance_id}, task_id=task_id,
                           process_instance_id=instance_id, created_at=clock.now())
        session.add(row)
        session.flush()
        return row.id
    return commands.execute(db, add)


def test_the_bell_counts_a_new_notification_and_clears_when_it_is_opened_or_all_are_read(
        page, people, db, web_app, monkeypatch):  # type: ignore[no-untyped-def]
    # given a reviewer signed in with nothing unread, and the bell polling every second
    monkeypatch.setitem(web_app.config, "NOTIFICATION_POLL_SECONDS", 1)
    instance = start_application(db)
    task = open_task(db, instance.id)
    sign_in(page, "wang")
    page.goto("/inbox?scope=group")
    expect(page.locator("#bell-count")).to_be_hidden()
    page.goto("/notifications")
    expect(page.locator("#no-notifications")).to_contain_text("暂无通知")
    # when a notification about their group's task arrives
    _notify(db, "wang", task.id, instance.id, "形式审查 · Formal review")
    # then the bell shows it without a reload
    expect(page.locator("#bell-count")).to_have_text("1")
    expect(page.locator("#bell")).to_have_attribute("aria-label", re.compile("1 条未读"))
    # and the list shows it, leading to the task; opening it clears the count
    page.click("#bell")
    entry = page.locator("#notification-list li.notification").first
    expect(entry).to_contain_text("形式审查")
    expect(entry).to_have_class(re.compile("unread"))
    entry.locator("a.btn", has_text="打开任务").click()
    page.wait_for_url(re.compile(rf"/tasks/{task.id}$"))
    expect(page.locator("#bell-count")).to_be_hidden()
    # when two more arrive, one about a task this reviewer may not open (an expert's scoring)
    other = commands.execute(db, instances.start, actor("zhang"), "expert_scoring", {"expert": "zhou"})
    other_task = open_task(db, other.id)
    _notify(db, "wang", other_task.id, other.id, "别人的任务")
    _notify(db, "wang", task.id, instance.id, "再次提醒")
    page.goto("/notifications")
    expect(page.locator("#bell-count")).to_have_text("2")
    # then the one they may not open has no link, and "mark all as read" clears the bell
    foreign = page.locator("#notification-list li.notification", has_text="别人的任务")
    expect(foreign.locator("a")).to_have_count(0)
    page.click("#read-all")
    expect(page.locator(".flash-success")).to_contain_text("所有通知已标为已读")
    expect(page.locator("#bell-count")).to_be_hidden()
    expect(page.locator("#notification-list li.unread")).to_have_count(0)


def _no_sideways_scroll(page: Any, where: str) -> None:
    width = page.evaluate("[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert width[0] <= width[1], f"{where} scrolls sideways at 390 px: {width[0]} > {width[1]}"


def _phone_checks(page: Any, where: str) -> None:
    _no_sideways_scroll(page, where)
    header = page.locator("header.topbar").bounding_box()
    assert header and header["height"] <= 64, f"{where}: the header takes {header and header['height']} px"


def test_every_roles_inbox_and_task_page_fit_a_phone(browser, live_server, people, db):  # type: ignore[no-untyped-def]
    # given work for each role: a group task for staff, an expert's scoring, a correction for
    # the applicant, and a supervisor who may open any of them
    staff_instance = start_application(db, title="用于手机布局测试的一个相当长的项目名称，检查卡片中的换行" * 2)
    staff_task = open_task(db, staff_instance.id)
    expert_instance = commands.execute(db, instances.start, actor("zhang"), "expert_scoring", {"expert": "zhou"})
    expert_task = open_task(db, expert_instance.id)
    returned = start_application(db, "li")
    review = open_task(db, returned.id)
    commands.execute(db, tasks.claim, actor("chen"), review.id)
    commands.execute(db, tasks.complete, actor("chen"), review.id,
                     {"decision": "return", "review_comment": "请补充材料", "checks_passed": ["complete"]})
    correction = open_task(db, returned.id)
    roles = [("wang", "/inbox?scope=group", staff_task.id), ("zhou", "/inbox", expert_task.id),
             ("li", "/applications", correction.id), ("zhao", "/inbox?scope=group", staff_task.id)]
    for name, inbox_url, task_id in roles:
        context = browser.new_context(base_url=live_server, locale="zh-CN", viewport=PHONE, is_mobile=True,
                                      has_touch=True)
        context.set_default_timeout(15_000)
        try:
            page = context.new_page()
            sign_in(page, name)
            # when each opens their list on a phone
            page.goto(inbox_url)
            # then nothing scrolls sideways and the header is one compact bar
            _phone_checks(page, f"{name}'s {inbox_url}")
            if "/inbox" in inbox_url and page.locator("#task-list tbody tr").count():
                card = page.locator("#task-list tbody tr").first
                box = card.bounding_box()
                assert box and box["width"] <= PHONE["width"], "an inbox row is wider than the phone"
                assert page.locator("#task-list thead").bounding_box()["height"] <= 1  # cards, no header row
            # and the task page too, with the project facts first and controls a thumb can hit
            page.goto(f"/tasks/{task_id}")
            _phone_checks(page, f"{name}'s task page")
            facts = page.locator("aside .card").first.bounding_box()
            form = page.locator("#form-title").locator("xpath=..").bounding_box()
            assert facts and form and facts["y"] < form["y"], f"{name}: the facts come after the form"
            for button in page.locator("main .btn:visible").all():
                height = button.bounding_box()["height"]
                assert height >= 44, f"{name}: a control is {height} px high: {button.inner_text()}"
            # the menu opens from its toggle and closes again
            expect(page.locator(".menu")).to_be_hidden()
            page.click(".menu-toggle")
            expect(page.locator(".menu")).to_be_visible()
            _no_sideways_scroll(page, f"{name}'s open menu")
            page.click(".menu-toggle")
            expect(page.locator(".menu")).to_be_hidden()
        finally:
            context.close()
