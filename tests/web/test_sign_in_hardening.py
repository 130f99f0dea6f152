"""Sign-in that holds (issue 13, items 6-8), as the attacker and the users who found the holes:
`next` leads only to a path on this site; the session cookie is HttpOnly, SameSite=Lax, Secure
over HTTPS and lives no longer than the absolute limit, and the server-side session ends for real
(limits, sign-out, password change, deactivation); password guessing is slowed per name and
address and per address, shared by every server process, without locking the real user out; and
new passwords meet the policy in the CLI and on the password page."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from engine.core import clock, commands, sign_in, users, web_sessions

from .conftest import PASSWORD, csrf_from

ATTACKER, VICTIM_OFFICE = "203.0.113.7", "198.51.100.20"
NEW_PASSWORD = "Harbour-Lantern-Sky-42"


def _post_login(client: Any, name: str, password: str, address: str = "127.0.0.1",
                query: str = "") -> Any:
    token = csrf_from(client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True))
    return client.post("/login" + query, data={"csrf_token": token, "username": name, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _token(client: Any, name: str, password: str, address: str = "127.0.0.1") -> Any:
    return client.post("/api/v1/auth/token", json={"username": name, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _session_cookie(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _set_cookie_header(response: Any) -> str:
    return next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))


# --- item 6: open redirect -------------------------------------------------------------------

ELSEWHERE = ["/%09/evil.example", "//evil.example", "/%5Cevil.example", "/%5C/evil.example",
             "https://evil.example", "/%0a/evil.example", "/inbox%0d%0aSet-Cookie:%20x=1",
             "javascript:alert(1)", "%20//evil.example", "/%7F/evil.example"]


@pytest.mark.parametrize("raw_next", ELSEWHERE)
def test_sign_in_never_sends_the_browser_off_the_site(client, people, raw_next):
    # when someone signs in through a link whose next leads elsewhere (or carries a newline)
    response = _post_login(client, "wang", PASSWORD, query=f"?next={raw_next}")
    # then they land on the home page, and nothing is a server error
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/\t/evil.example", "//evil.example", "/\\evil.example",
                                    "https://evil.example", "/\n/evil.example", "/x\r\nSet-Cookie: x=1"])
def test_the_language_switch_never_sends_the_browser_off_the_site(client, target):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/language", data={"csrf_token": token, "lang": "en", "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/inbox?scope=group", "/tasks/3#form", "/项目/申请"])
def test_local_paths_are_still_followed(client, people, target):
    from urllib.parse import quote
    response = _post_login(client, "wang", PASSWORD, query="?next=" + quote(target, safe=""))
    assert response.status_code == 302
    assert response.headers["Location"] in (target, quote(target, safe="/?=#"))


# --- item 7: the session cookie and the server-side session -----------------------------------

def test_the_session_cookie_is_http_only_same_site_lax_and_lives_as_long_as_the_absolute_limit(client, people, app):
    response = _post_login(client, "wang", PASSWORD)
    header = _set_cookie_header(response)
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # plain HTTP in this test: a Secure cookie would never come back
    expires = parsedate_to_datetime(header.split("Expires=")[1].split(";")[0])
    lifetime = expires - datetime.now(timezone.utc)
    assert timedelta(hours=9, minutes=55) < lifetime <= timedelta(hours=10)
    assert app.permanent_session_lifetime == timedelta(hours=10)


def test_the_cookie_keeps_the_expiry_of_its_sign_in_however_often_it_is_sent_again(client, people):
    import time
    _post_login(client, "wang", PASSWORD)
    with client.session_transaction() as session:  # as if signed in four hours ago
        session["began"] = int(time.time()) - 4 * 3600
    header = _set_cookie_header(client.get("/inbox"))
    lifetime = parsedate_to_datetime(header.split("Expires=")[1].split(";")[0]) - datetime.now(timezone.utc)
    assert timedelta(hours=5, minutes=55) < lifetime <= timedelta(hours=6)


def test_the_session_cookie_is_secure_when_served_over_https(client, people):
    token = csrf_from(client.get("/login", base_url="https://localhost").get_data(as_text=True))
    # (over HTTPS, Flask-WTF also wants the same-site Referer a browser sends)
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"csrf_token": token, "username": "wang", "password": PASSWORD})
    assert response.status_code == 302 and "; Secure" in _set_cookie_header(response)


def test_session_cookie_secure_forces_the_flag_on_plain_http_too(client, people, app, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    assert "; Secure" in _set_cookie_header(_post_login(client, "wang", PASSWORD))


def test_behind_a_trusted_proxy_the_forwarded_scheme_and_address_count(database_url, people):
    from web import create_app
    proxied = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret",
                          "PROXY_FIX": 1})
    client = proxied.test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": ATTACKER, "Referer": "https://localhost/login"}
    token = csrf_from(client.get("/login", headers=forwarded).get_data(as_text=True))
    with clock.frozen_at(clock.now()):
        for _ in range(sign_in.PER_NAME_AND_ADDRESS.free):
            client.post("/login", headers=forwarded, data={"csrf_token": token, "username": "wang", "password": "x"})
        # the failures were keyed by the forwarded address, not the proxy's own
        assert _post_login(proxied.test_client(), "wang", PASSWORD).status_code == 302
        refused = client.post("/login", headers=forwarded,
                              data={"csrf_token": token, "username": "wang", "password": PASSWORD})
    assert refused.status_code == 429
    signed = client.post("/login", headers={**forwarded, "X-Forwarded-For": VICTIM_OFFICE},
                         data={"csrf_token": token, "username": "wang", "password": PASSWORD})
    assert "; Secure" in _set_cookie_header(signed)
    proxied.extensions["engine_db"].engine.dispose()


def test_a_session_signed_in_30_days_ago_is_refused(client, people, db):
    # given a session whose record says it began 30 days ago (and was used a minute ago)
    _post_login(client, "wang", PASSWORD)
    assert client.get("/inbox").status_code == 200
    commands.execute(db, lambda s: s.execute(update(web_sessions.WebSession).values(
        created_at=clock.now() - timedelta(days=30), last_seen_at=clock.now() - timedelta(minutes=1))))
    # when its cookie comes back, the user must sign in again
    response = client.get("/inbox")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_a_session_idle_past_the_limit_is_refused_though_the_cookie_is_fresh(client, people, app):
    _post_login(client, "wang", PASSWORD)
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    with clock.frozen_at(clock.now() + idle - timedelta(minutes=1)):
        assert client.get("/inbox").status_code == 200  # still within: and this use counts
    with clock.frozen_at(clock.now() + 2 * idle - timedelta(minutes=3)):
        assert client.get("/inbox").status_code == 200
    with clock.frozen_at(clock.now() + 3 * idle):
        assert client.get("/inbox").status_code == 302


def test_background_polls_do_not_keep_a_session_alive(client, people, app):
    _post_login(client, "wang", PASSWORD)
    start, idle = clock.now(), timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    with clock.frozen_at(start + idle / 2):
        assert client.get("/inbox", headers={"X-Poll": "1"}).status_code == 200
    with clock.frozen_at(start + idle + timedelta(minutes=1)):
        assert client.get("/inbox").status_code == 302


def test_a_copied_cookie_is_worthless_after_sign_out(app, people):
    # given a signed-in user whose cookie an attacker copied
    user = app.test_client()
    _post_login(user, "wang", PASSWORD)
    stolen = _session_cookie(user)
    # when the user signs out
    token = csrf_from(user.get("/inbox").get_data(as_text=True))
    assert user.post("/logout", data={"csrf_token": token}).status_code == 302
    # then the copied cookie signs nobody in
    attacker = app.test_client()
    attacker.set_cookie("session", stolen)
    response = attacker.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_changing_the_password_ends_every_other_session_and_token(app, people, client):
    # given the same user signed in twice (say, home and office) and holding an API token
    other = app.test_client()
    _post_login(other, "wang", PASSWORD)
    _post_login(client, "wang", PASSWORD)
    api_token = _token(app.test_client(), "wang", PASSWORD).get_json()["token"]
    # when they change their password in one of them
    token = csrf_from(client.get("/account/password").get_data(as_text=True))
    changed = client.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                     "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    assert changed.status_code == 302
    # then that one goes on with a fresh session, the other one and the token are over
    assert client.get("/inbox").status_code == 200
    assert other.get("/inbox").status_code == 302
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {api_token}"}).status_code == 401
    # and only the new password signs in
    assert _post_login(app.test_client(), "wang", PASSWORD).status_code == 401
    assert _post_login(app.test_client(), "wang", NEW_PASSWORD).status_code == 302


def test_a_deactivated_user_is_signed_out_at_once(client, people, db, runner):
    _post_login(client, "wang", PASSWORD)
    assert client.get("/inbox").status_code == 200
    result = runner.invoke(args=["users", "deactivate", "wang"])
    assert result.exit_code == 0, result.output
    assert client.get("/inbox").status_code == 302
    assert _post_login(client, "wang", PASSWORD).status_code == 401


# --- item 8: the throttle ---------------------------------------------------------------------

def test_guessing_a_password_is_slowed_down_but_the_real_user_signs_in_from_elsewhere(client, people, app):
    free = sign_in.PER_NAME_AND_ADDRESS.free
    with clock.frozen_at(clock.now()) as start:
        # given an attacker who guessed wrong a few times for zhou
        for _ in range(free):
            assert _post_login(client, "zhou", "guess", ATTACKER).status_code == 401
        # then they must wait, even with the right password, and are told so in a 429
        refused = _post_login(client, "zhou", PASSWORD, ATTACKER)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        assert "登录失败次数过多" in refused.get_data(as_text=True)
        # while zhou, from the office, signs in as usual
        assert _post_login(app.test_client(), "zhou", PASSWORD, VICTIM_OFFICE).status_code == 302
    # and every further failure doubles the wait
    waits, moment = [], start
    for _ in range(4):
        moment += timedelta(seconds=int(waits[-1]) if waits else 1)
        with clock.frozen_at(moment):
            assert _post_login(client, "zhou", "guess", ATTACKER).status_code == 401
            waits.append(_post_login(client, "zhou", "guess", ATTACKER).headers["Retry-After"])
    assert waits == ["2", "4", "8", "16"]


def test_the_wait_is_told_in_english_too(client, people):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/login"})
    with clock.frozen_at(clock.now()):
        for _ in range(sign_in.PER_NAME_AND_ADDRESS.free):
            _post_login(client, "zhou", "guess")
        page = _post_login(client, "zhou", "guess").get_data(as_text=True)
    assert "Too many failed sign-ins. Wait 1 seconds, then try again." in page


def test_one_address_trying_many_names_runs_out_of_its_budget(client, people, app):
    budget = sign_in.PER_ADDRESS.free
    with clock.frozen_at(clock.now()):
        # given an attacker spraying one password over many names, each tried once or twice
        for n in range(budget):
            assert _post_login(client, f"user{n}", "Summer2024!", ATTACKER).status_code == 401
        # then the address must wait, for any name
        assert _post_login(client, "zhou", PASSWORD, ATTACKER).status_code == 429
        # others are not affected
        assert _post_login(app.test_client(), "zhou", PASSWORD, VICTIM_OFFICE).status_code == 302


def test_the_api_token_endpoint_is_throttled_alike_and_answers_json(client, people, app):
    with clock.frozen_at(clock.now()):
        for _ in range(sign_in.PER_NAME_AND_ADDRESS.free):
            assert _token(client, "zhou", "guess", ATTACKER).status_code == 401
        refused = _token(client, "zhou", PASSWORD, ATTACKER)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        assert refused.get_json()["error"]["code"] == "too_many_requests"
        assert "token" not in refused.get_json()
        # the web sign-in from that address waits too: one count for both doors
        assert _post_login(client, "zhou", PASSWORD, ATTACKER).status_code == 429
        # the real user from elsewhere gets a token
        assert _token(app.test_client(), "zhou", PASSWORD, VICTIM_OFFICE).status_code == 201


def test_failures_are_shared_by_every_server_process(database_url, people, client):
    # given failures recorded through one app instance (one gunicorn worker)
    from web import create_app
    with clock.frozen_at(clock.now()):
        for _ in range(sign_in.PER_NAME_AND_ADDRESS.free):
            _token(client, "zhou", "guess", ATTACKER)
        # then another instance on the same database refuses too
        second = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret"})
        assert _token(second.test_client(), "zhou", PASSWORD, ATTACKER).status_code == 429
    second.extensions["engine_db"].engine.dispose()


def test_a_successful_sign_in_forgets_the_earlier_failures_of_that_name_and_address(client, people):
    with clock.frozen_at(clock.now()):
        for _ in range(sign_in.PER_NAME_AND_ADDRESS.free - 1):
            _post_login(client, "zhou", "typo")
        assert _post_login(client, "zhou", PASSWORD).status_code == 302
    with clock.frozen_at(clock.now()):
        token = csrf_from(client.get("/inbox").get_data(as_text=True))
        client.post("/logout", data={"csrf_token": token})
        for _ in range(sign_in.PER_NAME_AND_ADDRESS.free - 1):
            assert _post_login(client, "zhou", "typo").status_code == 401


def test_unknown_and_known_names_cost_the_same_password_hash(db, people, monkeypatch):
    # given a count of password-hash checks
    from werkzeug.security import check_password_hash
    checks: list[str] = []

    def counting(pwhash: str, password: str) -> bool:
        checks.append(pwhash.split(":")[0])
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(sign_in, "check_password_hash", counting)
    commands.execute(db, users.deactivate, "chen")
    # when a known name, an unknown name and a deactivated name are tried with a wrong password
    for name in ("zhou", "nobody-by-this-name", "chen"):
        attempt = commands.execute(db, sign_in.attempt, name, "guess", "192.0.2.1")
        assert attempt.user is None and attempt.retry_after == 0
    # then each checked one hash, of the same method, and each failure was recorded alike
    assert len(checks) == 3 and len(set(checks)) == 1
    recorded = commands.query(db, lambda s: sorted(s.scalars(select(sign_in.SignInFailure.username))))
    assert recorded == ["chen", "nobody-by-this-name", "zhou"]


# --- the password policy ----------------------------------------------------------------------

@pytest.mark.parametrize("password, problem", [
    ("short-pw", "Use at least 10 characters."),
    ("qwertyuiop", "This password is too common"),
    ("Password123", "This password is too common"),
    ("sunlei-2026-spring", "must not contain the user name"),
])
def test_users_create_refuses_a_weak_password(runner, db, password, problem):
    result = runner.invoke(args=["users", "create", "sunlei", "--password", password])
    assert result.exit_code == 1 and problem in result.output
    assert commands.query(db, users.find, "sunlei") is None


def test_users_create_accepts_a_good_password(runner, db):
    result = runner.invoke(args=["users", "create", "sunlei", "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output


def test_the_engine_applies_the_policy_unless_a_fixture_says_otherwise(db):
    from engine.core.errors import InvalidData
    with pytest.raises(InvalidData) as error:
        commands.execute(db, users.create_user, "qian", PASSWORD, [])
    assert "password" in error.value.fields
    commands.execute(db, users.create_user, "qian", PASSWORD, [], password_policy=False)
    user = commands.query(db, users.find, "qian")
    with pytest.raises(InvalidData):
        commands.execute(db, users.set_password, user, "qian-password-1")


def _change(client: Any, current: str, new: str, repeat: str | None = None, csrf: bool = True) -> Any:
    data = {"current_password": current, "new_password": new,
            "repeat_password": new if repeat is None else repeat}
    if csrf:
        data["csrf_token"] = csrf_from(client.get("/account/password").get_data(as_text=True))
    return client.post("/account/password", data=data)


def test_the_password_page_is_linked_from_the_header(client, people):
    _post_login(client, "wang", PASSWORD)
    assert 'href="/account/password"' in client.get("/inbox").get_data(as_text=True)
    page = client.get("/account/password").get_data(as_text=True)
    assert "修改密码" in page and 'name="current_password"' in page


@pytest.mark.parametrize("current, new, repeat, field_text", [
    ("not-my-password", NEW_PASSWORD, None, "当前密码不正确"),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "两次输入的新密码不一致"),
    (PASSWORD, "short-pw", None, "请至少使用 10 个字符"),
    (PASSWORD, "1234567890", None, "该密码过于常见"),
    (PASSWORD, "wang-is-my-name", None, "密码不能包含用户名"),
    (PASSWORD, "", None, "此项为必填项"),
])
def test_the_password_page_refuses_what_breaks_the_rules_and_changes_nothing(
        client, people, current, new, repeat, field_text):
    _post_login(client, "wang", PASSWORD)
    response = _change(client, current, new, repeat)
    assert response.status_code == 422 and field_text in response.get_data(as_text=True)
    assert client.get("/inbox").status_code == 200
    assert _post_login(client.application.test_client(), "wang", PASSWORD).status_code == 302


def test_the_password_page_speaks_english_too(client, people):
    _post_login(client, "wang", PASSWORD)
    token = csrf_from(client.get("/inbox").get_data(as_text=True))
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/account/password"})
    page = _change(client, PASSWORD, "short-pw").get_data(as_text=True)
    assert "Use at least 10 characters." in page and "Change password" in page


def test_the_password_page_needs_its_csrf_token(client, people):
    _post_login(client, "wang", PASSWORD)
    assert _change(client, PASSWORD, NEW_PASSWORD, csrf=False).status_code == 400
    assert _post_login(client.application.test_client(), "wang", PASSWORD).status_code == 302
