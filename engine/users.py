"""Users, groups and API tokens: creating users (groups on demand), checking passwords
(werkzeug's salted scrypt/pbkdf2 hashes) and issuing and resolving bearer tokens, of which
only a SHA-256 digest is stored."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, clock
from .errors import Conflict, InvalidData, Unauthorized
from .models import ApiToken, Group, User
from .principals import Actor

TOKEN_LIFETIME = timedelta(hours=12)
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@")


def create_user(session: Session, username: str, password: str, groups: list[str] | None = None,
                org: str | None = None, email: str | None = None, display_name: str | None = None,
                actor: str | None = None) -> User:
    problems: dict[str, list[str]] = {}
    if not username or not set(username) <= _NAME_CHARS or len(username) > 80:
        problems["username"] = ["Use 1-80 letters, digits and . _ - @"]
    if not password or len(password) < 4:
        problems["password"] = ["At least 4 characters."]
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


def authenticate(session: Session, username: str, password: str) -> User:
    user = find(session, username) if isinstance(username, str) else None
    if user is None or not user.active or not check_password_hash(user.password_hash, password or ""):
        raise Unauthorized("wrong user name or password")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at < now))
    session.add(ApiToken(token_hash=_digest(token), user_id=user.id, created_at=now,
                         expires_at=now + TOKEN_LIFETIME))
    return token, now + TOKEN_LIFETIME


def user_for_token(session: Session, token: str) -> User:
    """The token's user with its groups, in one statement (every API call pays for this)."""
    user = session.scalars(
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _digest(token), ApiToken.expires_at > clock.now())
        .options(joinedload(User.groups))).unique().one_or_none()
    if user is None:
        raise Unauthorized("the token is missing, unknown or expired; sign in again")
    if not user.active:
        raise Unauthorized("this account is disabled")
    return user
