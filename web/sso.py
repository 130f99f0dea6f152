"""Single sign-on through the government's OpenID Connect provider: the OAuth dance, with
Authlib's Flask client, which keeps the state and nonce in the session, exchanges the code and
verifies the ID token (signature against the provider's JWKS, issuer, audience, expiry, nonce).
The verified claims go to the engine (engine/core/sso.py), which makes or updates the local user
and its groups; the sign-in then begins the same server-side session as a password sign-in
(web/auth.py). Nothing here is active unless configured; local accounts keep working beside it.

Settings (app config or environment):
OIDC_ISSUER (the provider's issuer URL; discovery at <issuer>/.well-known/openid-configuration) or
OIDC_DISCOVERY_URL; OIDC_CLIENT_ID, OIDC_CLIENT_SECRET; OIDC_SCOPES ("openid profile email");
OIDC_REDIRECT_URI (default: this site's /login/sso/callback as the request sees it); OIDC_PKCE (on);
OIDC_USERNAME_CLAIM (preferred_username), OIDC_DISPLAY_NAME_CLAIM (name), OIDC_EMAIL_CLAIM (email),
OIDC_ORG_CLAIM (none), OIDC_GROUPS_CLAIM (groups), OIDC_GROUP_MAP (JSON: claim value -> our group,
e.g. {"sci-staff": "institution_staff"}), OIDC_ADOPT_LOCAL_USERS (off)."""
from __future__ import annotations

import os
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from joserfc.errors import JoseError

from engine.core import commands, sso
from engine.core.errors import Unauthorized

from web import engine_db
from web.auth import LoginForm, start_session
from web.redirects import local_path

blueprint = Blueprint("sso", __name__)
_CLIENT = "gov"
_NEXT = "sso_next"
_MAPPING_SETTINGS = ("username_claim", "display_name_claim", "email_claim", "org_claim",
                     "groups_claim", "group_map", "adopt_local_users")
_REFUSALS = {
    "disabled": _l("This account is disabled. Ask an administrator."),
    "name_taken": _l("A local account already has your user name. Ask an administrator to link it."),
    "no_username": _l("The identity provider did not say who you are. Ask its administrator."),
    "bad_username": _l("Your user name at the identity provider cannot be used here. Ask an administrator."),
}


def _setting(app: Flask, name: str, default: str | None = None) -> Any:
    value = app.config.get(name)
    return value if value is not None else os.environ.get(name, default)


def _discovery_url(app: Flask) -> str | None:
    explicit = _setting(app, "OIDC_DISCOVERY_URL")
    issuer = _setting(app, "OIDC_ISSUER")
    if explicit:
        return str(explicit)
    return str(issuer).rstrip("/") + "/.well-known/openid-configuration" if issuer else None


def _client() -> Any:
    return current_app.extensions["sso_oauth"].create_client(_CLIENT)


def _mapping() -> sso.ClaimMapping:
    return current_app.extensions["sso_mapping"]


def _login_page(message: str, status: int):  # type: ignore[no-untyped-def]
    flash(message, "error")
    return render_template("auth/login.html", form=LoginForm()), status


@blueprint.get("/login/sso")
def login():  # type: ignore[no-untyped-def]
    if "sso_oauth" not in current_app.extensions:
        flash(_("Single sign-on is not set up here. Sign in with your local account."), "info")
        return redirect(url_for("auth.login"))
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    session[_NEXT] = local_path(request.args.get("next"), url_for("home.index"))
    redirect_uri = _setting(current_app, "OIDC_REDIRECT_URI") or url_for("sso.callback", _external=True)
    try:
        return _client().authorize_redirect(redirect_uri)
    except (requests.RequestException, AuthlibBaseError, ValueError):
        current_app.logger.exception("the identity provider's discovery failed")
        return _login_page(_("The identity provider cannot be reached. Try again later."), 502)


@blueprint.get("/login/sso/callback")
def callback():  # type: ignore[no-untyped-def]
    if "sso_oauth" not in current_app.extensions:
        return redirect(url_for("auth.login"))
    try:
        claims = _verified_claims()
    except requests.RequestException:
        current_app.logger.exception("the identity provider's token endpoint failed")
        return _login_page(_("The identity provider cannot be reached. Try again later."), 502)
    except (AuthlibBaseError, JoseError, ValueError) as error:
        # a forged or replayed answer (state, nonce, signature) or the user cancelled there
        current_app.logger.warning("single sign-on refused: %s", error)
        return _login_page(_("Single sign-on did not succeed. Please try again."), 401)
    try:
        user = commands.execute(engine_db(), sso.sign_in, claims["iss"], claims, _mapping())
    except Unauthorized as error:
        reason = str(error.details.get("reason", "disabled"))
        return _login_page(str(_REFUSALS.get(reason, _REFUSALS["disabled"])), 403)
    target = session.get(_NEXT)
    start_session(user)
    return redirect(local_path(target, url_for("home.index")))


def _verified_claims() -> dict[str, Any]:
    """The ID token's claims, verified by Authlib, with the userinfo endpoint's added where the
    provider keeps them there (its `sub` must be the ID token's)."""
    client = _client()
    token = client.authorize_access_token()
    claims = token.get("userinfo")
    if not claims:
        raise ValueError("the identity provider sent no ID token")
    claims = dict(claims)
    if client.load_server_metadata().get("userinfo_endpoint"):
        extra = client.userinfo(token=token)
        if extra.get("sub") != claims.get("sub"):
            raise ValueError("the userinfo endpoint names another subject")
        claims = {**extra, **claims}
    return claims


def _client_kwargs(app: Flask) -> dict[str, str]:
    kwargs = {"scope": str(_setting(app, "OIDC_SCOPES", "openid profile email"))}
    # PKCE as well as the secret (RFC 9700): a stolen code is useless without the verifier kept
    # in this browser's session; providers without PKCE ignore it, OIDC_PKCE=0 for one that balks
    if str(_setting(app, "OIDC_PKCE", "1")).strip().lower() not in ("0", "false", "no", "off"):
        kwargs["code_challenge_method"] = "S256"
    return kwargs


def configured(app: Flask) -> bool:
    return bool(_discovery_url(app) and _setting(app, "OIDC_CLIENT_ID"))


def init_app(app: Flask) -> None:
    """Registers the routes always (they say SSO is off when it is), the provider only when
    configured; a bad OIDC_GROUP_MAP stops the app at start, not at a user's sign-in."""
    app.register_blueprint(blueprint)
    app.jinja_env.globals["sso_enabled"] = configured(app)
    if not configured(app):
        return
    app.extensions["sso_mapping"] = sso.ClaimMapping.from_settings(
        {name: _setting(app, "OIDC_" + name.upper()) for name in _MAPPING_SETTINGS})
    oauth = OAuth(app)
    oauth.register(_CLIENT, client_id=_setting(app, "OIDC_CLIENT_ID"),
                   client_secret=_setting(app, "OIDC_CLIENT_SECRET"),
                   server_metadata_url=_discovery_url(app),
                   client_kwargs=_client_kwargs(app))
    app.extensions["sso_oauth"] = oauth
