"""The answers dumped without marshmallow's per-field calls (web/api/plain_dump.py) are exactly
what the schemas dump: on the task rows, task lines, pages and instances a real run produces,
with empty and absent values, and schemas it cannot follow still go through marshmallow."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import Schema, fields

from engine.core import commands
from engine.core.models import HumanTask
from engine.core.principals import Actor
from engine.runtime import access, instances, tasks
from web.api.plain_dump import plain
from web.api.schemas import DeployedOut, InstanceOut, TaskDetailOut, TaskOut, TaskPage
from web.api.serialize import instance_dict

SIMPLE = ("bpmn/simple_review.bpmn", "forms/simple_decision.form")


def test_tasks_pages_and_instances_dump_as_the_schemas_do(api, deploy, db):
    deploy(*SIMPLE)
    applicant = api("applicant")
    status, started = applicant.post("/process-instances", {"process_key": "simple_review", "data": {"title": "Solar"}})
    assert status == 201, started
    reviewer = api("rita", ["reviewers"])
    task_id = started["tasks"][0]["id"]
    assert reviewer.post(f"/tasks/{task_id}/claim")[0] == 200
    rita = Actor("rita", frozenset({"reviewers"}))

    def compare(session):  # type: ignore[no-untyped-def]
        rows = list(session.query(HumanTask))
        assert rows
        for row in rows:
            assert plain(TaskOut())(row) == TaskOut().dump(row)
        page = tasks.list_tasks(session, rita, "assigned")
        assert page.items and plain(TaskPage())(page) == TaskPage().dump(page)
        empty = tasks.list_tasks(session, rita, "completed")
        assert plain(TaskPage())(empty) == TaskPage().dump(empty)
        instance = instances.get(session, started["id"])
        view = access.view_of(session, rita, instance)
        lines = view.task_lines(view.open_tasks())
        assert lines
        for line in lines:
            assert plain(TaskOut())(line) == TaskOut().dump(line)
        shown = {"id": instance.id, "process_key": instance.process_key, "version": instance.version,
                 "state": instance.state, "data": view.data(instances.data_of(instance)), "tasks": lines,
                 "started_by": instance.started_by, "started_at": instance.started_at, "error": None,
                 "business_key": instance.business_key}
        for variant in (shown, {**shown, "error": {"element_id": "x", "message": "m"}, "business_key": "B-1"},
                        {k: v for k, v in shown.items() if k not in ("error", "started_at")}):
            out, expected = plain(InstanceOut())(variant), InstanceOut().dump(variant)
            assert out == expected and list(out) == list(expected)
        assert instance_dict(session, instance, rita) == InstanceOut().dump({**shown, "tasks": lines})

    commands.query(db, compare)


def test_absent_and_empty_values_and_key_order_match():
    moment = datetime(2026, 12, 3, 18, 0, tzinfo=timezone.utc)
    sparse = {"id": "t1", "process_instance_id": "7", "candidate_groups": ("b", "a"), "created_at": moment,
              "due_at": None, "assignee": None, "candidate_users": [], "title": b"bytes"}
    out, expected = plain(TaskOut())(sparse), TaskOut().dump(sparse)
    assert out == expected and list(out) == list(expected)
    detail = {**sparse, "form": None, "data": {"a": 1}}
    assert plain(TaskDetailOut())(detail) == TaskDetailOut().dump(detail)


def test_schemas_outside_the_plain_kinds_are_dumped_by_marshmallow():
    schema = DeployedOut()  # a post_dump hook
    assert plain(schema) == schema.dump

    class Renamed(Schema):
        name = fields.String(data_key="title")

    class Email(Schema):
        address = fields.Email()

    for other in (Renamed(), Email(), TaskOut(only=("id",)), TaskOut(many=True)):
        assert plain(other) == other.dump
