"""Importing users and their groups from an Excel workbook (openpyxl): the template an admin
downloads, the plan a file makes (each row a new user or an update of an existing one's name,
e-mail and groups) with every row's errors by row number, and applying it all or nothing. A
preview writes nothing; applying checks the whole file again in the transaction and, if any row
is wrong, writes nothing either, so a file is either taken whole or refused with its reasons.
New users need a password under the policy; an existing user's password is not changed by a file
(an admin resets it on the user's page, with a reason). Groups are given by id or by the name
readers see (engine/core/names.py), separated by commas. A file creates at most MAX_NEW_USERS
users (their passwords' hashing is the slow part) and updates at most MAX_ROWS."""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import audit, names, passwords, users
from engine.core.errors import InvalidData
from engine.core.models import User
from engine.core.principals import Actor
from engine.core.user_admin import known_groups, require_admin

COLUMNS = ("username", "display_name", "email", "groups", "password")
HEADINGS = {"username": "用户名 username", "display_name": "姓名 display_name", "email": "邮箱 email",
            "groups": "用户组 groups", "password": "初始密码 password"}
REQUIRED_COLUMNS = ("username", "groups")
MAX_ROWS = 2000
# each new user's password is hashed with scrypt (about 0.2 s on the 2-core server): a hundred
# keep the confirm within a web worker's timeout; longer lists go in several files
MAX_NEW_USERS = 100
# the confirm carries the file back base64-encoded in a form field, and Flask keeps form fields
# under 500,000 bytes (MAX_FORM_MEMORY_SIZE); 2,000 rows take about a fifth of this
MAX_BYTES = 360 * 1024
MAX_LINES = MAX_ROWS + 1000  # blank lines read before giving up: a sheet may claim a million
_USERNAME = re.compile(r"^[A-Za-z0-9_.\-@]{1,80}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEPARATORS = re.compile(r"[,，;；、\s]+")


@dataclass(frozen=True)
class RowError:
    """One problem: `code` says which (the pages translate it), `detail` the value concerned."""

    row: int
    field: str
    code: str
    detail: str = ""


@dataclass(frozen=True)
class PlannedRow:
    row: int
    username: str
    display_name: str
    email: str | None
    groups: tuple[str, ...]
    password: str = field(repr=False, default="")
    new: bool = True


@dataclass
class ImportPlan:
    rows: list[PlannedRow]
    errors: list[RowError]
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    def errors_of(self, row: int) -> list[RowError]:
        return [e for e in self.errors if e.row == row]


def template() -> bytes:
    """The workbook to fill in: the headings and one example row."""
    book = Workbook()
    sheet = book.active
    sheet.title = "users"
    sheet.append([HEADINGS[c] for c in COLUMNS])
    sheet.append(["wang.fang", "王芳", "wang.fang@example.cn", "experts", "Change-me-2026!"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter in "ABCDE":
        sheet.column_dimensions[letter].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _column_of(heading: object) -> str | None:
    words = str(heading or "").strip().lower().split()
    for column in COLUMNS:
        if column in words or (words and HEADINGS[column].split()[0] == words[0]):
            return column
    return None


def _cells(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """(row number as Excel shows it, cells by column) for each non-empty row under the headings."""
    if len(content) > MAX_BYTES:
        raise InvalidData("the file is too large", {"file": ["too_large"]})
    try:
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError) as error:
        raise InvalidData("not an Excel workbook", {"file": ["not_xlsx"]}) from error
    lines = sheet.iter_rows(values_only=True)
    heading = next(lines, None) or ()
    columns = [_column_of(h) for h in heading]
    if any(c not in columns for c in REQUIRED_COLUMNS):
        raise InvalidData("the headings are missing", {"file": ["no_headings"]})
    found: list[tuple[int, dict[str, str]]] = []
    for number, values in enumerate(lines, start=2):
        cells = {c: ("" if v is None else str(v).strip()) for c, v in zip(columns, values) if c}
        if any(cells.values()):
            found.append((number, cells))
        if len(found) > MAX_ROWS or number > MAX_LINES:
            raise InvalidData("too many rows", {"file": ["too_many_rows"]})
    return found


def _group_ids(session: Session) -> dict[str, str]:
    """Whatever a cell may say for a group (its id or either of its names) -> the group id."""
    ids = {g: g for g in known_groups(session)}
    for group, (chinese, english) in names.GROUPS.items():
        ids[chinese] = ids[english.lower()] = group
    return ids


def _check_row(number: int, cells: dict[str, str], existing: set[str], seen: dict[str, int],
               group_ids: dict[str, str]) -> tuple[PlannedRow, list[RowError]]:
    errors: list[RowError] = []
    username = cells.get("username", "")
    if not username:
        errors.append(RowError(number, "username", "required"))
    elif not _USERNAME.match(username):
        errors.append(RowError(number, "username", "username_invalid", username))
    elif username in seen:
        errors.append(RowError(number, "username", "duplicate_in_file", str(seen[username])))
    seen.setdefault(username, number)
    new = username not in existing
    display_name, email, password = cells.get("display_name", ""), cells.get("email", ""), cells.get("password", "")
    if len(display_name) > 200:
        errors.append(RowError(number, "display_name", "too_long", "200"))
    if email and (len(email) > 200 or not _EMAIL.match(email)):
        errors.append(RowError(number, "email", "email_invalid", email))
    groups: list[str] = []
    for word in _SEPARATORS.split(cells.get("groups", "")):
        group = group_ids.get(word) or group_ids.get(word.lower()) or (word if names.is_group(word) else None)
        if word and group is None:
            errors.append(RowError(number, "groups", "group_unknown", word))
        elif group and group not in groups:
            groups.append(group)
    if new and not password:
        errors.append(RowError(number, "password", "required"))
    elif not new and password:
        errors.append(RowError(number, "password", "password_for_existing"))
    elif new:
        errors += [RowError(number, "password", "password_policy", p) for p in passwords.problems(password, username)]
    return PlannedRow(number, username, display_name, email or None, tuple(groups), password, new), errors


def plan(session: Session, actor: Actor, content: bytes) -> ImportPlan:
    """What the file would do, and every row's errors; nothing is written."""
    require_admin(actor, "import users")
    found = _cells(content)
    existing = set(session.scalars(select(User.username).where(
        User.username.in_([c.get("username", "") for _, c in found]))).all())
    group_ids = _group_ids(session)
    seen: dict[str, int] = {}
    result = ImportPlan([], [])
    for number, cells in found:
        row, errors = _check_row(number, cells, existing, seen, group_ids)
        result.rows.append(row)
        result.errors += errors
    if not found:
        result.errors.append(RowError(1, "file", "empty"))
    new = [r for r in result.rows if r.new]
    if len(new) > MAX_NEW_USERS:
        result.errors.append(RowError(new[MAX_NEW_USERS].row, "username", "too_many_new", str(MAX_NEW_USERS)))
    return result


def apply(session: Session, actor: Actor, content: bytes) -> ImportPlan:
    """Takes the whole file, or (any row wrong) nothing: the plan comes back with `applied` set
    only when every row was written."""
    result = plan(session, actor, content)
    if not result.ok:
        return result
    for row in result.rows:
        if row.new:
            users.create_user(session, row.username, row.password, list(row.groups), email=row.email,
                              display_name=row.display_name or None, actor=actor.username)
            continue
        user = users.find(session, row.username)
        assert user is not None  # planned as existing in this transaction
        before = sorted(user.group_names)
        user.display_name = row.display_name or user.display_name
        user.email = row.email or user.email
        user.groups = [users.ensure_group(session, g) for g in row.groups]
        audit.record(session, "user_updated_by_import", actor.username, username=row.username,
                     before=before, after=sorted(row.groups))
    audit.record(session, "users_imported", actor.username, rows=len(result.rows),
                 created=sum(r.new for r in result.rows), updated=sum(not r.new for r in result.rows))
    result.applied = True
    return result
