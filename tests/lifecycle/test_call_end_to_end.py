"""A call for proposals from publication to contracts, on the real processes (issue 16's "done
when"): applications come in under the call and a late one is refused; the deadline closes it;
the batch passes formal review; a meeting panel (key R&D) and a mail panel (natural science)
review their groups, every member scoring every project and each chair summing up; the proposal
fits each category's budget and a funded item over budget is refused; ONE collective decision for
the batch changes one item with a reason; ONE public notice runs 5 working days with one
objection; then each project's lifecycle goes on: the funded ones to their contracts, the
reserved one to the reserve."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from engine.core import clock, commands
from engine.core.calendar import BUREAU_TZ, add_working_days
from engine.core.errors import InvalidData
from engine.core.models import HumanTask, ProcessInstance
from engine.demo import playback
from engine.runtime import instances, tasks
from engine.workspace import call_desk
from tests.lifecycle.test_establishment_review import OBJECTION
from tests.lifecycle.world import APPLICANT, APPLICATION, BUREAU, STAFF, Driver, sh

CALL = {"key": "2026-2", "title": "2026年度第二批科技计划项目申报指南", "year": 2026,
        "opens_at": "2026-03-02T09:00:00+08:00", "closes_at": "2026-03-10T17:00:00+08:00",
        "categories": [{"code": "natural_science", "name": "自然科学基金", "budget": 2_000_000, "topics": ["先进材料"]},
                       {"code": "key_rd", "name": "重点研发计划", "budget": 3_000_000, "topics": ["先进材料"]}],
        "quotas": {"binjiang": 10}, "eligibility": {"budget_min": 10, "budget_max": 300}}
APPLICATIONS = [
    ("natural_science", 120, "海水淡化膜材料的界面调控", "研究反渗透膜表面电荷与污染机理，提出抗污染改性方法并完成中试验证。"),
    ("natural_science", 100, "固态电解质界面稳定性机理", "揭示硫化物固态电解质与锂负极界面副反应机制，提出界面修饰策略。"),
    ("key_rd", 150, "航空发动机叶片增材修复装备", "研制叶片损伤激光熔覆修复装备与工艺，完成典型叶片修复验证。"),
    ("key_rd", 90, "再生铝合金高值化利用技术", "开发废铝保级再生除杂与成分调控技术，形成汽车用再生铝合金产品。"),
]


def _call_instance(db: Any) -> ProcessInstance:
    return commands.query(db, lambda s: s.query(ProcessInstance).filter_by(
        process_key="call_for_proposals", business_key=CALL["key"]).one())


def _open(db: Any, name: str | None = None) -> list[HumanTask]:
    rows = commands.query(db, tasks.open_tasks, _call_instance(db).id)
    return [r for r in rows if name is None or r.name == name]


def _work(db: Any, name: str, answer: Any, at: datetime) -> int:
    """Every open task of that name in the call's batch, answered as the person it is for."""
    rows = _open(db, name)
    for n, row in enumerate(rows):
        playback.complete(db, row, answer(n, row), at)
    return len(rows)


def _scores(n: int, row: HumanTask) -> dict[str, Any]:
    return playback.SCORES | {"innovation": 27 - n % 3, "expert_opinion": "创新性较强，技术路线可行"}


