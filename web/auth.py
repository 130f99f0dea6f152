"""Signing in and out of the web pages (Flask-Login over the engine's users and their salted
password hashes), session expiry (an absolute lifetime and an idle timeout), a small brake on
password guessing, and the language switch. `current_actor()` gives the engine `Actor` of the
signed-in user; `login_required` pages send others to the sign-in page and come back after."""
from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict, deque
from datetime import timedelta

from flask import (Blueprint, Flask, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine import commands, users
from engine.errors import Unauthorized
from engine.models import User
from engine.principals import Actor

from . import engine_db
from .i18n import safe_next, switch_language

auth = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.login_message_category = "info"

FAILURES_ALLOWED = 5
FAILURE_WINDOW = 15 * 60


class WebUser(UserMixin):
    """The signed-in user as the pages need it; the session id embeds a digest of the password
    hash, so changing a password signs out every other session."""

    def __init__(self, user: User) -> None:
        self.user_id = user.id
        self.username = user.username
        self.display_name = user.display_name or user.username
        self.groups = frozenset(user.group_names)
        self._stamp = _stamp(user)

    def get_id(self) -> str:
        return f"{self.user_id}.{self._stamp}"

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.groups)


def _stamp(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@login_manager.user_loader
def _load(session_id: str) -> WebUser | None:
    ident, _sep, stamp = session_id.partition(".")
    if not ident.isdigit():
        return None
    user = commands.query(engine_db(), lambda s: s.get(User, int(ident)))
    if user is None or not user.active or _stamp(user) != stamp:
        return None
    return WebUser(user)


def current_actor() -> Actor:
    return current_user.actor


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class _Brake:
    """Failed sign-ins per user name in a sliding window (per process: enough to slow a
    guesser down without a table; a deployment with many workers adds its own at the proxy)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, name: str) -> bool:
        with self._lock:
            recent = self._recent(name)
            return len(recent) >= FAILURES_ALLOWED

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name).append(time.monotonic())

    def reset(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)

    def _recent(self, name: str) -> deque[float]:
        times = self._failures[name]
        while times and times[0] < time.monotonic() - FAILURE_WINDOW:
            times.popleft()
        return times


BRAKE = _Brake()


@auth.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        name = form.username.data.strip()
        if BRAKE.blocked(name.lower()):
            flash(_("Too many failed attempts. Wait a quarter of an hour and try again."), "error")
            status = 429
        else:
            try:
                user = commands.query(engine_db(), users.authenticate, name, form.password.data)
            except Unauthorized:
                BRAKE.failed(name.lower())
                flash(_("Wrong user name or password."), "error")
                status = 401
            else:
                BRAKE.reset(name.lower())
                return _sign_in(user)
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


def _sign_in(user: User):  # type: ignore[no-untyped-def]
    language = session.get("lang")
    session.clear()  # a fresh session on sign-in: no fixation
    if language:
        session["lang"] = language
    session.permanent = True
    login_user(WebUser(user))
    session["signed_in_at"] = time.time()
    session["seen"] = time.time()
    return redirect(safe_next(request.args.get("next"), url_for("home.index")))


@auth.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@auth.post("/language")
def language():  # type: ignore[no-untyped-def]
    if not switch_language(request.form.get("lang", "")):
        flash(_("Unknown language."), "error")
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))


def _enforce_expiry():  # type: ignore[no-untyped-def]
    """Idle and absolute session limits, checked on every page request."""
    if not current_user.is_authenticated or request.endpoint in (None, "static", "assets.asset"):
        return None
    now = time.time()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if now - session.get("seen", 0) > idle or now - session.get("signed_in_at", 0) > lifetime:
        language = session.get("lang")
        logout_user()
        session.clear()
        if language:
            session["lang"] = language
        flash(_("Your session has expired. Please sign in again."), "info")
        if request.headers.get("HX-Request"):
            return "", 401, {"HX-Redirect": url_for("auth.login")}
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not request.headers.get("X-Poll"):  # a background poll is not the user being active
        session["seen"] = now
    return None


def init_app(app: Flask) -> None:
    app.config.setdefault("SESSION_IDLE_MINUTES", 60)
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=10))
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    login_manager.init_app(app)
    app.before_request(_enforce_expiry)
    app.register_blueprint(auth)
