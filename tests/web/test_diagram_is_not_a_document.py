"""The instance diagram is designer-written XML (it may carry XHTML): it is served as text the
bpmn-js viewer fetches, a sandboxed download, never as an XML document the browser would render
in our origin. The viewer still draws it (see test_pages_in_browser's diagram test)."""
from __future__ import annotations

from playwright.sync_api import expect

from .conftest import start_application, sign_in
from .test_sign_in_and_protection import sign_in as sign_in_client


def _is_a_sandboxed_download(response) -> None:  # type: ignore[no-untyped-def]
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_the_pages_diagram_is_plain_text_sent_as_an_attachment(client, people, db):
    instance = start_application(db)
    sign_in_client(client, "zhang")
    response = client.get(f"/instances/{instance.id}/diagram.bpmn")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    _is_a_sandboxed_download(response)
    assert b"<bpmn:definitions" in response.data or b"<definitions" in response.data


def test_the_apis_diagram_is_an_attachment(client, people, db, api):
    instance = start_application(db)
    boss = api("boss", ["supervisors"])
    response = client.get(f"/api/v1/process-instances/{instance.id}/diagram",
                          headers={"Authorization": f"Bearer {boss.token}"})
    assert response.status_code == 200
    _is_a_sandboxed_download(response)


def test_the_viewer_still_draws_the_diagram_it_fetches(page, people, db):
    instance = start_application(db)
    sign_in(page, "zhang")
    page.goto(f"/instances/{instance.id}")
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")
    expect(page.locator("#diagram .djs-element.marker-current")).not_to_have_count(0)
