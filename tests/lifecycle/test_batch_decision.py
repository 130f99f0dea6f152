"""batch_decision.bpmn on its own (started with the data the call process hands it): the ranked
proposal reviewed by the institution, one collective decision for the batch with one item changed
with a reason, over-budget completions refused with the field named, one public notice of 5
working days with objections per project, and the `decisions` output of issue 16's interface."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.core.calendar import working_days_between
from engine.core.errors import InvalidData
from engine.runtime import tasks
from tests.conftest import ROOT
from tests.lifecycle.batch_data import batch_input
from tests.lifecycle.test_establishment_review import OBJECTION
from tests.lifecycle.world import BUREAU, STAFF, SUPERVISOR, Driver, sh

DECISION = {"decision_meeting": "bureau_meeting", "decision_date": "2026-03-04", "collective_decision": "approve_all"}


def _started(db) -> Driver:  # type: ignore[no-untyped-def]
    d = Driver(db, sh(2026, 3, 2))
    d.start("batch_decision", batch_input(), actor=SUPERVISOR)
    return d


def _offered(d: Driver, name: str) -> list[dict]:
    return d.data()[{"institution_review": "proposal_items", "collective_decision": "decision_items"}[name]]


def _editable(rows: list[dict]) -> list[dict]:
    """What the browser sends back: the editable fields only (the others are read-only)."""
    return [{"result": r["result"], "amount": r["amount"], "change_reason": r["change_reason"]} for r in rows]


def _refused(d: Driver, name: str, actor, data) -> dict:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidData) as refused:
        d.complete(name, actor, data)
    return refused.value.fields


def test_the_batch_is_ranked_decided_once_with_a_change_noticed_for_5_working_days_and_decisions_come_out(world):
    d = _started(world)
    # then the proposal is ranked per category and waits for the institution's review
    assert d.names() == ["institution_review"]
    proposal = {i["project_id"]: i for i in d.data()["proposal"]}
    assert [proposal[p]["result"] for p in range(1, 7)] == ["funded", "funded", "reserve", "funded", "reserve", "not_funded"]
    assert proposal[1]["band"] == "key_recommend" and proposal[6]["band"] == "reject"  # from the DMN table
    d.complete("institution_review", STAFF, {"proposal_items": _editable(_offered(d, "institution_review"))})
    # ONE collective decision task for the whole batch
    assert d.names() == ["collective_decision"]
    rows = _editable(_offered(d, "collective_decision"))
    # funding project 3 on top would take key_rd to 1,200,000: refused with the category named
    rows[2] = {"result": "funded", "amount": 300_000, "change_reason": "产业急需，予以支持"}
    fields = _refused(d, "collective_decision", BUREAU, {**DECISION, "collective_decision": "change_items",
                                                          "decision_items": rows})
    assert "重点研发" in fields["decision_items"][0] and "1,200,000.00" in fields["decision_items"][0]
    assert d.names() == ["collective_decision"]  # nothing changed
    # lowering project 2 to 100,000 with a reason makes room
    rows[1] = {"result": "funded", "amount": 100_000, "change_reason": "压减预算"}
    d.complete("collective_decision", BUREAU, {**DECISION, "collective_decision": "change_items", "decision_items": rows})
    # one notice for the batch, open for 5 working days
    assert d.names() == ["notice_objections"]
    notice = d.task("notice_objections")
    assert working_days_between(notice.created_at, notice.due_at) == 5
    # an objection against project 4 is recorded and upheld
    assert "objection_project_id" in _refused(d, "notice_objections", STAFF, {**OBJECTION, "objection_project_id": 99})
    d.complete("notice_objections", STAFF, {**OBJECTION, "objection_project_id": 4})
    d.complete("verify_objection", BUREAU, {"verification_conclusion": "upheld", "verification_findings": "专利雷同属实"})
    assert d.names() == ["notice_objections"]  # the notice runs on to its end
    d.advance_to(sh(2026, 3, 9, 10, 1))  # 5 working days after Monday 2026-03-02
    assert d.state() == "completed"
    decisions = d.data()["decisions"]
    assert set(decisions) == {"1", "2", "3", "4", "5", "6"}
    assert decisions["3"] == {"result": "funded", "approved_funding": 300_000, "rank": 3, "score": 83.0,
                              "reason": "局务会决定调整：产业急需，予以支持 · changed by the collective decision: 产业急需，予以支持"}
    assert decisions["2"]["approved_funding"] == 100_000 and decisions["1"]["approved_funding"] == 500_000
    assert decisions["4"]["result"] == "not_funded" and decisions["4"]["approved_funding"] == 0
    assert "专利雷同属实" in decisions["4"]["reason"]
    assert decisions["5"]["result"] == "reserve" and decisions["6"]["result"] == "not_funded"


def test_approve_all_keeps_the_proposal_and_a_dismissed_objection_changes_nothing(world):
    d = _started(world)
    d.complete("institution_review", STAFF, {"proposal_items": _editable(_offered(d, "institution_review"))})
    rows = _editable(_offered(d, "collective_decision"))
    # "approve all" with a change is refused on the decision field
    changed = [dict(r) for r in rows]
    changed[0]["amount"], changed[0]["change_reason"] = 400_000, "压减"
    assert "collective_decision" in _refused(d, "collective_decision", BUREAU, {**DECISION, "decision_items": changed})
    d.complete("collective_decision", BUREAU, {**DECISION, "decision_items": rows})
    d.complete("notice_objections", STAFF, {**OBJECTION, "objection_project_id": 1})
    d.complete("verify_objection", BUREAU, {"verification_conclusion": "dismissed", "verification_findings": "经核查不属实"})
    d.advance_to(sh(2026, 3, 9, 10, 1))
    decisions = d.data()["decisions"]
    assert decisions["1"]["result"] == "funded" and decisions["1"]["approved_funding"] == 500_000
    assert d.data()["objection_count"] == 1


def test_the_institution_cannot_leave_a_change_without_a_reason(world):
    d = _started(world)
    rows = _editable(_offered(d, "institution_review"))
    rows[5]["result"] = "reserve"
    fields = _refused(d, "institution_review", STAFF, {"proposal_items": rows})
    assert list(fields) == ["proposal_items.5.change_reason"]
    assert commands.query(world, tasks.open_tasks, d.instance_id)[0].name == "institution_review"


def test_a_completion_check_that_is_not_an_expression_is_refused_at_deploy():
    from engine.definitions.validation import validate_sources
    source = (ROOT / "processes" / "batch_decision.bpmn").read_bytes().replace(
        b'value="batch_objection_refusals(proposal, objection_project_id)"', b'value="import os"')
    problems = validate_sources([("batch_decision.bpmn", source)]).problems
    assert any(p.element_id == "notice_objections" and "completionCheck" in p.message for p in problems)


def test_the_batch_documents_go_to_staff_and_the_notice_only_to_the_batchs_applicants_once_published(world):
    from engine.core.errors import Forbidden
    from engine.core.principals import Actor
    from engine.runtime import access, instances

    def kinds(actor):  # type: ignore[no-untyped-def]
        return commands.query(world, lambda s: access.batch_documents(s, actor, instances.get(s, d.instance_id))[1])

    applicant, stranger = Actor("li.na", frozenset({"applicants"})), Actor("wu.ke", frozenset({"applicants"}))
    expert = Actor("expert00", frozenset({"experts"}))
    d = _started(world)
    assert kinds(STAFF) == ["ranked_list"] and kinds(SUPERVISOR) == ["ranked_list"]
    with pytest.raises(Forbidden):  # an applicant of the batch sees nothing before the notice
        kinds(applicant)
    d.complete("institution_review", STAFF, {"proposal_items": _editable(_offered(d, "institution_review"))})
    d.complete("collective_decision", BUREAU, {**DECISION, "decision_items": _editable(_offered(d, "collective_decision"))})
    assert kinds(BUREAU) == ["ranked_list", "decision_list", "public_notice"]
    assert kinds(applicant) == ["public_notice"]
    for outsider in (stranger, expert):
        with pytest.raises(Forbidden):
            kinds(outsider)


def test_a_batch_plays_through_as_proposed_for_demos_and_simulations(world):
    from engine.demo import playback
    d = _started(world)

    def answer(row):  # type: ignore[no-untyped-def]
        return playback.batch_answer(world, row) or playback.default_answer(row)

    played = playback.play(world, d.instance_id, sh(2026, 3, 2, 11), sh(2026, 4, 1), answer)
    assert played.state == "completed"
    decisions = d.data()["decisions"]
    assert [decisions[str(p)]["result"] for p in range(1, 7)] == ["funded", "funded", "reserve", "funded", "reserve",
                                                                 "not_funded"]
