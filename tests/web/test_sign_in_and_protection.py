"""Sign-in, sign-out, session expiry, CSRF, security headers and the asset route, through the
Flask test client (no browser needed for these rules)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import PASSWORD, csrf_from


def sign_in(client, name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "username": name, "password": password})


def test_pages_send_signed_out_visitors_to_the_sign_in_page_and_back(client, people):
    # when a signed-out visitor opens the inbox
    response = client.get("/inbox?scope=group")
    # then they are sent to sign in, and after signing in come back to where they wanted to go
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    token = csrf_from(client.get(response.headers["Location"]).get_data(as_text=True))
    signed = client.post("/login?next=/inbox?scope%3Dgroup", data={"csrf_token": token, "username": "wang",
                                                                  "password": PASSWORD})
    assert signed.status_code == 302 and signed.headers["Location"] == "/inbox?scope=group"


def test_a_wrong_password_is_refused_and_repeated_guessing_is_braked(client, people):
    # when the password is wrong
    response = sign_in(client, "wang", "wrong")
    # then the page says so and nobody is signed in
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302
    # when it keeps being wrong, even the right password is refused for a while
    from engine.core import clock
    with clock.frozen_at(clock.now()):
        for _ in range(3):
            sign_in(client, "zhou", "wrong")
        assert sign_in(client, "zhou").status_code == 429


def test_sign_in_only_follows_same_site_next_addresses(client, people):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=//evil.example/x", data={"csrf_token": token, "username": "wang",
                                                                "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(client, people, db):
    from .conftest import open_task, start_application
    instance = start_application(db)
    task = open_task(db, instance.id)
    sign_in(client, "wang")
    # when a claim is posted without the token (as a forged cross-site form would)
    response = client.post(f"/tasks/{task.id}/claim")
    # then it is refused with 400 and the task is still unclaimed
    assert response.status_code == 400
    assert open_task(db, instance.id).assignee is None
    # while the same post with the page's token works
    token = csrf_from(client.get(f"/tasks/{task.id}").get_data(as_text=True))
    assert client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token}).status_code == 302
    assert open_task(db, instance.id).assignee == "wang"


def test_the_api_needs_no_csrf_token_because_it_uses_bearer_tokens(client, people):
    response = client.post("/api/v1/auth/token", json={"username": "wang", "password": PASSWORD})
    assert response.status_code == 201


def test_sign_out_ends_the_session(client, people):
    sign_in(client, "wang")
    token = csrf_from(client.get("/inbox").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/inbox").status_code == 302


def test_an_idle_session_expires(client, people, app):
    from engine.core import clock
    # given a signed-in user whose last request was longer ago than the idle limit
    sign_in(client, "wang")
    assert client.get("/inbox").status_code == 200
    later = clock.now() + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=1)
    with clock.frozen_at(later):
        # when they come back, they must sign in again
        response = client.get("/inbox")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert client.get("/inbox").status_code == 302


def test_a_session_older_than_its_lifetime_expires_even_when_active(client, people, app):
    from engine.core import clock
    sign_in(client, "wang")
    start = clock.now()
    # active every half hour, never idle, until just before the absolute limit, then past it
    for half_hours in range(1, int(app.permanent_session_lifetime / timedelta(minutes=30))):
        with clock.frozen_at(start + timedelta(minutes=30 * half_hours)):
            assert client.get("/inbox").status_code == 200
    with clock.frozen_at(start + app.permanent_session_lifetime + timedelta(minutes=1)):
        assert client.get("/inbox").status_code == 302


def test_pages_carry_the_security_headers(client, people):
    sign_in(client, "wang")
    response = client.get("/inbox")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("name", ["htmx.min.js", "bpmn-navigated-viewer.js", "bpmn-js.css"])
def test_published_front_end_files_are_served_from_node_modules(client, name):
    response = client.get(f"/assets/{name}")
    assert response.status_code == 200 and len(response.data) > 1000


@pytest.mark.parametrize("name", ["htmx.org/package.json", "../setup.cfg", "..%2Fsetup.cfg", "bpmn-js/dist/bpmn-modeler.development.js"])
def test_nothing_else_in_node_modules_or_outside_it_is_served(client, name):
    assert client.get(f"/assets/{name}").status_code == 404


def test_unknown_pages_get_a_readable_404_and_api_paths_json(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "未找到" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"
