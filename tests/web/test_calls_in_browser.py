"""Calls for proposals in the browser (issue 16): institution staff create a call (a field error
named on the page first), publish it (confirmed), and see it on its page; an applicant finds it
among the open calls and applies under it, the plan categories limited to the call's; a
recommending unit sees its quota. At a desktop's 1366 px and a phone's 390 px, in Chinese and
English."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.core import clock, commands, users
from engine.core.calendar import BUREAU_TZ
from engine.core.models import ProcessInstance
from engine.lifecycle import calls, projects
from engine.workspace import call_desk
from tests.lifecycle.world import APPLICATION, STAFF, build_world
from tests.web.conftest import PASSWORD, sign_in

PEOPLE = [("wang.fang", ["institution_staff"], None, "王芳 Wang Fang"),
          ("zhang.wei", ["applicants"], "杭州先进材料研究院", "张伟 Zhang Wei"),
          ("chen.rec", ["recommender.binjiang"], "滨江区科技局", "陈推荐 Chen Tui")]


@pytest.fixture
def call_world(db, password_hash, monkeypatch):  # type: ignore[no-untyped-def]
    build_world(db, experts_per_discipline=6)
    monkeypatch.setattr(users, "generate_password_hash", lambda password: password_hash)
    for name, groups, org, display in PEOPLE:
        commands.execute(db, users.create_user, name, PASSWORD, groups, org, None, display, password_policy=False)
    monkeypatch.undo()
    return db


def _context(browser: Any, live_server: str, width: int, locale: str) -> Any:
    context = browser.new_context(base_url=live_server, locale=locale, viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    return context


def _speak(page: Any, locale: str) -> None:
    """Choose the page language with the header's switch (on a phone it sits in the menu)."""
    if not locale.startswith("zh"):
        with page.expect_navigation():
            page.evaluate("document.querySelector('.lang-switch button[value=en]').click()")


def _closes_in(days: int) -> str:
    return (clock.now() + timedelta(days=days)).astimezone(BUREAU_TZ).strftime("%Y-%m-%dT17:00")


@pytest.mark.parametrize("width, locale", [(1366, "zh-CN"), (390, "en-US")])
def test_staff_create_a_call_with_a_field_error_first_and_publish_it(call_world, browser, live_server, width, locale):
    context = _context(browser, live_server, width, locale)
    page = context.new_page()
    sign_in(page, "wang.fang")
    _speak(page, locale)
    page.goto("/calls")
    page.click("#new-call")
    # given a call whose closing time is before its opening time
    page.fill("#key", "2027-1")
    page.fill("#title", "2027年度第一批科技计划项目申报指南")
    page.fill("#year", "2027")
    page.fill("#opens_at", _closes_in(10))
    page.fill("#closes_at", _closes_in(5))
    page.check("#cat_natural_science_on")
    page.fill("#cat_natural_science_budget", "3000000")
    page.fill("#cat_natural_science_topics", "先进材料\n生物医药")
    page.fill("#quota_binjiang", "2")
    page.click("#save-call")
    # then the page names the field, in the page's language
    error = page.locator("#call-errors")
    assert ("截止时间须晚于开始时间" if locale.startswith("zh") else "closing time must be after") in error.inner_text()
    # when it is corrected and saved, then published (confirmed)
    page.fill("#opens_at", "")
    page.fill("#closes_at", _closes_in(20))
    page.click("#save-call")
    page.wait_for_url("**/calls/2027-1")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#publish-call")
    page.wait_for_selector("#close-call")
    status = page.locator("#call-status").inner_text()
    assert status == ("已发布" if locale.startswith("zh") else "Published")
    assert page.locator("#standing-table").is_visible()
    # no horizontal scrolling of the whole page on a phone
    wide = page.evaluate("""[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)""")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), wide
    context.close()
    # and its process runs, with the call's key as business key
    instance = commands.query(call_world, lambda s: s.query(ProcessInstance).filter_by(
        process_key="call_for_proposals", business_key="2027-1").one())
    assert instance.state == "running"


def _open_call(db: Any, quota: int = 2) -> None:
    commands.execute(db, call_desk.create, STAFF, {
        "key": "2027-1", "title": "2027年度第一批科技计划项目申报指南", "year": 2027,
        "closes_at": (clock.now() + timedelta(days=20)).isoformat(), "quotas": {"binjiang": quota},
        "categories": [{"code": "natural_science", "name": "自然科学基金", "budget": 3000000, "topics": ["先进材料"]}]})
    commands.execute(db, call_desk.publish, STAFF, "2027-1")


@pytest.mark.parametrize("width, locale", [(1366, "zh-CN"), (390, "en-US")])
def test_an_applicant_applies_under_an_open_call_and_the_unit_sees_its_quota(call_world, browser, live_server,
                                                                             width, locale):
    _open_call(call_world)
    context = _context(browser, live_server, width, locale)
    page = context.new_page()
    sign_in(page, "zhang.wei")
    _speak(page, locale)
    page.click("#open-calls")
    card = page.locator("[data-call='2027-1']")
    assert "2027年度第一批" in card.inner_text() and "先进材料" in card.inner_text()
    card.locator(".apply-call").click()
    # the plan category offers only the call's
    options = page.locator("select[name='plan_category'] option").evaluate_all("os => os.map(o => o.value)")
    assert [o for o in options if o] == ["natural_science"]
    page.select_option("#call_topic", "先进材料")
    page.fill("[name='title']", APPLICATION["title"])
    page.select_option("select[name='plan_category']", "natural_science")
    page.select_option("select[name='discipline']", APPLICATION["discipline"])
    page.fill("[name='budget']", "120")
    page.fill("[name='period_months']", "24")
    page.fill("[name='abstract']", APPLICATION["abstract"])
    page.check("[name='integrity_pledge']")
    page.click("#submit-application")
    page.wait_for_url("**/instances/*")
    context.close()
    project = commands.query(call_world, lambda s: s.query(projects.Project).one())
    assert project.call_key == "2027-1"
    # the recommending unit sees its quota used
    context = _context(browser, live_server, width, locale)
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", "chen.rec")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_load_state()
    _speak(page, locale)
    page.goto("/calls/open")
    quota = page.locator("[data-call='2027-1'] .quota").inner_text()
    assert quota == ("名额 1 / 2" if locale.startswith("zh") else "Quota 1 / 2")
    context.close()


def test_an_application_to_a_closed_call_is_refused_with_the_closing_date(call_world, browser, live_server):
    _open_call(call_world)
    commands.execute(call_world, call_desk.close, STAFF, "2027-1")
    closed = commands.query(call_world, lambda s: calls.closed_text(calls.get(s, "2027-1")))
    context = _context(browser, live_server, 1366, "zh-CN")
    page = context.new_page()
    sign_in(page, "zhang.wei")
    page.goto("/applications/calls/2027-1/new")
    assert closed.split(" · ")[0] in page.locator("#eligibility-reasons").inner_text()
    context.close()
