"""A walk through the pages as each demo role, the way the brief's "done means" asks: every page
reachable from a role's menu (and one link deeper), in Chinese at 1366 px and at a 390 px phone,
checked for what a reader must never meet: an error page, a page wider than the phone, English
words in Chinese mode, and raw user names or group ids. Run it with
`.venv/bin/python tests/web/walk_pages.py [--shots DIR]`; it prints one line per finding and
exits 1 when there are any (tests/web/test_walk.py runs it in the slow tier)."""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.web.take_screenshots import _serve  # noqa: E402

ROLES = ["li.na", "zhang.wei", "wang.fang", "chen.jing", "zhao.min", "sun.hao", "admin"]
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
# pages that are files, editors of raw formats, or actions
SKIP = re.compile(r"/(logout|static|assets|api|files)/|\.(bpmn|dmn|csv|xlsx|pdf|json)(\?|$)|/designer/drafts/\d+/files/"
                  r"|/export|/download")
ENGLISH_WORD = re.compile(r"\b[A-Za-z][a-z]{3,}\b")
# words a Chinese reader meets in Chinese pages too: product and format names
ALLOWED = {"BPMN", "DMN", "Excel", "Camunda", "SpiffWorkflow", "Prometheus", "OpenID", "Connect", "FEEL",
           "JSON", "Python", "Chrome", "Linux", "Email", "email", "http", "https", "localhost"}
MAX_PAGES = 40


@dataclass(frozen=True)
class Finding:
    role: str
    size: str
    url: str
    problem: str

    def __str__(self) -> str:
        return f"{self.role:10} {self.size:7} {self.url}: {self.problem}"


def _sign_in(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("#username", name)
    page.fill("#password", "demo1234")
    page.click("#login-button")
    page.wait_for_url(lambda url: "/login" not in url)


def _links(page) -> list[str]:  # type: ignore[no-untyped-def]
    hrefs = page.eval_on_selector_all("header a[href], main a[href]", "els => els.map(e => e.getAttribute('href'))")
    found = []
    for href in hrefs:
        if not href or href.startswith(("#", "mailto:", "javascript:")) or "://" in href:
            continue
        path = urlparse(href).path + (("?" + urlparse(href).query) if urlparse(href).query else "")
        if not SKIP.search(path):
            found.append(path)
    return found


def _check(page, role: str, size: str, url: str, raw_names: set[str]) -> list[Finding]:  # type: ignore[no-untyped-def]
    findings = []
    main = page.locator("main")
    if not main.count():
        return [Finding(role, size, url, "no <main>")]
    text = main.inner_text()
    if size == "phone":
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if wide > 1:
            findings.append(Finding(role, size, url, f"{wide}px wider than the phone"))
    if size == "desktop":
        words = sorted({w for w in ENGLISH_WORD.findall(text) if w not in ALLOWED})
        if words:
            findings.append(Finding(role, size, url, "English in Chinese mode: " + ", ".join(words[:12])))
        raw = sorted(n for n in raw_names if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w.])", text))
        if raw:
            findings.append(Finding(role, size, url, "raw names: " + ", ".join(raw[:8])))
    return findings


def walk(base: str, shots: Path | None, roles: list[str]) -> list[Finding]:
    from playwright.sync_api import sync_playwright
    from engine.core.names import GROUPS
    raw_names = set(ROLES) | {g for g in GROUPS if "_" in g or "." in g}
    findings: list[Finding] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for role in roles:
            context = browser.new_context(base_url=base, locale="zh-CN")
            page = context.new_page()
            _sign_in(page, role)
            start = urlparse(page.url).path
            queue, seen = [start] + _links(page), set()
            while queue and len(seen) < MAX_PAGES:
                url = queue.pop(0)
                if url in seen:
                    continue
                seen.add(url)
                for size, (width, height) in SIZES.items():
                    page.set_viewport_size({"width": width, "height": height})
                    response = page.goto(url)
                    status = response.status if response else 0
                    if status >= 400 and status not in (403, 404):
                        findings.append(Finding(role, size, url, f"HTTP {status}"))
                        break
                    findings += _check(page, role, size, url, raw_names)
                    if shots is not None:
                        name = re.sub(r"[^\w]+", "_", url).strip("_") or "home"
                        page.screenshot(path=str(shots / f"{role}-{size}-{name}.png"), full_page=False)
                    if size == "desktop" and url.count("/") <= 3:
                        queue += [u for u in _links(page) if u not in seen]
            context.close()
        browser.close()
    return findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=Path, help="also write a screenshot of every page here")
    parser.add_argument("--roles", nargs="*", default=ROLES, help="the demo users to walk as")
    parser.add_argument("--base", help="walk a server already running the demo (else one is started)")
    args = parser.parse_args()
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    if args.base:
        findings = walk(args.base, args.shots, args.roles)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            server, base = _serve(Path(tmp))
            try:
                findings = walk(base, args.shots, args.roles)
            finally:
                server.shutdown()
    for finding in findings:
        print(finding)
    print(f"{len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
