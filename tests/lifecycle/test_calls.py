"""Calls for proposals (issue 16): a call is drafted, published (its process starts), extended
with a reason (the process follows the new date), closed by its deadline; applications are made
under it within its rules (a late one, one over the unit's quota or outside its categories is
refused with the reason and starts nothing); after the deadline the call waits for every formal
review, hands the accepted projects to its batch, and each project's lifecycle goes on with the
batch's decision. (The batch itself, on the
real processes, is tests/lifecycle/test_call_end_to_end.py.)"""
from __future__ import annotations

from typing import Any

import pytest

from engine.core import clock, commands
from engine.core.errors import Conflict, InvalidData
from engine.core.models import ProcessInstance
from engine.lifecycle import calls
from engine.workspace import call_desk
from tests.lifecycle.world import APPLICANT, APPLICATION, STAFF, Driver, sh

CALL = {"key": "2026-1", "title": "2026年度第一批科技计划项目申报指南", "year": 2026,
        "opens_at": "2026-03-02T09:00:00+08:00", "closes_at": "2026-03-10T17:00:00+08:00",
        "categories": [{"code": "natural_science", "name": "自然科学基金", "budget": 3000000,
                        "topics": ["先进材料", "生物医药"]},
                       {"code": "key_rd", "name": "重点研发计划", "budget": 8000000, "topics": []}],
        "quotas": {"binjiang": 3}, "eligibility": {"budget_min": 10, "budget_max": 300}}


def publish(db: Any, at: Any, call: dict[str, Any] | None = None) -> None:
    with clock.frozen_at(at):
        commands.execute(db, call_desk.create, STAFF, call or CALL)
        commands.execute(db, call_desk.publish, STAFF, (call or CALL)["key"])


def call_of(db: Any, key: str = "2026-1") -> dict[str, Any]:
    return commands.query(db, lambda s: calls.get(s, key).to_dict())


def call_process(db: Any, key: str = "2026-1") -> ProcessInstance:
    return commands.query(db, lambda s: s.query(ProcessInstance).filter_by(
        process_key="call_for_proposals", business_key=key).one())


def apply(db: Any, at: Any, topic: str = "先进材料", **changes: Any) -> Driver:
    d = Driver(db, at)
    with d.at():
        d.instance_id = commands.execute(db, call_desk.submit, APPLICANT, "2026-1", APPLICATION | changes, topic).id
    return d


def lifecycles(db: Any) -> int:
    return commands.query(db, lambda s: s.query(ProcessInstance).filter_by(process_key="project_lifecycle").count())


def test_a_published_call_waits_for_its_deadline_and_then_closes(world):
    # given a call published a week before its deadline
    publish(world, sh(2026, 3, 2))
    assert call_of(world)["status"] == "published" and call_process(world).state == "running"
    # when its deadline passes and the scheduler runs
    Driver(world, sh(2026, 3, 10, 16, 59)).tick()
    assert call_of(world)["status"] == "published"
    Driver(world, sh(2026, 3, 10, 17, 1)).tick()
    # then the call is closed and, with no application in it, its process ends
    assert call_of(world)["status"] == "closed"
    assert call_process(world).state == "completed"


def test_an_extension_with_a_reason_moves_the_deadline_and_the_process_follows_it(world):
    publish(world, sh(2026, 3, 2))
    # an extension needs a reason and a later date: otherwise it is refused and changes nothing
    with clock.frozen_at(sh(2026, 3, 5)):
        with pytest.raises(InvalidData) as no_reason:
            commands.execute(world, call_desk.extend, STAFF, "2026-1", sh(2026, 3, 20, 17), " ")
        with pytest.raises(InvalidData) as earlier:
            commands.execute(world, call_desk.extend, STAFF, "2026-1", sh(2026, 3, 9, 17), "系统维护")
        # when the institution extends it with a reason
        commands.execute(world, call_desk.extend, STAFF, "2026-1", sh(2026, 3, 20, 17), "系统维护两天 · system maintenance")
    assert "reason" in no_reason.value.fields and "closes_at" in earlier.value.fields
    history = call_of(world)["extensions"]
    assert [(h["from"][:16], h["to"][:16], h["reason"], h["by"]) for h in history] == [
        ("2026-03-10T17:00", "2026-03-20T17:00", "系统维护两天 · system maintenance", "wang.fang")]
    # then the old deadline passes and the call stays open; at the new one it closes
    Driver(world, sh(2026, 3, 11, 9)).tick()
    assert call_of(world)["status"] == "published" and call_process(world).state == "running"
    Driver(world, sh(2026, 3, 20, 17, 1)).tick()
    assert call_of(world)["status"] == "closed"


