"""Single sign-on the way a government office has it (issue 19): people sign in at the
government's OpenID Connect provider and come back signed in here, their account made or brought
up to date from the provider's claims and their groups mapped from its groups claim by
OIDC_GROUP_MAP. The provider is real (Authlib's authorization server, tests/web/oidc_provider.py)
on its own port; our app is served the same way, and people come through HTTP clients that follow
redirects, once through the browser. A forged state and a code minted for another sign-in (the
nonce) are refused; a deactivated user is refused; a local account is not taken over."""
from __future__ import annotations

import json
import re
import threading
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from engine.core import commands, sso, users
from engine.core.models import AuditEvent, User

from .oidc_provider import CLIENT_ID, CLIENT_SECRET, Person, Provider

GROUP_MAP = {"sci-staff": "institution_staff", "sci-experts": "experts", "bureau-supervisors": "supervisors"}
IDP_PASSWORD = "idp-password"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    started = Provider().start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def sso_site(db, database_url, provider) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Our app, configured for the provider as an operator would, served on a free port."""
    from werkzeug.serving import make_server

    from web import create_app
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "sso-test-secret",
                      "ENGINE_DATABASE": db, "OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": CLIENT_ID,
                      "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_GROUP_MAP": json.dumps(GROUP_MAP),
                      "OIDC_ORG_CLAIM": "organisation"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    site = f"http://127.0.0.1:{server.server_port}"
    provider.register_redirect_uri(site + "/login/sso/callback")
    thread = threading.Thread(target=server.serve_forever, name="sso-site", daemon=True)
    thread.start()
    yield site
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def wang(provider) -> Person:  # type: ignore[no-untyped-def]
    return provider.add(Person(sub="gov-000417", username="wang.fang", password=IDP_PASSWORD, name="王芳",
                               email="wang.fang@kjj.gov.example", groups=["sci-staff", "canteen-committee"],
                               org="市科学技术局"))


def _at_provider(site: str, browser: requests.Session, next_path: str = "/inbox") -> requests.Response:
    """Follows our sign-in button to the provider's sign-in form."""
    form = browser.get(f"{site}/login/sso?" + urlencode({"next": next_path}))
    assert form.status_code == 200 and 'id="idp-username"' in form.text, form.text[:300]
    return form


def _sign_in_at_provider(form: requests.Response, browser: requests.Session, username: str,
                         follow: bool = True) -> requests.Response:
    return browser.post(form.url, data={"username": username, "password": IDP_PASSWORD},
                        allow_redirects=follow)


def _sso_sign_in(site: str, username: str) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    landed = _sign_in_at_provider(_at_provider(site, browser), browser, username)
    return browser, landed


def _user(db: Any, username: str) -> User | None:
    return commands.query(db, lambda s: s.scalar(select(User).where(User.username == username)))


def _audit(db: Any, action: str) -> list[dict[str, Any]]:
    return commands.query(db, lambda s: [e.details for e in s.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))])


def _signed_in(site: str, browser: requests.Session) -> bool:
    answer = browser.get(site + "/inbox", allow_redirects=False)
    return answer.status_code == 200


def test_a_user_signs_in_at_the_provider_and_comes_back_signed_in_with_the_mapped_groups(db, sso_site, wang):
    # when Wang Fang signs in at the government's provider from our sign-in button
    browser, landed = _sso_sign_in(sso_site, "wang.fang")
    # then she is back where she was going, signed in, under her display name
    assert landed.status_code == 200 and urlsplit(landed.url).path == "/inbox"
    assert "王芳" in landed.text and _signed_in(sso_site, browser)
    # and her account here holds the provider's profile (the organisation from userinfo) and
    # only the mapped group: the provider's canteen committee means nothing here
    user = _user(db, "wang.fang")
    assert user is not None
    assert (user.display_name, user.email, user.org) == ("王芳", "wang.fang@kjj.gov.example", "市科学技术局")
    assert user.group_names == {"institution_staff"}
    # and she has no password here that anyone could guess
    assert user.password_hash == sso.NO_PASSWORD
    assert _audit(db, "sso_groups_changed") == [{"username": "wang.fang", "added": ["institution_staff"],
                                                 "removed": []}]


