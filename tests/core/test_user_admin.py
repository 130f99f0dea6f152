"""Rules of user administration (engine/core/user_admin.py) and the Excel import
(engine/core/user_import.py), on the real database."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from engine.core import clock, commands, sign_in, user_admin, user_import, users
from engine.core.errors import Forbidden, InvalidData, Unauthorized
from engine.core.models import AuditEvent, User
from engine.core.principals import Actor

ADMIN = Actor("root", frozenset({"admins"}))
GOOD = "Quiet-river-2026"


def audit_actions(db) -> list[str]:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id))))


def workbook(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["用户名 username", "姓名 display_name", "邮箱 email", "用户组 groups", "初始密码 password"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_only_admins_list_or_change_users(db, make_user):
    make_user("li.na", ["applicants"])
    with pytest.raises(Forbidden):
        commands.query(db, user_admin.list_users, Actor("zhao", frozenset({"supervisors"})))
    with pytest.raises(Forbidden):
        commands.execute(db, user_admin.set_active, Actor("zhao", frozenset({"supervisors"})), "li.na", False)


def test_the_list_searches_filters_by_group_and_pages(db, make_user):
    for n in range(30):
        make_user(f"expert{n:02d}", ["experts"])
    make_user("li.na", ["applicants"])
    page = commands.query(db, user_admin.list_users, ADMIN, group="experts", page=2)
    assert page.total == 30 and page.pages == 2 and [r.username for r in page.rows][0] == "expert25"
    assert [r.username for r in commands.query(db, user_admin.list_users, ADMIN, q="LI.N").rows] == ["li.na"]


def test_a_created_user_obeys_the_password_policy_and_is_audited(db):
    with pytest.raises(InvalidData) as refused:
        commands.execute(db, user_admin.create, ADMIN, "wang.fang", "short", groups=["experts"])
    assert "password" in refused.value.fields
    with pytest.raises(InvalidData):
        commands.execute(db, user_admin.create, ADMIN, "wang.fang", GOOD, groups=["no_such_group"])
    row = commands.execute(db, user_admin.create, ADMIN, "wang.fang", GOOD, "王芳", groups=["experts"])
    assert row.groups == ("experts",) and row.display_name == "王芳"
    assert "user_created" in audit_actions(db)


def test_a_deactivated_user_cannot_sign_in_nor_use_a_token_and_comes_back_when_reactivated(db, make_user):
    make_user("li.na", ["applicants"])
    user = commands.query(db, users.find, "li.na")
    token, _ = commands.execute(db, lambda s: users.issue_token(s, users.find(s, "li.na")))
    commands.execute(db, user_admin.set_active, ADMIN, "li.na", False)
    assert not commands.execute(db, sign_in.attempt, "li.na", "pw-secret", "10.0.0.1").user
    with pytest.raises(Unauthorized):
        commands.query(db, users.user_for_token, token)
    commands.execute(db, user_admin.set_active, ADMIN, "li.na", True)
    assert commands.execute(db, sign_in.attempt, "li.na", "pw-secret", "10.0.0.2").user is not None
    assert user is not None and audit_actions(db)[-2:] == ["user_deactivated", "user_reactivated"]


def test_admins_cannot_deactivate_themselves_nor_leave_admins(db, make_user):
    make_user("root", ["admins"])
    with pytest.raises(InvalidData):
        commands.execute(db, user_admin.set_active, ADMIN, "root", False)
    with pytest.raises(InvalidData):
        commands.execute(db, user_admin.set_groups, ADMIN, "root", ["supervisors"])


def test_a_password_reset_needs_a_reason_and_the_policy_and_ends_the_tokens(db, make_user):
    make_user("li.na", ["applicants"])
    token, _ = commands.execute(db, lambda s: users.issue_token(s, users.find(s, "li.na")))
    with pytest.raises(InvalidData):
        commands.execute(db, user_admin.reset_password, ADMIN, "li.na", GOOD, "  ")
    with pytest.raises(InvalidData):
        commands.execute(db, user_admin.reset_password, ADMIN, "li.na", "li.na-long-password", "forgot")
    commands.execute(db, user_admin.reset_password, ADMIN, "li.na", GOOD, "forgot it on holiday")
    with pytest.raises(Unauthorized):
        commands.query(db, users.user_for_token, token)
    event = commands.query(db, lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "password_reset")).one())
    assert event.details == {"username": "li.na", "reason": "forgot it on holiday"}


def test_groups_are_set_and_audited_with_before_and_after(db, make_user):
    make_user("li.na", ["applicants"])
    row = commands.execute(db, user_admin.set_groups, ADMIN, "li.na", ["experts", "applicants"])
    assert row.groups == ("applicants", "experts")
    event = commands.query(db, lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "user_groups_set")).one())
    assert event.details["before"] == ["applicants"] and event.details["after"] == ["applicants", "experts"]


def test_a_revoked_token_stops_working_at_once(db, make_user):
    make_user("robot", ["integrations"])
    token, row = commands.execute(db, user_admin.issue_long_lived, ADMIN, "robot", "OA system",
                                  clock.now().date() + timedelta(days=365))
    assert commands.query(db, users.user_for_token, token).username == "robot"
    listed = commands.query(db, user_admin.tokens, ADMIN, "robot")
    assert [(t.name, t.long_lived) for t in listed] == [("OA system", True)]
    commands.execute(db, user_admin.revoke_token, ADMIN, "robot", row.handle)
    with pytest.raises(Unauthorized):
        commands.query(db, users.user_for_token, token)
    assert commands.query(db, user_admin.tokens, ADMIN, "robot") == []
    assert audit_actions(db)[-2:] == ["token_issued", "token_revoked"]


def test_long_lived_tokens_are_for_integrations_with_a_bounded_expiry(db, make_user):
    make_user("li.na", ["applicants"])
    make_user("robot", ["integrations"])
    with pytest.raises(InvalidData) as refused:
        commands.execute(db, user_admin.issue_long_lived, ADMIN, "li.na", "x", clock.now().date() + timedelta(days=5))
    assert "username" in refused.value.fields
    with pytest.raises(InvalidData) as refused:
        commands.execute(db, user_admin.issue_long_lived, ADMIN, "robot", "x", clock.now().date() + timedelta(days=800))
    assert "expires_on" in refused.value.fields


def test_an_import_with_a_bad_row_writes_nothing_and_names_the_row(db, make_user):
    make_user("li.na", ["applicants"])
    content = workbook(["wang.fang", "王芳", "wang@example.cn", "评审专家", GOOD],
                       ["li.na", "李娜", "", "applicants, experts", ""],
                       ["zhou.bo", "周波", "not-an-email", "experts", "password"])
    preview = commands.query(db, user_import.plan, ADMIN, content)
    assert {(e.row, e.field, e.code) for e in preview.errors} == {
        (4, "email", "email_invalid"), (4, "password", "password_policy")}
    assert preview.rows[0].groups == ("experts",) and preview.rows[1].new is False
    refused = commands.execute(db, user_import.apply, ADMIN, content)
    assert not refused.applied and commands.query(db, users.find, "wang.fang") is None


def test_a_corrected_import_is_taken_whole(db, make_user):
    make_user("li.na", ["applicants"])
    content = workbook(["wang.fang", "王芳", "wang@example.cn", "评审专家", GOOD],
                       ["li.na", "李娜", "", "applicants, experts", ""])
    assert commands.execute(db, user_import.apply, ADMIN, content).applied
    people = commands.query(db, lambda s: {u.username: sorted(u.group_names) for u in s.scalars(select(User))})
    assert people == {"wang.fang": ["experts"], "li.na": ["applicants", "experts"]}
    assert "users_imported" in audit_actions(db)


def test_an_import_names_duplicates_unknown_groups_and_refuses_a_non_workbook(db):
    content = workbook(["a.b", "", "", "experts", GOOD], ["a.b", "", "", "wizards", GOOD])
    codes = [(e.row, e.code, e.detail) for e in commands.query(db, user_import.plan, ADMIN, content).errors]
    assert codes == [(3, "duplicate_in_file", "2"), (3, "group_unknown", "wizards")]
    with pytest.raises(InvalidData):
        commands.query(db, user_import.plan, ADMIN, b"not a workbook")


def test_the_template_reads_back_as_a_valid_plan(db):
    rows = commands.query(db, user_import.plan, ADMIN, user_import.template())
    assert rows.ok and rows.rows[0].username == "wang.fang"


def test_a_file_creates_at_most_a_hundred_users_and_names_the_first_row_over(db):
    content = workbook(*[[f"user{n}", "", "", "experts", GOOD] for n in range(101)])
    errors = commands.query(db, user_import.plan, ADMIN, content).errors
    assert [(e.row, e.code, e.detail) for e in errors] == [(102, "too_many_new", "100")]
