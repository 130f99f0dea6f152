"""People and groups are named as readers know them (engine/core/names.py): display names for user
names, the declared group names in both languages, a unit's groups after the organisation in the
register, and a readable fallback for whatever is unknown. Lookups are batched and cached per
command's session."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event

from engine.core import commands, names, users
from engine.lifecycle import organisations


def _user(db: Any, username: str, display: str, groups: list[str]) -> None:
    commands.execute(db, users.create_user, username, "pw-secret", groups, display_name=display,
                     password_policy=False)


def test_a_user_name_becomes_the_display_name_and_an_unknown_one_stays_readable(db: Any) -> None:
    _user(db, "zhang.wei", "张伟 Zhang Wei", ["applicants"])
    found = commands.query(db, names.lookup, ["zhang.wei", "nobody.here", None])
    assert found.person("zhang.wei") == "张伟 Zhang Wei"
    assert found.person("nobody.here") == "nobody.here"
    assert found.person(None) == ""


def test_the_bureaus_groups_have_a_name_in_each_language_and_unknown_ids_lose_their_underscores(db: Any) -> None:
    found = commands.query(db, names.lookup, [], ["bureau_staff", "new_review_board"])
    assert found.group("bureau_staff", "zh") == "科技局业务处室"
    assert found.group("bureau_staff", "en") == "Bureau staff"
    assert found.group("institution_staff", "zh_CN") == "项目管理机构"
    assert found.group("new_review_board", "zh") == "new review board"


def test_a_units_groups_are_named_after_the_organisation_in_the_register(db: Any) -> None:
    commands.execute(db, organisations.ensure, "binjiang", "滨江区科技局", "recommender", None)
    found = commands.query(db, names.lookup, [], ["recommender.binjiang", "unit.unknown"])
    assert found.group("recommender.binjiang", "zh") == "滨江区科技局（推荐单位）"
    assert found.group("recommender.binjiang", "en") == "滨江区科技局 (recommending unit)"
    assert found.group("unit.unknown", "zh") == "unknown（科研管理部门）"


def test_candidate_keys_name_people_and_groups(db: Any) -> None:
    _user(db, "gao.feng", "高峰 Gao Feng", ["bureau_staff"])
    found = commands.query(db, names.lookup, ["gao.feng"], [])
    assert found.principal("u:gao.feng") == "高峰 Gao Feng"
    assert found.principal("g:experts", "en") == "Experts"


def test_names_are_looked_up_once_per_command_however_often_asked(db: Any) -> None:
    for i in range(5):
        _user(db, f"user{i}", f"User {i}", [])
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM users" in statement:
            statements.append(statement)

    def ask(session: Any) -> str:
        event.listen(session.get_bind(), "before_cursor_execute", count)
        try:
            names.lookup(session, [f"user{i}" for i in range(5)])
            names.lookup(session, ["user1", "user3"])
            return names.lookup(session, ["user4"]).person("user4")
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", count)

    assert commands.query(db, ask) == "User 4"
    assert len(statements) == 1


def test_a_notification_names_the_holder_by_the_name_stored_with_it() -> None:
    # given an overdue report about a task held by zhang.wei, whose name the scheduler stored
    from engine.notify import texts
    params = {"title": "形式审查 · Formal review", "instance_id": 7, "holder": "zhang.wei",
              "holder_name": "张伟 Zhang Wei", "due_at": "2026-12-01T02:00:00+00:00"}
    # then the text names 张伟, not the user name; older reports without the name keep the user name
    assert "张伟 Zhang Wei" in texts.render("task_overdue_report", params)[1]
    assert "zhang.wei" not in texts.render("task_overdue_report", params)[1]
    older = {k: v for k, v in params.items() if k != "holder_name"}
    assert "zhang.wei" in texts.render("task_overdue_report", older, "en")[1]