def test_a_second_sign_in_brings_the_groups_up_to_date_and_keeps_groups_set_here(db, sso_site, wang):
    # given Wang Fang signed in once, and an administrator here made her a designer as well
    _sso_sign_in(sso_site, "wang.fang")

    def _make_designer(session: Any) -> None:
        found = users.find(session, "wang.fang")
        found.groups = [*found.groups, users.ensure_group(session, "designers")]
    commands.execute(db, _make_designer)
    # when the provider moves her from the staff to the experts and she signs in again
    wang.groups, wang.name = ["sci-experts"], "王芳（专家）"
    browser, landed = _sso_sign_in(sso_site, "wang.fang")
    # then the mapped groups follow the provider, the group set here stays, and it is audited
    assert _signed_in(sso_site, browser)
    user = _user(db, "wang.fang")
    assert user.group_names == {"experts", "designers"} and user.display_name == "王芳（专家）"
    assert _audit(db, "sso_groups_changed")[-1] == {"username": "wang.fang", "added": ["experts"],
                                                    "removed": ["institution_staff"]}
    assert len(commands.query(db, lambda s: s.scalars(select(sso.SsoIdentity)).all())) == 1


def test_a_forged_state_is_refused(db, sso_site, wang):
    # given someone has signed in at the provider, on the way back
    browser = requests.Session()
    back = _sign_in_at_provider(_at_provider(sso_site, browser), browser, "wang.fang", follow=False)
    callback = urlsplit(back.headers["Location"])
    query = parse_qs(callback.query)
    # when the answer comes back with a state this browser never sent
    forged = browser.get(f"{sso_site}{callback.path}?" + urlencode({"code": query["code"][0], "state": "forged"}))
    # then it is refused with a message, nobody is signed in and no account is made
    assert forged.status_code == 401
    assert "统一身份认证登录未成功" in forged.text or "did not succeed" in forged.text
    assert not _signed_in(sso_site, browser) and _user(db, "wang.fang") is None


def test_a_code_minted_for_another_sign_in_is_refused(db, sso_site, wang, provider):
    # given the attacker signed in at the provider as themselves and kept the code it sent back
    provider.add(Person(sub="gov-666", username="mallory", password=IDP_PASSWORD, name="Mallory",
                        email="m@example.org", groups=["bureau-supervisors"]))
    attacker = requests.Session()
    back = _sign_in_at_provider(_at_provider(sso_site, attacker), attacker, "mallory", follow=False)
    stolen_code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    # and the victim's browser has begun its own sign-in (its state and nonce are in its session)
    victim = requests.Session()
    form = _at_provider(sso_site, victim)
    asked = parse_qs(urlsplit(form.url).query)
    state = asked["state"][0]
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"]
    # when the attacker's code is slipped into the victim's callback, even with the right state
    answer = victim.get(f"{sso_site}/login/sso/callback?" + urlencode({"code": stolen_code, "state": state}))
    # then the code's PKCE challenge is not the victim's: refused, nobody signed in, nothing made
    assert answer.status_code == 401
    assert not _signed_in(sso_site, victim) and _user(db, "mallory") is None


def test_without_pkce_the_nonce_still_refuses_a_code_minted_for_another_sign_in(db, database_url, provider, wang):
    """For providers that balk at PKCE (OIDC_PKCE=0), the ID token's nonce is the safeguard."""
    from web import create_app
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "sso-test-secret",
                      "ENGINE_DATABASE": db, "OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": CLIENT_ID,
                      "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_GROUP_MAP": json.dumps(GROUP_MAP),
                      "OIDC_PKCE": "0"})
    provider.register_redirect_uri("http://localhost/login/sso/callback")
    provider.add(Person(sub="gov-667", username="mallory", password=IDP_PASSWORD, name="Mallory",
                        email="m@example.org", groups=["bureau-supervisors"]))
    # given the attacker's own sign-in at the provider, whose code they keep
    attacker, victim = app.test_client(), app.test_client()
    authorize = attacker.get("/login/sso").headers["Location"]
    assert "code_challenge" not in authorize
    back = requests.post(authorize, data={"username": "mallory", "password": IDP_PASSWORD}, allow_redirects=False)
    stolen_code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    # and the victim's browser begun its own sign-in
    state = parse_qs(urlsplit(victim.get("/login/sso").headers["Location"]).query)["state"][0]
    # when the attacker's code comes back to the victim with the victim's state
    answer = victim.get("/login/sso/callback?" + urlencode({"code": stolen_code, "state": state}))
    # then the ID token carries the attacker's nonce, not the victim's: refused, nothing made
    assert answer.status_code == 401 and _user(db, "mallory") is None
    assert victim.get("/inbox").status_code == 302