def test_closing_early_wakes_the_process_at_once(world):
    publish(world, sh(2026, 3, 2))
    with clock.frozen_at(sh(2026, 3, 4)):
        commands.execute(world, call_desk.close, STAFF, "2026-1")
    assert call_of(world)["status"] == "closed" and call_process(world).state == "completed"


def test_a_late_application_is_refused_with_the_closing_date_and_starts_nothing(world):
    publish(world, sh(2026, 3, 2))
    Driver(world, sh(2026, 3, 10, 17, 1)).tick()
    with pytest.raises(InvalidData) as refused:
        apply(world, sh(2026, 3, 10, 17, 5))
    assert refused.value.fields["call_key"] == ["该指南已于 2026-03-10 17:00 截止 · This call closed on 2026-03-10 17:00"]
    assert lifecycles(world) == 0


def test_the_unit_quota_refuses_the_next_application_and_names_the_unit(world):
    publish(world, sh(2026, 3, 2), CALL | {"quotas": {"binjiang": 1}})
    apply(world, sh(2026, 3, 3))
    assert commands.query(world, calls.quota_use, "2026-1") == {"binjiang": {"quota": 1, "used": 1}}
    with pytest.raises(InvalidData) as refused:
        apply(world, sh(2026, 3, 3, 11), title="另一项申报")
    assert refused.value.fields["organisation"] == [
        "推荐单位「滨江区科技局」在本指南的推荐名额已用完（1 / 1） · "
        "The recommending unit '滨江区科技局' has used its quota in this call (1 / 1)."]
    assert lifecycles(world) == 1


def test_the_call_admits_only_its_categories_topics_and_budget_range(world):
    publish(world, sh(2026, 3, 2))
    with pytest.raises(InvalidData) as refused:
        apply(world, sh(2026, 3, 3), topic="人工智能", budget=500)
    assert set(refused.value.fields) == {"call_topic", "budget"}
    with pytest.raises(InvalidData) as category:
        apply(world, sh(2026, 3, 3), plan_category="soft_science")
    assert "plan_category" in category.value.fields and lifecycles(world) == 0
    # one answer names the form's own errors beside the call's
    with pytest.raises(InvalidData) as both:
        apply(world, sh(2026, 3, 3), topic="人工智能", title="")
    assert {"call_topic", "title"} <= set(both.value.fields)


def test_a_draft_is_edited_with_field_errors_and_a_new_call_copies_its_template(world):
    with clock.frozen_at(sh(2026, 1, 5)):
        commands.execute(world, call_desk.create, STAFF, CALL)
        with pytest.raises(InvalidData) as bad:
            commands.execute(world, call_desk.update, STAFF, "2026-1", {
                "categories": [{"code": "nope", "name": "", "budget": -1}], "closes_at": "2026-03-01T09:00:00+08:00"})
        assert {"categories.0.code", "categories.0.budget", "closes_at"} <= set(bad.value.fields)
        commands.execute(world, call_desk.create, STAFF, {"key": "2026-2", "title": "2026年度第二批申报指南", "year": 2026},
                         "2026-1")
    second = call_of(world, "2026-2")
    assert second["categories"] == CALL["categories"] and second["quotas"] == {"binjiang": 3}
    assert second["closes_at"] is None and second["status"] == "draft"
    with clock.frozen_at(sh(2026, 1, 5)), pytest.raises(InvalidData) as incomplete:
        commands.execute(world, call_desk.publish, STAFF, "2026-2")
    assert "closes_at" in incomplete.value.fields
    # a published call is no longer a draft
    with clock.frozen_at(sh(2026, 3, 2)):
        commands.execute(world, call_desk.publish, STAFF, "2026-1")
        with pytest.raises(Conflict):
            commands.execute(world, call_desk.update, STAFF, "2026-1", {"title": "改名"})


def test_an_application_without_a_call_keeps_the_per_project_review(world):
    d = Driver(world, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION)
    d.endorse()
    d.formal_review()
    assert "invitation" in d.names() and d.project()["call_key"] is None
