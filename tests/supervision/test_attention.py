"""The attention list: every kind of stuck work, made for real, shows up with its age, stage,
project and who it waits for; filters, sorting and the CSV/Excel exports."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import select

from engine.supervision import attention, exports
from engine.core import clock, commands
from engine.core.errors import Forbidden, InvalidData
from engine.core.models import User

from .helpers import APPLICANT, BOSS, MONDAY, OFFICER, complete, plan, start

LATER = MONDAY + timedelta(days=15)  # Tuesday two weeks on: 11 working days after MONDAY


def _items(db, at=LATER, **filters):  # type: ignore[no-untyped-def]
    with clock.frozen_at(at):
        items, counts = commands.query(db, attention.collect, BOSS, attention.Filters(**filters))
    return items, counts


def _by_kind(items, instance_id):  # type: ignore[no-untyped-def]
    return {i.kind: i for i in items if i.instance_id == instance_id}


@pytest.fixture
def stuck(processes):  # type: ignore[no-untyped-def]
    """Four instances, each stuck in its own way, all started on MONDAY."""
    db = processes
    failing = start(db, "grant", {"title": "Quantum sensors"})
    complete(db, failing, plan("Quantum sensors", years=0), MONDAY + timedelta(hours=1))
    orphan = start(db, "grant", {"title": "Nobody approves"})
    complete(db, orphan, plan("Nobody approves", approvers="ghosts"), MONDAY + timedelta(hours=1))
    waiting = start(db, "grant", {"title": "Left waiting"})
    notice = start(db, "notice", {"title": "Notice of results"})
    return {"failing": failing, "orphan": orphan, "waiting": waiting, "notice": notice}


def test_a_script_that_raises_is_listed_with_its_element_and_message(stuck, processes):
    # given a grant whose budget script divided by zero years
    items, _ = _items(processes)
    # then it is listed as an error at the script, waiting for a supervisor
    error = _by_kind(items, stuck["failing"])["error"]
    assert error.element == "per_year" and error.element_name == "Budget per year"
    assert "division by zero" in error.message
    assert error.title == "Quantum sensors" and error.process_key == "grant"
    assert error.waiting_for == ["group:supervisors"]
    assert error.age_days == 11


def test_a_task_nobody_can_take_is_listed_until_someone_can(stuck, processes, make_user):
    # given an approval that went to the group 'ghosts', which has no members
    item = _by_kind(_items(processes)[0], stuck["orphan"])["unassignable"]
    assert item.element == "approve" and item.waiting_for == ["group:ghosts"]
    # when someone joins the group, the task can be taken and leaves the list
    make_user("gina", ["ghosts"])
    assert "unassignable" not in _by_kind(_items(processes)[0], stuck["orphan"])
    # and when she is deactivated, nobody can take it again
    def deactivate(session):  # type: ignore[no-untyped-def]
        session.scalar(select(User).where(User.username == "gina")).active = False
    commands.execute(processes, deactivate)
    assert "unassignable" in _by_kind(_items(processes)[0], stuck["orphan"])


def test_a_task_assigned_to_someone_who_does_not_exist_is_unassignable(processes):
    # given the divide process, whose first task goes to the initiator, started by a user who
    # is not in the user table (a token from before the user was removed)
    ghost_started = start(processes, "divide", actor=APPLICANT.__class__("ghost", frozenset()))
    items, _ = _items(processes)
    assert _by_kind(items, ghost_started)["unassignable"].waiting_for == ["ghost"]


def test_a_timer_due_in_the_past_is_listed_as_waiting_for_the_scheduler(stuck, processes):
    # given a notice whose two-day timer was due on Wednesday, and no scheduler pass since
    items, _ = _items(processes, at=MONDAY + timedelta(days=3))
    timer = _by_kind(items, stuck["notice"])["timer"]
    assert timer.element == "notice_period" and timer.waiting_for == ["scheduler"]
    assert timer.since == MONDAY + timedelta(days=2)
    # and within the grace period it is not listed yet
    items, _ = _items(processes, at=MONDAY + timedelta(days=2, minutes=30))
    assert "timer" not in _by_kind(items, stuck["notice"])


def test_an_overdue_task_is_listed_with_who_it_waits_for(stuck, processes):
    items, _ = _items(processes)
    overdue = _by_kind(items, stuck["waiting"])["overdue"]
    assert overdue.element == "plan_budget" and overdue.waiting_for == ["group:officers"]
    assert overdue.since == MONDAY + timedelta(days=5)
    assert overdue.task_id is not None


def test_an_instance_without_progress_for_n_working_days_is_quiet(stuck, processes):
    # 11 working days after MONDAY: quiet with the default of 10, not with 12
    assert "quiet" in _by_kind(_items(processes)[0], stuck["waiting"])
    assert "quiet" not in _by_kind(_items(processes, quiet_days=12)[0], stuck["waiting"])
    # a week later only 5 working days have passed: not quiet
    assert "quiet" not in _by_kind(_items(processes, at=MONDAY + timedelta(days=7))[0], stuck["waiting"])


def test_an_instance_waiting_for_a_future_timer_is_not_quiet(processes):
    notice = start(processes, "notice", {"title": "Long notice"})
    items, _ = _items(processes, at=MONDAY + timedelta(days=1), quiet_days=1)
    assert "quiet" not in _by_kind(items, notice)


def test_filters_sorting_and_counts(stuck, processes):
    # sorted oldest first by default
    items, counts = _items(processes)
    assert [i.since for i in items] == sorted(i.since for i in items)
    assert counts == {"error": 1, "overdue": 1, "unassignable": 1, "quiet": 3, "timer": 1}
    # by kind, keeping the counts of every kind
    items, counts = _items(processes, kinds=("overdue", "error"))
    assert {i.kind for i in items} == {"overdue", "error"} and counts["quiet"] == 3
    # by who it waits for, by title, by process, by element
    assert {i.instance_id for i in _items(processes, waiting_for="officers")[0]} == {stuck["waiting"]}
    assert {i.instance_id for i in _items(processes, q="nobody")[0]} == {stuck["orphan"]}
    assert {i.process_key for i in _items(processes, process_key="notice")[0]} == {"notice"}
    assert {i.kind for i in _items(processes, element="approve")[0]} == {"unassignable", "quiet"}
    # by age in working days: only the overdue task is younger than 11 working days
    assert "overdue" not in {i.kind for i in _items(processes, min_age_days=11)[0]}
    # by title, alphabetically
    titles = [i.title for i in _items(processes, sort="title")[0]]
    assert titles == sorted(titles)


def test_bad_filters_are_refused_and_only_supervisors_see_the_list(processes):
    with pytest.raises(InvalidData) as error:
        commands.query(processes, attention.collect, BOSS, attention.Filters(kinds=("lost",), sort="x"))
    assert set(error.value.fields) == {"kinds", "sort"}
    with pytest.raises(Forbidden):
        commands.query(processes, attention.collect, OFFICER, attention.Filters())


def test_the_list_exports_to_csv_and_excel(stuck, processes):
    # given a project title that a spreadsheet would take for a formula
    formula = start(processes, "grant", {"title": "=HYPERLINK(\"http://x\")"})
    items, _ = _items(processes)
    # CSV: UTF-8 with a BOM, a Chinese header, one row per item, formulas defused
    content, mime, ext = exports.attention_file(items, "csv")
    assert content.startswith("\ufeff".encode()) and ext == "csv" and mime.startswith("text/csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["类型", "流程实例", "流程", "项目名称"] and len(rows) == len(items) + 1
    assert rows[0][-1] == "阶段" and all(r[-1] for r in rows[1:])
    assert any(r[3] == "'=HYPERLINK(\"http://x\")" for r in rows if r[1] == str(formula))
    # Excel: the same rows, dates as real dates in bureau time
    content, _, ext = exports.attention_file(items, "xlsx", "en")
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    values = list(sheet.values)
    assert values[0][0] == "Kind" and len(values) == len(items) + 1
    first = values[1]
    assert first[1] == items[0].instance_id
    assert first[6] == items[0].since.astimezone(exports.BUREAU_TZ).replace(tzinfo=None)
