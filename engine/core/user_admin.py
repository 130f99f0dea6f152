"""What the members of `admins` do to other people's accounts: list users (search, a group filter,
pages), create one under the password policy, deactivate and reactivate (a deactivated account
cannot sign in and its sessions and tokens end at once; its open tasks are listed so that a
supervisor can reassign them), reset a password with a reason, set a user's groups, list a user's
API tokens and revoke one, and issue a named long-lived token to a member of `integrations`, shown
once. Every change is audited. Admins cannot deactivate themselves or take away their own
`admins` membership, so an installation never locks its last admin out by a slip."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from engine.core import audit, clock, names, users
from engine.core.calendar import BUREAU_TZ
from engine.core.errors import Forbidden, InvalidData, NotFound
from engine.core.models import ApiToken, Group, HumanTask, Membership, User
from engine.core.principals import ADMINS, INTEGRATIONS, Actor, required_reason

PER_PAGE = 25
MAX_TOKEN_DAYS = 730
HANDLE_LENGTH = 16
OPEN = "open"  # engine/runtime/projection.OPEN, which this layer cannot import


def require_admin(actor: Actor, doing: str = "manage users") -> None:
    if not actor.is_admin:
        raise Forbidden(f"only members of 'admins' may {doing}")


@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    email: str | None
    active: bool
    groups: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class UserPage:
    rows: list[UserRow]
    total: int
    page: int
    per_page: int
    groups: list[str]  # every group one may filter by

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class TokenRow:
    handle: str  # the start of the stored digest: names a token without revealing it
    name: str | None
    long_lived: bool
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class OpenTask:
    id: str
    title: str
    process_instance_id: int
    due_at: datetime | None


def _row(user: User) -> UserRow:
    return UserRow(user.username, user.display_name, user.email, user.active,
                   tuple(sorted(user.group_names)), user.created_at)


def list_users(session: Session, actor: Actor, q: str = "", group: str = "", page: int = 1,
               per_page: int = PER_PAGE) -> UserPage:
    """Users by user name, filtered by a text in the user name, display name or e-mail and by a group."""
    require_admin(actor)
    where = []
    if q.strip():
        like = f"%{q.strip().lower()}%"
        where.append(or_(func.lower(User.username).like(like), func.lower(User.display_name).like(like),
                         func.lower(func.coalesce(User.email, "")).like(like)))
    if group:
        where.append(User.id.in_(select(Membership.user_id).join(Group, Group.id == Membership.group_id)
                                 .where(Group.name == group)))
    total = session.scalar(select(func.count(User.id)).where(*where)) or 0
    page = max(1, page)
    found = session.scalars(select(User).where(*where).order_by(User.username)
                            .offset((page - 1) * per_page).limit(per_page)).all()
    return UserPage([_row(u) for u in found], total, page, per_page, known_groups(session))


def known_groups(session: Session) -> list[str]:
    """The groups a user may be put in: the bureau's declared ones and every group in use."""
    existing = session.scalars(select(Group.name)).all()
    return sorted(set(names.GROUPS) | set(existing))


def _user(session: Session, username: str) -> User:
    user = users.find(session, username)
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user


def get_user(session: Session, actor: Actor, username: str) -> UserRow:
    require_admin(actor)
    return _row(_user(session, username))


def check_groups(session: Session, groups: list[str], field: str = "groups") -> list[str]:
    """The groups, de-duplicated; 422 naming any that is neither declared nor in use."""
    wanted = [g.strip() for g in dict.fromkeys(groups) if g and g.strip()]
    allowed = set(known_groups(session))
    unknown = [g for g in wanted if g not in allowed and not names.is_group(g)]
    if unknown:
        raise InvalidData("unknown groups", {field: [f"Unknown group: {g}" for g in unknown]})
    return wanted


def create(session: Session, actor: Actor, username: str, password: str, display_name: str = "",
           email: str | None = None, groups: list[str] | None = None) -> UserRow:
    require_admin(actor, "create users")
    chosen = check_groups(session, groups or [])
    user = users.create_user(session, username, password, chosen, email=email or None,
                             display_name=display_name or None, actor=actor.username)
    session.flush()
    return _row(user)


def open_tasks(session: Session, actor: Actor, username: str) -> list[OpenTask]:
    """The open tasks assigned to the user: after a deactivation, what a supervisor must reassign."""
    require_admin(actor)
    rows = session.scalars(select(HumanTask).where(HumanTask.assignee == username, HumanTask.state == OPEN)
                           .order_by(HumanTask.created_at)).all()
    return [OpenTask(t.id, t.title or t.name, t.process_instance_id, t.due_at) for t in rows]


@dataclass(frozen=True)
class UserDetail:
    user: UserRow
    tokens: list[TokenRow]
    open_tasks: list[OpenTask]
    groups: list[str]  # every group the user may be put in


