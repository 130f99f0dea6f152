"""Screenshots of the main pages for the README (`make screenshots`): a throw-away SQLite
database with the demo data, the real app on a free port, Debian's chromium through
Playwright. Writes docs/screenshots/*.png."""
from __future__ import annotations

import re
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
sys.path.insert(0, str(ROOT))

from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def _serve(folder: Path):  # type: ignore[no-untyped-def]
    import flask_migrate
    from werkzeug.serving import make_server

    from engine.core import commands
    from engine.demo import demo_data
    from engine.definitions import deployment
    from engine.definitions.validation import collect_paths
    from web import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'shots.sqlite3'}", "SECRET_KEY": "screenshots",
                      "ATTACHMENT_DIR": str(folder / "attachments")})
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
    db = app.extensions["engine_db"]
    commands.execute(db, deployment.deploy, collect_paths([str(ROOT / "processes"), str(ROOT / "forms")]), "demo")
    demo_data.load(db)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def _sign_in(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("#username", name)
    page.fill("#password", "demo1234")
    page.click("#login-button")
    page.wait_for_url(re.compile(r"/(inbox|applications)"))


def main() -> None:
    from playwright.sync_api import sync_playwright
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server, base = _serve(Path(tmp))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto("/login")
            page.screenshot(path=str(OUT / "login.png"))
            _sign_in(page, "wang.fang")
            page.goto("/inbox?scope=group")
            page.screenshot(path=str(OUT / "inbox.png"), full_page=True)
            row = page.locator("#task-list tbody tr", has_text="形式审查").first
            row.locator("button:has-text('认领')").click()
            page.wait_for_selector("#task-form")
            page.locator("#task-form textarea").first.fill("材料齐全，但缺少伦理审查批件。")
            page.click("#complete-button")
            page.wait_for_selector(".error-summary")
            page.screenshot(path=str(OUT / "task-form-errors.png"), full_page=True)
            instance_link = page.locator("a[href^='/instances/']").first.get_attribute("href")
            page.goto(instance_link)
            page.wait_for_selector("#diagram[data-ready=true]")
            page.screenshot(path=str(OUT / "instance.png"), full_page=True)
            page.goto("/inbox?scope=completed")  # a completed task shows what was submitted, read-only
            done = page.locator("a[href^='/tasks/']")
            if done.count():
                done.first.click()
                page.wait_for_selector("#submitted-values")
                page.screenshot(path=str(OUT / "task-completed.png"), full_page=True)
            page.click(".lang-switch button[value=en]")
            page.goto("/inbox")
            page.screenshot(path=str(OUT / "inbox-en.png"), full_page=True)
            context.close()

            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
            page = context.new_page()
            _sign_in(page, "li.na")
            page.screenshot(path=str(OUT / "my-applications.png"), full_page=True)
            page.goto("/applications/new/project_lifecycle")
            page.screenshot(path=str(OUT / "new-application.png"), full_page=True)
            # an organisation not in the register: the applicant asks, the institution is notified
            page.click("#registration-request summary")
            page.fill("#reg-name", "杭州量子信息技术研究所")
            page.fill("#reg-note", "新成立的研究所，已取得事业单位法人证书。")
            page.click("#send-registration-request")
            page.wait_for_load_state()
            context.close()

            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
            page = context.new_page()
            _sign_in(page, "zhang.wei")  # already leads two running projects: told why before any form
            page.goto("/applications/new/project_lifecycle")
            page.wait_for_selector("#not-eligible")
            page.screenshot(path=str(OUT / "new-application-not-eligible.png"), full_page=True)
            context.close()

            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
            page = context.new_page()
            _sign_in(page, "chen.jing")  # the bell counts the registration request
            page.goto("/notifications")
            page.screenshot(path=str(OUT / "notifications.png"), full_page=True)
            context.close()

            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto("/login")
            page.fill("#username", "zhao.min")
            page.fill("#password", "demo1234")
            page.click("#login-button")
            page.wait_for_load_state()
            page.goto("/supervisor/attention")
            page.screenshot(path=str(OUT / "supervisor-attention.png"), full_page=True)
            page.goto("/supervisor/dashboard?weeks=52")
            page.wait_for_timeout(1000)  # chart.js animates in
            page.screenshot(path=str(OUT / "supervisor-dashboard.png"), full_page=True)
            page.goto("/supervisor/heatmap?process=project_lifecycle&weeks=52")
            page.wait_for_selector("[data-ready=true]")
            page.screenshot(path=str(OUT / "supervisor-heatmap.png"), full_page=True)
            context.close()

            context = browser.new_context(base_url=base, viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.goto("/login")
            page.fill("#username", "sun.hao")
            page.fill("#password", "demo1234")
            page.click("#login-button")
            page.wait_for_url(re.compile(r"/designer"))
            page.screenshot(path=str(OUT / "designer.png"), full_page=True)
            page.locator("#catalogue tr[data-process='establishment_review'] button[data-action=edit]").first.click()
            page.locator("#draft-files a", has_text="establishment_review.bpmn").first.click()
            page.wait_for_selector("#modeler[data-ready=true]")
            page.click("#check-button")
            page.wait_for_selector("#findings-summary:not([hidden])")
            page.evaluate("""() => {  // show a user task's Camunda properties (assignment, form, due date)
                const m = window.designerModeler;
                const task = m.get('elementRegistry').filter(e => e.type === 'bpmn:UserTask')[0];
                m.get('selection').select(task);
            }""")
            page.screenshot(path=str(OUT / "designer-modeler.png"), full_page=True)
            page.go_back()
            page.wait_for_selector("#draft-files")
            dmn = page.locator("#draft-files a", has_text=".dmn")
            if dmn.count():
                dmn.first.click()
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(500)
                page.screenshot(path=str(OUT / "designer-dmn.png"), full_page=True)
            context.close()

            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto("/login")
            page.fill("#username", "admin")
            page.fill("#password", "demo1234")
            page.click("#login-button")
            page.wait_for_load_state()
            page.goto("/admin/")
            page.screenshot(path=str(OUT / "admin-users.png"), full_page=True)
            context.close()

            tablet = browser.new_context(base_url=base, viewport={"width": 820, "height": 1180})
            page = tablet.new_page()
            _sign_in(page, "chen.jing")
            page.goto("/inbox?scope=group")
            page.screenshot(path=str(OUT / "inbox-tablet.png"))
            tablet.close()

            phone = browser.new_context(base_url=base, viewport={"width": 390, "height": 844}, is_mobile=True,
                                        has_touch=True)
            page = phone.new_page()
            _sign_in(page, "chen.jing")
            page.goto("/inbox?scope=group")
            page.screenshot(path=str(OUT / "inbox-phone.png"), full_page=True)
            page.locator("#task-list tbody tr a[href^='/tasks/']").first.click()
            page.wait_for_selector("#form-title", state="attached")
            page.screenshot(path=str(OUT / "task-phone.png"), full_page=True)
            page.click(".menu-toggle")
            page.screenshot(path=str(OUT / "menu-phone.png"))
            phone.close()
            browser.close()
        server.shutdown()
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
