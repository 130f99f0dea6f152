"""/api/v1/calls (issue 16): institution staff create a call (bad fields named, 422, nothing
created), publish it (its process starts), extend it with a reason and close it; staff and
supervisors read the list (filtered, sorted, paged) and one call with its standing; applicants
may not."""
from __future__ import annotations

from datetime import timedelta

from engine.core import clock
from tests.lifecycle.world import build_world


def _call(key: str = "2027-1", **changes: object) -> dict:
    return {"key": key, "title": "2027年度第一批科技计划项目申报指南", "year": 2027,
            "closes_at": (clock.now() + timedelta(days=20)).isoformat(),
            "categories": [{"code": "natural_science", "name": "自然科学基金", "budget": 3000000, "topics": ["先进材料"]}],
            "quotas": {"binjiang": 2}} | changes


def test_staff_create_publish_extend_and_close_a_call_and_readers_see_it(api, db):
    build_world(db, experts_per_discipline=3)
    staff, supervisor, applicant = api("wang", ["institution_staff"]), api("zhao", ["supervisors"]), api("li", ["applicants"])
    # a bad call: each field named, nothing created
    status, body = staff.post("/calls", _call(categories=[{"code": "nope", "name": "x", "budget": -5}], year=1800))
    assert status == 422 and {"year", "categories.0.code", "categories.0.budget"} <= set(body["error"]["fields"])
    assert staff.get("/calls")[1]["total"] == 0
    # a good one, then another copied from it
    status, created = staff.post("/calls", _call())
    assert status == 201 and created["status"] == "draft"
    status, copied = staff.post("/calls", {"key": "2027-2", "title": "第二批", "year": 2027, "template": "2027-1"})
    assert status == 201 and copied["categories"] == created["categories"] and copied["closes_at"] is None
    # publish, extend with a reason, close
    assert staff.post("/calls/2027-1/publish")[1]["status"] == "published"
    later = (clock.now() + timedelta(days=30)).isoformat()
    status, body = staff.post("/calls/2027-1/extend", {"closes_at": later, "reason": ""})
    assert status == 422 and "reason" in body["error"]["fields"]
    status, extended = staff.post("/calls/2027-1/extend", {"closes_at": later, "reason": "系统维护 · maintenance"})
    assert status == 200 and extended["extensions"][0]["reason"] == "系统维护 · maintenance"
    assert staff.post("/calls/2027-1/close")[1]["status"] == "closed"
    # readers: the list filtered and sorted, one call with its standing; not applicants
    status, page = supervisor.get("/calls", query_string={"status": "draft", "sort": "key"})
    assert status == 200 and [c["key"] for c in page["items"]] == ["2027-2"]
    status, one = supervisor.get("/calls/2027-1")
    assert status == 200 and one["standing"][0]["code"] == "natural_science" and one["applied"] == 0
    assert applicant.get("/calls")[0] == 403 and applicant.post("/calls", _call("2027-9"))[0] == 403
    assert supervisor.post("/calls/2027-2/publish")[0] == 403
