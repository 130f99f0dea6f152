"""The bureau's one collective decision over a call's batch, in Chinese, at desktop (1366) and
phone (390) size: the list shows each project's title, rank, score and proposed result in rows
that cannot be added or removed; funding a reserved project over the category's budget is refused
with the category and the figures named in Chinese, what was typed kept; with a reason and room
made it is decided; the batch documents are offered beside the form and download as PDF; and an
applicant under the call finds the public notice, and only it, on their own application."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.core import commands, users
from engine.core.principals import Actor
from engine.definitions import deployment
from engine.definitions.validation import collect_paths
from engine.runtime import instances, tasks
from tests.conftest import ROOT
from tests.lifecycle.batch_data import batch_input

from .conftest import PASSWORD, actor, sign_in

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
FILES = ([str(ROOT / "processes" / name) for name in ("batch_decision.bpmn", "establishment_score_band.dmn")]
         + [str(ROOT / "forms" / f"{name}.form") for name in ("batch_proposal_review", "batch_collective_decision",
                                                              "batch_objection_record", "objection_verification")])
BUREAU = Actor("guo", frozenset({"bureau_staff"}))


@pytest.fixture
def batch_at_decision(db, people, password_hash, monkeypatch):  # type: ignore[no-untyped-def]
    commands.execute(db, deployment.deploy, collect_paths(FILES), "test")
    monkeypatch.setattr(users, "generate_password_hash", lambda password: password_hash)
    commands.execute(db, users.create_user, "guo", PASSWORD, ["bureau_staff"], None, None, "Guo",
                     password_policy=False)
    monkeypatch.undo()
    instance = commands.execute(db, instances.start, actor("zhao"), "batch_decision", batch_input())
    review = commands.query(db, tasks.open_tasks, instance.id)[0]
    offered = commands.query(db, lambda s: instances.data_of(instances.get(s, instance.id)))["proposal_items"]
    keep = [{"result": r["result"], "amount": r["amount"], "change_reason": ""} for r in offered]
    commands.execute(db, tasks.complete, actor("wang"), review.id, {"proposal_items": keep})
    decision = commands.query(db, tasks.open_tasks, instance.id)[0]
    commands.execute(db, tasks.claim, BUREAU, decision.id)
    return instance.id, decision.id


@pytest.mark.parametrize("size", list(SIZES))
def test_the_bureau_decides_the_batch_once_in_chinese_with_a_change_and_a_reason(page, db, batch_at_decision, size):
    instance_id, task_id = batch_at_decision
    page.set_viewport_size(SIZES[size])
    sign_in(page, "guo")
    page.goto(f"/tasks/{task_id}")
    # then the whole list is one form, in Chinese, one fixed row per project
    expect(page.locator("h1")).to_contain_text("集体决策")
    rows = page.locator("[data-list='decision_items'] .list-row")
    expect(rows).to_have_count(6)
    expect(page.locator("[name='decision_items.0.title']")).to_have_value("高熵合金激光增材制造工艺研究")
    expect(page.locator("[name='decision_items.2.score']")).to_have_value("83")
    expect(page.locator("[data-list='decision_items'] [data-add-row]")).to_have_count(0)
    expect(page.locator("[data-list='decision_items'] [data-remove-row]")).to_have_count(0)
    expect(page.locator("#batch-documents")).to_contain_text("立项建议排序名单")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # when the bureau funds the reserved third project too, with a reason, over key_rd's budget
    page.select_option("select[name=decision_meeting]", "bureau_meeting")
    page.fill("input[name=decision_date]", "2026-03-04")
    page.check("input[name=collective_decision][value=change_items]")
    page.select_option("select[name='decision_items.2.result']", "funded")
    page.fill("input[name='decision_items.2.amount']", "300000")
    page.fill("input[name='decision_items.2.change_reason']", "产业急需，予以支持")
    page.click("#complete-button")
    # then it is refused with the category and the figures, in Chinese only, and the rows keep their titles
    error = page.locator("[data-list='decision_items'] .field-error").first
    expect(error).to_contain_text("重点研发")
    expect(error).to_contain_text("1,200,000.00")
    expect(error).not_to_contain_text("exceeds")
    expect(page.locator("[name='decision_items.2.title']")).to_have_value("碳纤维复合材料回收技术")
    expect(page.locator("input[name='decision_items.2.change_reason']")).to_have_value("产业急需，予以支持")
    # when room is made by lowering the second project, with a reason
    page.fill("input[name='decision_items.1.amount']", "100000")
    page.fill("input[name='decision_items.1.change_reason']", "压减预算")
    page.click("#complete-button")
    expect(page.locator(".flash-success")).to_contain_text("已完成")
    data = commands.query(db, lambda s: instances.data_of(instances.get(s, instance_id)))
    decided = {i["project_id"]: i for i in data["proposal"]}
    assert decided[3]["result"] == "funded" and decided[2]["amount"] == 100_000
    # and the ranked list downloads as a PDF
    response = page.request.get(f"/batches/{instance_id}/ranked_list.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF")


def test_an_applicant_under_the_call_finds_the_public_notice_on_their_own_application_and_nothing_else(
        page, db, people):
    # given a batch in its notice whose projects are zhang's, under the call 2027-1
    commands.execute(db, deployment.deploy, collect_paths(FILES), "test")
    data = batch_input()
    data["projects"] = [{**p, "applicant": "zhang"} for p in data["projects"]]
    batch = commands.execute(db, instances.start, actor("zhao"), "batch_decision", data, "2027-1")
    for name, who in (("institution_review", actor("wang")), ("collective_decision", BUREAU)):
        [row] = commands.query(db, tasks.open_tasks, batch.id)
        current = commands.query(db, lambda s: instances.data_of(instances.get(s, batch.id)))
        key = "proposal_items" if name == "institution_review" else "decision_items"
        rows = [{"result": r["result"], "amount": r["amount"], "change_reason": ""} for r in current[key]]
        extra = {} if key == "proposal_items" else {"decision_meeting": "bureau_meeting", "decision_date": "2026-03-04",
                                                    "collective_decision": "approve_all"}
        commands.execute(db, tasks.complete, who, row.id, {key: rows, **extra})
    # and zhang's own application, made under that call
    own = commands.execute(db, instances.start, actor("zhang"), "expert_scoring",
                           {"expert": "zhou", "title": "高熵合金激光增材制造工艺研究", "call_key": "2027-1"})
    sign_in(page, "zhang")
    page.goto(f"/instances/{own.id}")
    # then the notice is offered there, and only the notice
    card = page.locator("#batch-documents")
    expect(card).to_contain_text("拟立项项目公示")
    expect(card).not_to_contain_text("排序名单")
    assert page.request.get(f"/batches/{batch.id}/public_notice.pdf").status == 200
    assert page.request.get(f"/batches/{batch.id}/ranked_list.xlsx").status == 403