def test_a_call_runs_from_publication_through_one_batch_decision_to_contracts(world):
    # given a published call and four applications under it, two per category
    with clock.frozen_at(sh(2026, 3, 2)):
        commands.execute(world, call_desk.create, STAFF, CALL)
        commands.execute(world, call_desk.publish, STAFF, CALL["key"])
    apps = []
    for n, (category, budget, title, abstract) in enumerate(APPLICATIONS):
        d = Driver(world, sh(2026, 3, 3, 9 + n))
        with d.at():
            d.instance_id = commands.execute(world, call_desk.submit, APPLICANT, CALL["key"], APPLICATION | {
                "plan_category": category, "budget": budget, "title": title, "abstract": abstract}, "先进材料").id
        d.endorse()
        apps.append(d)
    # the deadline closes the call; a late application is refused with the date and starts nothing
    Driver(world, sh(2026, 3, 10, 17, 1)).tick()
    with clock.frozen_at(sh(2026, 3, 11, 9)), pytest.raises(InvalidData) as late:
        commands.execute(world, call_desk.submit, APPLICANT, CALL["key"], APPLICATION | {"title": "迟到的申报"}, "先进材料")
    assert "截止" in str(late.value.fields) and "2026-03-10" in str(late.value.fields)
    # the batch passes formal review; the next working day the call hands it to its panels
    for d in apps:
        d.at_time(sh(2026, 3, 11, 10)).formal_review()
    Driver(world, sh(2026, 3, 12, 10, 1)).tick()
    # the meeting panel's session is scheduled by the institution
    session_at = datetime.combine(add_working_days(sh(2026, 3, 12), 5).astimezone(BUREAU_TZ).date(),
                                  datetime.min.time(), tzinfo=BUREAU_TZ) + timedelta(hours=9)
    assert _work(world, "schedule_session", lambda n, row: {
        "session_kind": "on_site", "session_start": session_at.isoformat(), "session_place": "市科技局三楼会议室",
        "defence_minutes": 20}, sh(2026, 3, 12, 11)) == 1
    Driver(world, session_at + timedelta(minutes=1)).tick()
    # every member scores every project of their group: 7 x 2 in the meeting, 5 x 2 by mail
    scoring = _open(world, "batch_scoring")
    assert len(scoring) == 7 * 2 + 5 * 2 and len({r.assignee for r in scoring}) == 12
    at = session_at + timedelta(hours=2)
    _work(world, "batch_scoring", _scores, at)
    # each chair sums up per project, seeing the members' scores
    assert _work(world, "chair_summary", lambda n, row: {"chair_summary": "答辩清楚，技术路线可行，建议支持"}, at) >= 2
    # the proposal: one per category ranked within its budget; the institution keeps it as proposed
    [review] = _open(world, "institution_review")
    playback.complete(world, review, playback.batch_answer(world, review), at)
    # ONE collective decision: funding the natural-science reserve too is over budget and refused ...
    [decision] = _open(world, "collective_decision")
    data = commands.query(world, lambda s: instances.data_of(instances.get(s, decision.process_instance_id)))
    items = data["decision_items"]
    rows = [{"result": r["result"], "amount": r["amount"], "change_reason": ""} for r in items]
    by_category = {}
    for n, item in enumerate(items):
        by_category.setdefault({"重点研发计划": "key_rd", "自然科学基金": "natural_science"}[item["category_name"]], []).append((n, item))
    assert [i["result"] for _, i in by_category["key_rd"]] == ["funded", "funded"]
    assert sorted(i["result"] for _, i in by_category["natural_science"]) == ["funded", "reserve"]
    reserve_row = next(n for n, i in by_category["natural_science"] if i["result"] == "reserve")
    over = [dict(r) for r in rows]
    over[reserve_row] = {"result": "funded", "amount": items[reserve_row]["requested_funding"], "change_reason": "产业急需"}
    meeting = {"decision_meeting": "bureau_meeting", "decision_date": "2026-03-25", "collective_decision": "change_items"}
    with clock.frozen_at(at), pytest.raises(InvalidData) as refused:
        commands.execute(world, tasks.complete, BUREAU, decision.id, meeting | {"decision_items": over})
    assert "自然科学基金" in str(refused.value.fields)
    # ... lowering a key R&D item with a reason is taken
    lowered = by_category["key_rd"][-1][0]
    rows[lowered] = {"result": "funded", "amount": 800_000, "change_reason": "压减预算"}
    with clock.frozen_at(at):
        commands.execute(world, tasks.complete, BUREAU, decision.id, meeting | {"decision_items": rows})
    # ONE public notice for the batch, with one objection, dismissed after verification
    [notice] = _open(world, "notice_objections")
    objected = items[0]["project_id"]
    playback.complete(world, notice, OBJECTION | {"objection_project_id": objected}, at, STAFF)
    [verify] = _open(world, "verify_objection")
    playback.complete(world, verify, {"verification_conclusion": "dismissed", "verification_findings": "经核查不属实"},
                      at, BUREAU)
    notice_ends = add_working_days(at, 5) + timedelta(minutes=1)
    Driver(world, notice_ends).tick()
    assert _call_instance(world).state == "completed"
    # then every project goes on with the batch's decision: contracts for the funded, the reserve for one
    statuses = sorted(d.project()["status"] for d in apps)
    assert statuses == ["established", "established", "established", "reserved"]
    funded = [d for d in apps if d.project()["status"] == "established"]
    assert all(d.names() == ["draft_contract"] for d in funded)
    lowered_project = items[lowered]["project_id"]
    assert any(d.project()["approved_funding"] == 80.0 for d in funded if d.data()["project_id"] == lowered_project)
