"""The inbox query (engine/workspace/inbox.py) as a specification: scopes, filters, search, sorting,
paging, counts, follow-up dates and saved filters, all read from the projection."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.core import clock, commands
from engine.workspace import follow_up, inbox, saved_filters
from engine.runtime import projection, tasks
from engine.core.errors import Forbidden, InvalidData
from engine.core.principals import Actor
from engine.workspace.inbox import InboxQuery

from .conftest import actor, open_task, start_application


def search(db, name: str, **query):  # type: ignore[no-untyped-def]
    return commands.query(db, inbox.search, actor(name), InboxQuery(**query))


def test_group_tasks_list_what_a_reviewer_may_claim_and_assigned_what_they_claimed(db, people):
    # given two applications waiting for the institution
    first, second = start_application(db, title="Alpha project"), start_application(db, title="Beta project")
    # when the reviewer claims the first
    commands.execute(db, tasks.claim, actor("wang"), open_task(db, first.id).id)
    # then it is in "assigned", the other in "group"; an expert sees neither
    assert [r.project for r in search(db, "wang", scope="assigned").rows] == ["Alpha project"]
    assert [r.project for r in search(db, "wang", scope="group").rows] == ["Beta project"]
    assert search(db, "liu", scope="group").total == 0
    assert commands.query(db, inbox.counts, actor("wang")) == {"assigned": 1, "group": 1}
    # and the row carries the stage (the process name) and who it waits for
    row = search(db, "wang", scope="group").rows[0]
    assert row.stage.startswith("申报形式审查") and row.task.candidate_groups == ["institution_staff"]
    assert second.id == row.task.process_instance_id


def test_completed_lists_what_the_reviewer_completed_newest_first(db, people):
    for title in ("Old one", "New one"):
        instance = start_application(db, title=title)
        commands.execute(db, tasks.complete, actor("wang"), open_task(db, instance.id).id, {"decision": "accept"})
    assert [r.project for r in search(db, "wang", scope="completed").rows] == ["New one", "Old one"]
    assert search(db, "chen", scope="completed").total == 0


def test_search_finds_by_project_title_task_name_or_number_and_escapes_wildcards(db, people):
    start_application(db, title="Soil moisture sensing")
    other = start_application(db, title="Sepsis 100% detection")
    assert [r.project for r in search(db, "wang", scope="group", search="MOISTURE").rows] == ["Soil moisture sensing"]
    assert search(db, "wang", scope="group", search="形式审查").total == 2
    assert [r.project for r in search(db, "wang", scope="group", search=f"#{other.id}").rows] == ["Sepsis 100% detection"]
    assert search(db, "wang", scope="group", search="100%").total == 1
    assert search(db, "wang", scope="group", search="%").total == 1


def test_due_filters_split_overdue_due_soon_and_no_due_date(db, people):
    # given one application submitted 20 days ago (its 5-working-day review is overdue) and one now
    with clock.frozen_at(datetime.now(timezone.utc) - timedelta(days=20)):
        start_application(db, title="Late one")
    start_application(db, title="Fresh one")
    assert [r.project for r in search(db, "wang", scope="group", due="overdue").rows] == ["Late one"]
    assert search(db, "wang", scope="group", due="none").total == 0
    # sorted by due date, the overdue one comes first; descending, last
    assert [r.project for r in search(db, "wang", scope="group", sort="due").rows] == ["Late one", "Fresh one"]
    assert [r.project for r in search(db, "wang", scope="group", sort="due", descending=True).rows] == \
        ["Fresh one", "Late one"]


def test_pages_hold_per_page_rows_and_the_total_counts_them_all(db, people):
    for n in range(7):
        start_application(db, title=f"Project {n}")
    first = search(db, "wang", scope="group", sort="project", per_page=3, page=1)
    last = search(db, "wang", scope="group", sort="project", per_page=3, page=3)
    assert first.total == 7 and first.pages == 3
    assert [r.project for r in first.rows] == ["Project 0", "Project 1", "Project 2"]
    assert [r.project for r in last.rows] == ["Project 6"]


def test_filters_by_process_and_task_narrow_the_list(db, people):
    start_application(db)
    assert search(db, "wang", scope="group", process_key="application_formal_review", task_name="formal_review").total == 1
    assert search(db, "wang", scope="group", process_key="something_else").total == 0
    assert search(db, "wang", scope="group", task_name="correct_application").total == 0


def test_an_unknown_scope_sort_or_due_filter_is_refused(db, people):
    for bad in ({"scope": "everything"}, {"sort": "password"}, {"due": "yesterday"}):
        with pytest.raises(InvalidData):
            search(db, "wang", **bad)


def test_a_follow_up_date_is_personal_and_filterable(db, people):
    # given two tasks, one with a follow-up date of today set by wang
    first, second = start_application(db, title="Follow me"), start_application(db, title="Not me")
    task = open_task(db, first.id)
    commands.execute(db, follow_up.set_date, actor("wang"), task.id, date.today().isoformat())
    # then wang's "follow-up due" filter finds it, chen's does not
    rows = search(db, "wang", scope="group", due="follow_up").rows
    assert [r.project for r in rows] == ["Follow me"] and rows[0].follow_up_on == date.today()
    assert search(db, "chen", scope="group", due="follow_up").total == 0
    # and clearing it removes it; a bad date or someone else's task is refused
    commands.execute(db, follow_up.set_date, actor("wang"), task.id, "")
    assert search(db, "wang", scope="group", due="follow_up").total == 0
    with pytest.raises(InvalidData):
        commands.execute(db, follow_up.set_date, actor("wang"), task.id, "next tuesday")
    with pytest.raises(Forbidden):
        commands.execute(db, follow_up.set_date, actor("liu"), task.id, date.today().isoformat())
    assert second.id


def test_saved_filters_keep_only_inbox_parameters_and_belong_to_their_owner(db, people):
    query = InboxQuery(scope="group", due="overdue", search="soil", sort="due", descending=True)
    saved = commands.execute(db, saved_filters.save, actor("wang"), "Overdue soil", query)
    # then it restores the same query, is listed for wang only and can't be read by others
    assert saved.query().due == "overdue" and saved.query().search == "soil" and saved.query().descending
    assert [f.name for f in commands.query(db, saved_filters.listed, actor("wang"))] == ["Overdue soil"]
    assert commands.query(db, saved_filters.listed, actor("chen")) == []
    with pytest.raises(Forbidden):
        commands.query(db, saved_filters.get, actor("chen"), saved.id)
    # saving under the same name replaces it; a blank name is refused
    commands.execute(db, saved_filters.save, actor("wang"), "Overdue soil", InboxQuery(scope="assigned"))
    assert commands.query(db, saved_filters.get, actor("wang"), saved.id).query().scope == "assigned"
    with pytest.raises(InvalidData):
        commands.execute(db, saved_filters.save, actor("wang"), "  ", query)


def test_the_fingerprint_changes_when_a_task_arrives_or_is_claimed(db, people):
    before = commands.query(db, inbox.fingerprint, actor("wang"), "group")
    instance = start_application(db)
    arrived = commands.query(db, inbox.fingerprint, actor("wang"), "group")
    commands.execute(db, tasks.claim, actor("chen"), open_task(db, instance.id).id)
    claimed = commands.query(db, inbox.fingerprint, actor("wang"), "group")
    assert arrived != before and claimed != arrived
    assert claimed == before  # the same (empty) list again: nothing to reload


def test_a_task_in_a_called_stage_process_shows_that_stage(db, people):
    # given a project whose root process calls one process per stage
    from engine.runtime import instances
    instance = commands.execute(db, instances.start, actor("zhang"), "two_stages", {"title": "Staged project"})
    # then its first task is listed under the first stage, not under the root process's name
    [row] = search(db, "wang", scope="group", search="Staged").rows
    assert row.stage == "第一阶段 · Stage one"
    # and after it, the next task is under the second stage
    commands.execute(db, tasks.complete, actor("wang"), row.task.id, {})
    [row] = search(db, "wang", scope="group", search="Staged").rows
    assert (row.task.name, row.stage) == ("second_task", "第二阶段 · Stage two")
    assert instance.id == row.task.process_instance_id


def test_the_page_total_the_menu_count_and_the_fingerprint_agree_on_every_page(db, people):
    # given seven applications waiting for the institution
    for n in range(7):
        start_application(db, title=f"Project {n}")
    wang = actor("wang")

    def page_with_figures(session, page):  # type: ignore[no-untyped-def]
        # one session, as the inbox page asks: the page first, then the menu and the poll
        found = inbox.search(session, wang, InboxQuery(scope="group", per_page=3, page=page))
        return found, inbox.counts(session, wang)["group"], inbox.fingerprint(session, wang, "group")

    alone = commands.query(db, inbox.fingerprint, wang, "group")
    # when the pages are read, the last one and one past it included
    for page, rows in ((1, 3), (3, 1), (4, 0)):
        found, menu, fingerprint = commands.query(db, page_with_figures, page)
        # then each page holds its rows, and its total, the menu count and the fingerprint agree
        # with the figures asked for on their own
        assert (len(found.rows), found.total, menu) == (rows, 7, 7)
        assert fingerprint == alone and alone.startswith("7:")


OFFERED_TWICE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_offered_twice" targetNamespace="http://scitech.example/test">
  <bpmn:process id="offered_twice" name="Offered twice" isExecutable="true">
    <bpmn:startEvent id="ot_start"><bpmn:outgoing>ot1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="look" name="Look" camunda:candidateGroups="institution_staff,experts" camunda:candidateUsers="wang" camunda:dueDate="P3D"><bpmn:incoming>ot1</bpmn:incoming><bpmn:outgoing>ot2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="ot_end"><bpmn:incoming>ot2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="ot1" sourceRef="ot_start" targetRef="look" />
    <bpmn:sequenceFlow id="ot2" sourceRef="look" targetRef="ot_end" />
  </bpmn:process>
</bpmn:definitions>
"""