def test_a_deactivated_user_is_refused(db, sso_site, wang):
    # given Wang Fang's account here was deactivated after her first sign-in
    _sso_sign_in(sso_site, "wang.fang")
    commands.execute(db, users.deactivate, "wang.fang", "admin")
    # when she signs in at the provider again
    browser, answer = _sso_sign_in(sso_site, "wang.fang")
    # then she is refused with a message and not signed in
    assert answer.status_code == 403 and ("账号已停用" in answer.text or "disabled" in answer.text)
    assert not _signed_in(sso_site, browser)


def test_a_local_account_of_the_same_name_is_not_taken_over(db, sso_site, wang, make_user):
    # given a local account already called wang.fang (a small installation's own user)
    make_user("wang.fang", ["supervisors"])
    # when someone of that user name at the provider signs in
    browser, answer = _sso_sign_in(sso_site, "wang.fang")
    # then they are refused, and the local account is as it was
    assert answer.status_code == 403 and not _signed_in(sso_site, browser)
    user = _user(db, "wang.fang")
    assert user.group_names == {"supervisors"} and user.password_hash != sso.NO_PASSWORD
    assert commands.query(db, lambda s: s.scalars(select(sso.SsoIdentity)).all()) == []


def test_the_button_is_shown_only_where_single_sign_on_is_set_up(client, sso_site):
    # an installation without OIDC settings shows the local form alone
    assert 'id="sso-button"' not in client.get("/login").get_data(as_text=True)
    # and its SSO address sends people back to the local form
    assert client.get("/login/sso").headers["Location"] == "/login"
    assert 'id="sso-button"' in requests.get(sso_site + "/login").text


def test_signing_in_through_the_button_in_a_browser(db, browser, sso_site, wang):
    """The whole walk in Chinese: the button, the provider's form, back in the inbox."""
    context = browser.new_context(base_url=sso_site, locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto("/login")
        button = page.locator("#sso-button")
        assert button.inner_text().strip() == "统一身份认证登录"
        button.click()
        page.fill("#idp-username", "wang.fang")
        page.fill("#idp-password", IDP_PASSWORD)
        page.click("#idp-sign-in")
        page.wait_for_url(re.compile(r"/(inbox|applications)"))
        assert page.locator(".who").inner_text().strip() == "王芳"
    finally:
        context.close()


def test_an_unreachable_provider_is_a_message_not_a_crash(db, database_url):
    import socket
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    from web import create_app
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "sso-test-secret",
                      "ENGINE_DATABASE": db, "OIDC_ISSUER": f"http://127.0.0.1:{closed}",
                      "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET})
    answer = app.test_client().get("/login/sso", headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 502 and "暂时无法连接统一身份认证平台" in answer.get_data(as_text=True)


def test_a_bad_group_map_stops_the_app_at_start(db, database_url):
    from engine.core.errors import InvalidData
    from web import create_app
    with pytest.raises(InvalidData):
        create_app({"DATABASE_URL": database_url, "TESTING": True, "ENGINE_DATABASE": db,
                    "OIDC_ISSUER": "https://ids.example", "OIDC_CLIENT_ID": CLIENT_ID,
                    "OIDC_GROUP_MAP": "{sci-staff: institution_staff"})


def test_a_single_sign_on_user_is_told_where_their_password_lives_not_shown_a_form(db, sso_site, wang):
    # given Wang Fang, who signs in only through the government's provider
    browser, _ = _sso_sign_in(sso_site, "wang.fang")
    # when she opens "change password"
    page = browser.get(sso_site + "/account/password", headers={"Accept-Language": "zh-CN"})
    # then the page says her password is the provider's, and offers no form that could only fail
    assert page.status_code == 200 and 'id="password-elsewhere"' in page.text
    assert 'id="change-password-button"' not in page.text
    # and a change sent anyway is refused with the same explanation, changing nothing
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    token = csrf.group(1) if csrf else ""
    refused = browser.post(sso_site + "/account/password", data={
        "csrf_token": token, "current_password": "x", "new_password": "a-long-new-secret-1",
        "repeat_password": "a-long-new-secret-1"})
    assert refused.status_code in (400, 409) and _user(db, "wang.fang").password_hash == sso.NO_PASSWORD
