"""Users, groups and API tokens: creating users (groups on demand), setting and changing
passwords under the password policy (engine/core/passwords.py; werkzeug's salted hashes), deactivating
accounts, and issuing and resolving bearer tokens, of which only a SHA-256 digest is stored.
Signing in with a password is engine/core/sign_in.py (with its throttle)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from engine.core import audit, clock, passwords, web_sessions
from engine.core.errors import Conflict, InvalidData, NotFound, Unauthorized
from engine.core.models import ApiToken, Group, Membership, User
from engine.core.principals import Actor

TOKEN_LIFETIME = timedelta(hours=12)
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@")


def valid_username(username: str) -> bool:
    """1-80 letters, digits and . _ - @: the one rule for local and single-sign-on accounts."""
    return bool(username) and set(username) <= _NAME_CHARS and len(username) <= 80


def create_user(session: Session, username: str, password: str, groups: list[str] | None = None,
                org: str | None = None, email: str | None = None, display_name: str | None = None,
                actor: str | None = None, *, password_policy: bool = True) -> User:
    """A new user. `password_policy=False` is only for the demo loader and test fixtures, whose
    well-known passwords are part of the demo; the CLI and pages never pass it."""
    problems: dict[str, list[str]] = {}
    if not valid_username(username):
        problems["username"] = ["Use 1-80 letters, digits and . _ - @"]
    if password_policy:
        found = passwords.problems(password or "", username or "")
        if found:
            problems["password"] = found
    elif not password:
        problems["password"] = ["A password is required."]
    if problems:
        raise InvalidData("invalid user", problems)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user '{username}' already exists")
    user = User(username=username, password_hash=generate_password_hash(password),
                display_name=display_name or username, email=email, org=org, created_at=clock.now())
    user.groups = [ensure_group(session, g) for g in dict.fromkeys(groups or []) if g]
    session.add(user)
    audit.record(session, "user_created", actor, username=username, groups=sorted(user.group_names))
    return user


def ensure_group(session: Session, name: str) -> Group:
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        group = Group(name=name)
        session.add(group)
        session.flush()
    return group


def find(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def actor_of(user: User) -> Actor:
    return Actor(user.username, frozenset(user.group_names))


def set_password(session: Session, user: User, password: str, actor: str | None = None) -> None:
    """Sets a new password under the policy; every session and API token of the user ends, so
    whoever held an old one must sign in again."""
    passwords.check(password, user.username)
    user.password_hash = generate_password_hash(password)
    _end_everything(session, user, "password_changed")
    audit.record(session, "password_changed", actor or user.username, username=user.username)


def change_password(session: Session, username: str, current: str, new: str, repeated: str) -> User:
    """The user changes their own password: the current one must be right and the new one typed
    twice alike. Field errors come back as InvalidData, nothing changed."""
    user = find(session, username)
    if user is None or not user.active:
        raise Unauthorized("this account is disabled")
    if not check_password_hash(user.password_hash, current or ""):
        raise InvalidData("the current password is wrong", {"current_password": ["The current password is wrong."]})
    if new != repeated:
        raise InvalidData("the new passwords differ", {"repeat_password": ["The two new passwords differ."]})
    if check_password_hash(user.password_hash, new):
        raise InvalidData("the new password is the old one",
                          {"new_password": ["The new password must differ from the current one."]})
    passwords.check(new, user.username, field="new_password")
    set_password(session, user, new)
    return user


def deactivate(session: Session, username: str, actor: str | None = None) -> User:
    """The account can no longer sign in; its open sessions and tokens end now."""
    user = find(session, username)
    if user is None:
        raise NotFound(f"no user '{username}'")
    user.active = False
    _end_everything(session, user, "deactivated")
    audit.record(session, "user_deactivated", actor, username=username)
    return user


def _end_everything(session: Session, user: User, because: str) -> None:
    web_sessions.end_all(session, user.id, because)
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at < now))
    session.add(ApiToken(token_hash=_digest(token), user_id=user.id, created_at=now,
                         expires_at=now + TOKEN_LIFETIME))
    return token, now + TOKEN_LIFETIME


# the tables as plain Core: every API call resolves its token, and ORM entities (identity map,
# instance loading, the joined eager load) cost more there than the three values read
_USERS, _MEMBERSHIPS, _GROUPS = User.__table__, Membership.__table__, Group.__table__
_TOKENS = ApiToken.__table__


def _valid_token(digest: Any, now: Any) -> ColumnElement[bool]:
    """What makes a bearer token good: its digest is stored and has not expired. The one place
    for that rule: `user_for_token` and `actor_for_token` both use it (the latter with bound
    parameters, its statement being built once)."""
    return (_TOKENS.c.token_hash == digest) & (_TOKENS.c.expires_at > now)


def user_for_token(session: Session, token: str) -> User:
    """The token's user with its groups, in one statement."""
    user = session.scalars(
        select(User).join(ApiToken, ApiToken.user_id == User.id).where(_valid_token(_digest(token), clock.now()))
        .options(joinedload(User.groups))).unique().one_or_none()
    if user is None:
        raise Unauthorized("the token is missing, unknown or expired; sign in again")
    if not user.active:
        raise Unauthorized("this account is disabled")
    return user


def _actor_statement() -> Any:
    """`actor_for_token`'s statement, built once with parameters for `_valid_token`'s two values:
    building and cache-keying the four-table select cost more than running it."""
    return (select(_USERS.c.username, _USERS.c.active, _GROUPS.c.name)
            .select_from(_TOKENS.join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
                         .outerjoin(_MEMBERSHIPS, _MEMBERSHIPS.c.user_id == _USERS.c.id)
                         .outerjoin(_GROUPS, _GROUPS.c.id == _MEMBERSHIPS.c.group_id))
            .where(_valid_token(bindparam("digest"), bindparam("now"))))


_ACTOR_FOR_TOKEN = _actor_statement()


def actor_for_token(session: Session, token: str) -> Actor:
    """The token's user as an Actor (name and groups) in one Core statement: the API's check on
    every call, with the same refusals as `user_for_token` (and `_valid_token`'s rule: the
    digest stored, not expired)."""
    rows = session.connection().execute(_ACTOR_FOR_TOKEN, {"digest": _digest(token), "now": clock.now()}).all()
    if not rows:
        raise Unauthorized("the token is missing, unknown or expired; sign in again")
    if not rows[0].active:
        raise Unauthorized("this account is disabled")
    return Actor(rows[0].username, frozenset(row.name for row in rows if row.name is not None))