def _claimable_in_due_order(session, who):  # type: ignore[no-untyped-def]
    """The reference: every open unclaimed task `who` may claim, sorted in Python by the inbox's
    default order (due date, undated last, then creation, then id)."""
    from sqlalchemy import select
    from engine.core.models import HumanTask
    rows = [r for r in session.scalars(select(HumanTask).where(HumanTask.state == "open"))
            if not r.assignee and tasks.is_candidate(r, who)]
    far = datetime.max.replace(tzinfo=timezone.utc)
    return [r.id for r in sorted(rows, key=lambda r: (r.due_at is None, r.due_at or far, r.created_at, r.id))]


def _candidate_rows_match_their_tasks(session) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select
    from engine.core.models import HumanTask, TaskCandidate
    for candidate, task in session.execute(select(TaskCandidate, HumanTask).join(
            HumanTask, HumanTask.id == TaskCandidate.task_id)):
        assert task.state == "open"
        assert (candidate.claimed, candidate.due_at, candidate.created_at, candidate.kind) == \
            (bool(task.assignee), task.due_at, task.created_at,
             projection.kind_of(task.process_key, task.name, task.title)), task.id


def test_the_claimable_page_merges_groups_in_due_order_and_follows_claims_and_reassignments(db, people, tmp_path):
    # given tasks with due dates and without, some offered to two of the reviewer's groups and
    # to the reviewer by name, created at different moments
    from engine.definitions import deployment
    from engine.runtime import instances
    commands.execute(db, deployment.deploy, [("offered_twice.bpmn", OFFERED_TWICE)], "test")
    start = datetime.now(timezone.utc) - timedelta(days=9)
    for n in range(9):
        with clock.frozen_at(start + timedelta(days=n, minutes=n)):
            if n % 3 == 0:
                start_application(db, title=f"Project {n}")
            elif n % 3 == 1:
                commands.execute(db, instances.start, actor("zhang"), "two_stages", {"title": f"Staged {n}"})
            commands.execute(db, instances.start, actor("zhang"), "offered_twice", {})
    wang = Actor("wang", frozenset({"institution_staff", "experts"}))

    def pages(session):  # type: ignore[no-untyped-def]
        found = [inbox.search(session, wang, InboxQuery(scope="group", per_page=4, page=p)) for p in (1, 2, 3, 4)]
        expected = _claimable_in_due_order(session, wang)
        # the task filter offers each (process, task, title) of the claimable tasks once
        choices = {(t.process_key, t.name, t.title) for t in (tasks.get(session, i) for i in expected)}
        assert sorted(inbox.task_names(session, wang, "group")) == sorted(choices)
        return ([r.task.id for page in found for r in page.rows], {page.total for page in found},
                inbox.counts(session, wang)["group"], expected)

    def api_pages(session):  # type: ignore[no-untyped-def]
        found = [tasks.list_tasks(session, wang, "candidate", page=p, per_page=5) for p in (1, 2, 3)]
        return [r.id for page in found for r in page.items], {page.total for page in found}

    listed, totals, menu, expected = commands.query(db, pages)
    # then the pages hold each claimable task once, in due order across the groups
    assert len(expected) == 15 and listed == expected and totals == {15} and menu == 15
    assert commands.query(db, api_pages) == (expected, {15})
    # when one is claimed, another claimed and released, and a third given by a supervisor
    commands.execute(db, tasks.claim, wang, expected[0])
    commands.execute(db, tasks.claim, actor("chen"), expected[1])
    commands.execute(db, tasks.unclaim, actor("chen"), expected[1])
    commands.execute(db, tasks.assign, actor("zhao"), expected[5], "ma")
    # then the claimed and the given ones leave the list and the released one comes back
    listed, totals, menu, now_expected = commands.query(db, pages)
    assert now_expected == [t for t in expected if t not in (expected[0], expected[5])]
    assert listed == now_expected and totals == {13} and menu == 13
    # and every candidate row says what its task says
    commands.query(db, _candidate_rows_match_their_tasks)
    # when a task is completed, it leaves the list with its candidate rows
    looked = commands.query(db, lambda session: [t for t in now_expected if tasks.get(session, t).name == "look"][0])
    commands.execute(db, tasks.complete, wang, looked, {})
    commands.query(db, _candidate_rows_match_their_tasks)
    assert commands.query(db, pages)[0] == [t for t in now_expected if t != looked]