def user_page(session: Session, actor: Actor, username: str) -> UserDetail:
    """Everything the user's administration page shows, in one read."""
    return UserDetail(get_user(session, actor, username), tokens(session, actor, username),
                      open_tasks(session, actor, username), known_groups(session))


def set_active(session: Session, actor: Actor, username: str, active: bool) -> UserRow:
    """Deactivate (sign-in refused, sessions and tokens ended now) or reactivate an account."""
    require_admin(actor, "deactivate users")
    if username == actor.username and not active:
        raise InvalidData("you cannot deactivate yourself", {"username": ["You cannot deactivate yourself."]})
    user = _user(session, username)
    if not active:
        users.deactivate(session, username, actor.username)
    elif not user.active:
        user.active = True
        audit.record(session, "user_reactivated", actor.username, username=username)
    return _row(user)


def reset_password(session: Session, actor: Actor, username: str, password: str, reason: str) -> None:
    """A new password set by an admin, with the reason kept in the audit log; the user's sessions
    and tokens end."""
    require_admin(actor, "reset passwords")
    why = required_reason(reason)
    user = _user(session, username)
    users.set_password(session, user, password, actor.username)
    audit.record(session, "password_reset", actor.username, username=username, reason=why)


def set_groups(session: Session, actor: Actor, username: str, groups: list[str]) -> UserRow:
    require_admin(actor, "set groups")
    chosen = check_groups(session, groups)
    if username == actor.username and ADMINS not in chosen:
        raise InvalidData("you cannot leave admins", {"groups": ["You cannot remove yourself from the administrators."]})
    user = _user(session, username)
    before = sorted(user.group_names)
    user.groups = [users.ensure_group(session, g) for g in chosen]
    audit.record(session, "user_groups_set", actor.username, username=username, before=before,
                 after=sorted(chosen))
    return _row(user)


def tokens(session: Session, actor: Actor, username: str) -> list[TokenRow]:
    """The user's tokens still valid, newest first."""
    require_admin(actor)
    user = _user(session, username)
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at > clock.now())
                           .order_by(ApiToken.created_at.desc())).all()
    return [TokenRow(t.token_hash[:HANDLE_LENGTH], t.name, t.long_lived, t.created_at, t.expires_at) for t in rows]


def revoke_token(session: Session, actor: Actor, username: str, handle: str) -> None:
    """The token stops working at once: its row goes, and every request looks its digest up."""
    require_admin(actor, "revoke tokens")
    user = _user(session, username)
    if len(handle) != HANDLE_LENGTH or not all(c in "0123456789abcdef" for c in handle):
        raise NotFound("no such token")
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id,
                                                  ApiToken.token_hash.like(handle + "%")))
    if token is None:
        raise NotFound("no such token")
    session.execute(delete(ApiToken).where(ApiToken.token_hash == token.token_hash))
    audit.record(session, "token_revoked", actor.username, username=username, token=handle, name=token.name)


def issue_long_lived(session: Session, actor: Actor, username: str, name: str, expires_on: date) -> tuple[str, TokenRow]:
    """A named token for another system, valid to the end of `expires_on` in the bureau's time
    zone (at most two years ahead):
    the token itself is returned once and only its digest is kept."""
    require_admin(actor, "issue tokens")
    user = _user(session, username)
    problems: dict[str, list[str]] = {}
    if INTEGRATIONS not in user.group_names:
        problems["username"] = ["Long-lived tokens are only for members of 'integrations'."]
    if not name or not name.strip() or len(name.strip()) > 100:
        problems["name"] = ["Name the token (1-100 characters)."]
    today = clock.now().astimezone(BUREAU_TZ).date()
    if not today < expires_on <= today + timedelta(days=MAX_TOKEN_DAYS):
        problems["expires_on"] = [f"Choose a day after today and at most {MAX_TOKEN_DAYS} days ahead."]
    if not user.active:
        problems["username"] = ["This account is deactivated."]
    if problems:
        raise InvalidData("the token cannot be issued", problems)
    token = secrets.token_urlsafe(32)
    digest = hashlib.sha256(token.encode()).hexdigest()
    now = clock.now()
    expires_at = datetime.combine(expires_on, time(23, 59, 59), tzinfo=BUREAU_TZ).astimezone(now.tzinfo)
    session.add(ApiToken(token_hash=digest, user_id=user.id, created_at=now, expires_at=expires_at,
                         name=name.strip(), long_lived=True))
    audit.record(session, "token_issued", actor.username, username=username, token=digest[:HANDLE_LENGTH],
                 name=name.strip(), expires_at=expires_at.isoformat())
    return token, TokenRow(digest[:HANDLE_LENGTH], name.strip(), True, now, expires_at)
