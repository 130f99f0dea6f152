"""A call's page for institution staff (web/pages/calls.py): extending the deadline needs a reason
(refused on the page, nothing changes), an extension shows in the call's history, closing marks
it closed; a draft's bad fields are named on the editor (422); the list filters by status; bureau
staff read a call but cannot change it."""
from __future__ import annotations

from datetime import timedelta

from engine.core import clock, commands, users
from engine.core.calendar import BUREAU_TZ
from engine.lifecycle import calls
from engine.workspace import call_desk
from tests.lifecycle.world import STAFF, build_world

from .conftest import PASSWORD, csrf_from


def _signed_in(client, name: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD}).status_code == 302
    return client


def _post(client, path: str, data: dict, page: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_from(client.get(page).get_data(as_text=True))} | data)


def test_staff_extend_with_a_reason_and_close_and_bureau_staff_only_read(client, db):
    build_world(db, experts_per_discipline=3)
    for name, groups in (("wang.fang", ["institution_staff"]), ("gao.feng", ["bureau_staff"])):
        commands.execute(db, users.create_user, name, PASSWORD, groups, None, None, name, password_policy=False)
    commands.execute(db, call_desk.create, STAFF, {
        "key": "2027-1", "title": "2027年度第一批科技计划项目申报指南", "year": 2027,
        "closes_at": (clock.now() + timedelta(days=10)).isoformat(),
        "categories": [{"code": "key_rd", "name": "重点研发计划", "budget": 8000000, "topics": []}]})
    commands.execute(db, call_desk.publish, STAFF, "2027-1")
    _signed_in(client, "wang.fang")
    later = (clock.now() + timedelta(days=20)).astimezone(BUREAU_TZ).strftime("%Y-%m-%dT17:00")
    # no reason: told so, nothing changes
    answer = _post(client, "/calls/2027-1/extend", {"closes_at": later, "reason": ""}, "/calls/2027-1")
    assert answer.status_code == 302
    assert "请说明延期原因" in client.get("/calls/2027-1").get_data(as_text=True)
    assert commands.query(db, lambda s: calls.get(s, "2027-1").extensions) == []
    # with a reason: in the history
    _post(client, "/calls/2027-1/extend", {"closes_at": later, "reason": "配合国家指南发布时间"}, "/calls/2027-1")
    page = client.get("/calls/2027-1").get_data(as_text=True)
    assert "配合国家指南发布时间" in page and later.replace("T", " ") in page
    # a draft's bad fields named on the editor
    answer = _post(client, "/calls/new", {"key": "2027-2", "title": "第二批", "year": "2027",
                                           "cat_key_rd_on": "1", "cat_key_rd_name": "重点研发", "cat_key_rd_budget": "-1"},
                   "/calls/new")
    assert answer.status_code == 422 and "重点研发计划, 预算（元）" in answer.get_data(as_text=True)
    assert "categories.0" not in answer.get_data(as_text=True)
    # closing
    _post(client, "/calls/2027-1/close", {}, "/calls/2027-1")
    assert commands.query(db, lambda s: calls.get(s, "2027-1").status) == "closed"
    listed = client.get("/calls?status=closed").get_data(as_text=True)
    assert 'data-call="2027-1"' in listed and 'data-call="2027-1"' not in client.get("/calls?status=draft").get_data(as_text=True)
    # bureau staff read the call, but may not close or extend it
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/calls").get_data(as_text=True))})
    _signed_in(client, "gao.feng")
    assert client.get("/calls/2027-1").status_code == 200
    assert _post(client, "/calls/2027-1/extend", {"closes_at": later, "reason": "x"}, "/calls/2027-1").status_code == 403
