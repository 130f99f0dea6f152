"""Signing in and out of the web pages and the signed-in session. Sign-in goes through the
engine's throttled password check (engine/core/sign_in.py, shared with the API token endpoint); each
sign-in begins a server-side session record (engine/core/web_sessions.py) whose random id the session
cookie carries, resumed on every page request, so that the absolute and idle limits hold and
signing out, a password change or deactivation really ends it. The cookie is HttpOnly,
SameSite=Lax, Secure over HTTPS (or always, with SESSION_COOKIE_SECURE=1), and lives as long as the
absolute limit. Also the language switch. `current_actor()` gives the engine `Actor` of the
signed-in user; `login_required` pages send others to the sign-in page and come back after.

Settings (app config or environment): SESSION_ABSOLUTE_HOURS (10), SESSION_IDLE_MINUTES (60),
SESSION_COOKIE_SECURE (off: then Secure exactly when the request came over HTTPS; behind a
proxy set PROXY_FIX, see web/security.py)."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

from flask import (Blueprint, Flask, current_app, flash, g, has_request_context, redirect,
                   render_template, request, session, url_for)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.core import commands, sign_in, web_sessions
from engine.core.errors import TooManyAttempts, Unauthorized
from engine.core.models import User
from engine.core.principals import Actor

from web import engine_db
from web.i18n import switch_language
from web.redirects import local_path

auth = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.login_message_category = "info"

_NOT_RESUMED = (None, "static", "assets.asset")
_BEGAN = "began"  # when the cookie session began (wall clock), so its expiry never moves


class WebUser(UserMixin):
    """The signed-in user as the pages need it; `get_id` is the server-side session's id, which
    Flask-Login keeps in the (signed) session cookie."""

    def __init__(self, user: User, session_id: str) -> None:
        self.user_id = user.id
        self.username = user.username
        self.display_name = user.display_name or user.username
        self.groups = frozenset(user.group_names)
        self.session_id = session_id

    def get_id(self) -> str:
        return self.session_id

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.groups)


def limits() -> web_sessions.Limits:
    config = current_app.config
    return web_sessions.Limits(absolute=timedelta(hours=float(config["SESSION_ABSOLUTE_HOURS"])),
                               idle=timedelta(minutes=float(config["SESSION_IDLE_MINUTES"])))


@login_manager.user_loader
def _load(session_id: str) -> WebUser | None:
    # a background poll is not the user being active, so it does not extend the idle limit
    touch = not request.headers.get("X-Poll")

    def _resume(db_session):  # type: ignore[no-untyped-def]
        resumed = web_sessions.resume(db_session, session_id, limits(), touch)
        return resumed.refused_because, WebUser(resumed.user, session_id) if resumed.user else None

    refused, user = commands.execute(engine_db(), _resume)
    g.session_refused = refused
    return user


def current_actor() -> Actor:
    return current_user.actor


def client_address() -> str:
    """The client's address as the throttle keys it (the proxy's X-Forwarded-For only when
    PROXY_FIX says how many proxies to trust)."""
    return request.remote_addr or "unknown"


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


@auth.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        name = form.username.data.strip()
        try:
            user = commands.execute(engine_db(), sign_in.attempt, name, form.password.data,
                                    client_address()).user_or_raise()
        except TooManyAttempts as error:
            flash(_("Too many failed sign-ins. Wait %(seconds)s seconds, then try again.",
                    seconds=error.retry_after), "error")
            status, headers = 429, {"Retry-After": str(error.retry_after)}
        except Unauthorized:
            flash(_("Wrong user name or password."), "error")
            status = 401
        else:
            return _sign_in(user)
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status, headers


def start_session(user: User) -> None:
    """A fresh cookie session (no fixation) bound to a new server-side session of `user`."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session.permanent = True
    session[_BEGAN] = int(time.time())
    session_id = commands.execute(engine_db(), web_sessions.begin, user)
    login_user(WebUser(user, session_id))


def _sign_in(user: User):  # type: ignore[no-untyped-def]
    start_session(user)
    return redirect(local_path(request.args.get("next"), url_for("home.index")))


def _forget_session() -> None:
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language


@auth.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        commands.execute(engine_db(), web_sessions.end, current_user.session_id, "signed_out")
    _forget_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@auth.post("/language")
def language():  # type: ignore[no-untyped-def]
    if not switch_language(request.form.get("lang", "")):
        flash(_("Unknown language."), "error")
    return redirect(local_path(request.form.get("next"), url_for("home.index")))


def _enforce_session():  # type: ignore[no-untyped-def]
    """A cookie naming a session that is no longer in force is dropped; one that expired sends
    the user to sign in again, and back afterwards."""
    if request.endpoint in _NOT_RESUMED or request.blueprint == "api" or "_user_id" not in session:
        return None
    if current_user.is_authenticated:  # resumes the server-side session (the user loader)
        return None
    refused = g.pop("session_refused", None)
    _forget_session()
    if refused != "expired":
        return None
    flash(_("Your session has expired. Please sign in again."), "info")
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": url_for("auth.login")}
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


class _SessionCookie(SecureCookieSessionInterface):
    """Secure whenever the request came over HTTPS, even without SESSION_COOKIE_SECURE; a
    signed-in cookie expires at sign-in plus the absolute limit, however often it is re-sent."""

    def open_session(self, app: Flask, request):  # type: ignore[no-untyped-def]
        # a bearer-token API call sends no cookie: its empty session needs no signer, which
        # Flask builds (key list, serializer, signer) on every request before even looking
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:  # type: ignore[no-untyped-def]
        if not session and not session.modified:
            # what Flask does for a session left empty (every API call), without computing the
            # cookie's name, domain, path and flags first
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)

    def get_expiration_time(self, app: Flask, session) -> datetime | None:  # type: ignore[no-untyped-def]
        began = session.get(_BEGAN) if session.permanent else None
        if isinstance(began, int):
            return datetime.fromtimestamp(began, timezone.utc) + app.permanent_session_lifetime
        return super().get_expiration_time(app, session)


def _flag(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def init_app(app: Flask) -> None:
    # Flask defines PERMANENT_SESSION_LIFETIME (31 days) and the cookie flags itself, so they are
    # set here outright from our own settings; setdefault on them would change nothing
    app.config.setdefault("SESSION_ABSOLUTE_HOURS", float(os.environ.get("SESSION_ABSOLUTE_HOURS", "10")))
    app.config.setdefault("SESSION_IDLE_MINUTES", float(os.environ.get("SESSION_IDLE_MINUTES", "60")))
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=float(app.config["SESSION_ABSOLUTE_HOURS"]))
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = _flag(app.config.get("SESSION_COOKIE_SECURE")) \
        or _flag(os.environ.get("SESSION_COOKIE_SECURE", ""))
    app.session_interface = _SessionCookie()
    login_manager.init_app(app)
    app.before_request(_enforce_session)
    app.register_blueprint(auth)
