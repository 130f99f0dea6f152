"""Fixtures for the web UI tests: the real app served by werkzeug in a thread on a free port
(against the session's test database), Debian's chromium driven by Playwright (never a
downloaded browser), the real processes/ and forms/ deployed, people in each role, and helpers
to sign in and to start applications through the engine."""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "pw-secret"
HERE = Path(__file__).resolve().parent
FORMAL_REVIEW_FORMS = ("application_submit", "application_correction", "formal_review")
PEOPLE = {
    "zhang": ["applicants"], "li": ["applicants"],
    "wang": ["institution_staff"], "chen": ["institution_staff"], "ma": ["institution_staff"],
    "liu": ["experts"], "zhou": ["experts"],
    "zhao": ["supervisors"],
}
APPLICATION = {"title": "高熵合金增材制造工艺研究", "plan_category": "key_rd", "discipline": "materials",
               "organisation": "杭州先进材料研究院", "principal_investigator": "张伟", "budget": 120.5,
               "period_months": 36, "integrity_pledge": True,
               "abstract": "研究高熵合金激光增材制造的组织调控与性能优化，形成可推广的工艺规范。"}


@pytest.fixture(scope="session")
def web_app(app, tmp_path_factory):  # type: ignore[no-untyped-def]
    app.config.update(ATTACHMENT_DIR=str(tmp_path_factory.mktemp("attachments")), INBOX_POLL_SECONDS=1)
    return app


@pytest.fixture(scope="session")
def live_server(web_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, web_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make install` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server, locale="zh-CN",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def new_page(browser, live_server):  # type: ignore[no-untyped-def]
    """A second, independent browser (another person at another desk)."""
    contexts = []

    def _open() -> Any:
        context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def deployed(db):  # type: ignore[no-untyped-def]
    """The real formal-review process with its forms, plus the expert-scoring fixture."""
    from engine.core import commands
    from engine.definitions import deployment
    from engine.definitions.validation import collect_paths
    files = collect_paths([str(ROOT / "processes" / "application_formal_review.bpmn")]
                          + [str(ROOT / "forms" / f"{name}.form") for name in FORMAL_REVIEW_FORMS]
                          + [str(HERE / "fixtures")])
    return commands.execute(db, deployment.deploy, files, "test")


@pytest.fixture(scope="session")
def password_hash() -> str:
    from werkzeug.security import generate_password_hash
    return generate_password_hash(PASSWORD)


@pytest.fixture
def people(db, deployed, password_hash, monkeypatch):  # type: ignore[no-untyped-def]
    """Everyone signs in with PASSWORD; its (real, salted) hash is computed once per session,
    since scrypt takes 0.4 s and every test needs seven people."""
    from engine.core import commands, users
    monkeypatch.setattr(users, "generate_password_hash", lambda password: password_hash)
    for name, groups in PEOPLE.items():
        commands.execute(db, users.create_user, name, PASSWORD, groups, None, None, name.title(),
                         password_policy=False)
    monkeypatch.undo()
    return PEOPLE


def actor(name: str) -> Any:
    from engine.core.principals import Actor
    return Actor(name, frozenset(PEOPLE[name]))


def start_application(db: Any, applicant: str = "zhang", **changes: Any) -> Any:
    from engine.core import commands
    from engine.runtime import instances
    return commands.execute(db, instances.start, actor(applicant), "application_formal_review",
                            {**APPLICATION, **changes})


def open_task(db: Any, instance_id: int) -> Any:
    from engine.core import commands
    from engine.runtime import tasks
    return commands.query(db, tasks.open_tasks, instance_id)[0]


def sign_in(page: Any, name: str, password: str = PASSWORD) -> None:
    page.goto("about:blank")  # stops the previous page's polling, which may navigate under the form
    page.goto("/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#login-button")
    page.wait_for_url(lambda url: "/login" not in url)  # each role lands on its own start page


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


# the two sizes every page is walked at: a desktop and a phone
DESKTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def sized_page(request, browser, live_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A page in Chinese at each of the two sizes (the test runs once per size)."""
    context = browser.new_context(base_url=live_server, locale="zh-CN", viewport=request.param)
    context.set_default_timeout(30_000)  # a loaded CI machine stalls a page now and then
    yield context.new_page()
    context.close()


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

