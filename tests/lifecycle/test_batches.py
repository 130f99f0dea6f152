"""The batch rules (engine/lifecycle/batches.py): ranking within a category with its tie rule,
score bands, funding within each category's budget, changes that need reasons, and a proposal
over a category's budget refused with the category and the figures named."""
from __future__ import annotations

import pytest

from engine.core.errors import InvalidData
from engine.lifecycle import batches
from tests.lifecycle.batch_data import CATEGORIES, PROJECTS, REVIEWS

BANDS = [{"project_id": 1, "band": "key_recommend"}, {"project_id": 2, "band": "recommend"},
         {"project_id": 3, "band": "recommend"}, {"project_id": 4, "band": "recommend"},
         {"project_id": 5, "band": "recommend"}, {"project_id": 6, "band": "reject"}]


def _proposal() -> list[dict]:
    return batches.propose(CATEGORIES, PROJECTS, REVIEWS, BANDS)


def _by_id(proposal: list[dict]) -> dict[int, dict]:
    return {item["project_id"]: item for item in proposal}


def test_projects_are_ranked_by_score_within_their_category():
    # given two categories' projects with their scores; when the proposal is made
    proposal = _proposal()
    # then each category is ranked on its own, in the call's category order
    assert [(i["category"], i["project_id"], i["rank"]) for i in proposal] == [
        ("key_rd", 1, 1), ("key_rd", 2, 2), ("key_rd", 3, 3),
        ("natural_science", 4, 1), ("natural_science", 5, 2), ("natural_science", 6, 3)]


def test_a_tie_goes_to_more_valid_opinions_then_the_smaller_request_then_the_earlier_project():
    # given projects 4 and 5 both at 88, project 4 with 5 valid opinions and project 5 with 4
    assert _by_id(_proposal())[4]["rank"] == 1
    # when they have the same opinions too, the smaller request ranks first
    reviews = {**REVIEWS, "5": {**REVIEWS["5"], "valid_opinions": 5}}
    assert _by_id(batches.propose(CATEGORIES, PROJECTS, reviews, BANDS))[5]["rank"] == 1
    # and with the same request as well, the lower project number
    projects = [{**p, "requested_funding": 200_000} if p["project_id"] == 5 else p for p in PROJECTS]
    assert _by_id(batches.propose(CATEGORIES, projects, reviews, BANDS))[4]["rank"] == 1


def test_recommended_projects_are_funded_as_requested_while_the_budget_lasts_then_reserved():
    # given key_rd's budget of 1,000,000 and requests of 500k, 400k and 300k, all recommended
    items = _by_id(_proposal())
    # then the first two are funded as requested and the third, which no longer fits, is reserved
    assert (items[1]["result"], items[1]["amount"]) == ("funded", 500_000)
    assert (items[2]["result"], items[2]["amount"]) == ("funded", 400_000)
    assert (items[3]["result"], items[3]["amount"]) == ("reserve", 0)
    assert "预算已用尽" in items[3]["reason"] and "budget is used up" in items[3]["reason"]
    # natural_science (300,000): 200k fits, 150k does not; the reject band is not funded
    assert [items[p]["result"] for p in (4, 5, 6)] == ["funded", "reserve", "not_funded"]
    assert "低于推荐分数线" in items[6]["reason"] and "· score 55" in items[6]["reason"]
    totals = {t["code"]: t for t in batches.totals(CATEGORIES, _proposal())}
    assert totals["key_rd"]["funded"] == 900_000 and totals["key_rd"]["left"] == 100_000


def test_the_reserve_band_is_reserved_and_a_project_without_a_review_is_not_funded():
    bands = [{**b, "band": "reserve"} if b["project_id"] == 1 else b for b in BANDS]
    reviews = {k: v for k, v in REVIEWS.items() if k != "2"}
    items = _by_id(batches.propose(CATEGORIES, PROJECTS, reviews, bands))
    assert items[1]["result"] == "reserve" and "达到储备分数线" in items[1]["reason"]
    assert items[2]["result"] == "not_funded" and "无有效评审结果" in items[2]["reason"]
    # the budget then reaches project 3
    assert items[3]["result"] == "funded"


def test_a_proposal_over_a_categorys_budget_is_refused_naming_the_category_and_the_figures():
    proposal = _proposal()
    changed = [{**i, "result": "funded", "amount": i["requested_funding"]} if i["project_id"] == 3 else i
               for i in proposal]
    with pytest.raises(InvalidData) as refused:
        batches.check_budget(CATEGORIES, changed)
    message = refused.value.fields["proposal"][0]
    assert "重点研发" in message and "1,200,000.00" in message and "1,000,000.00" in message
    assert "key_rd" in message and "exceeds its budget" in message


def test_a_changed_item_needs_a_reason_and_must_keep_the_budget():
    proposal = _proposal()
    rows = batches.form_items(proposal)
    # given the bureau funds project 3 as well, without a reason and over the budget
    rows[2] = {**rows[2], "result": "funded", "amount": 300_000}
    errors = batches.refusals(CATEGORIES, proposal, rows, "decision_items")
    assert list(errors) == ["decision_items.2.change_reason"]
    # with a reason, the budget is what refuses it
    rows[2]["change_reason"] = "产业急需"
    errors = batches.refusals(CATEGORIES, proposal, rows, "decision_items")
    assert "1,200,000.00" in errors["decision_items"][0]
    # lowering project 2 to 100,000 makes room: accepted, and the reasons say who and why
    rows[1] = {**rows[1], "amount": 100_000, "change_reason": "压减预算"}
    assert batches.refusals(CATEGORIES, proposal, rows, "decision_items") == {}
    decided = _by_id(batches.apply_changes(proposal, rows, "bureau"))
    assert (decided[3]["result"], decided[3]["amount"]) == ("funded", 300_000)
    assert decided[3]["reason"] == "局务会决定调整：产业急需 · changed by the collective decision: 产业急需"
    assert decided[1]["reason"] == _by_id(proposal)[1]["reason"]  # unchanged items keep theirs


def test_approve_all_changes_nothing_and_a_funded_amount_stays_within_the_request():
    proposal = _proposal()
    rows = batches.form_items(proposal)
    rows[0] = {**rows[0], "amount": 600_000, "change_reason": "加大支持"}
    errors = batches.refusals(CATEGORIES, proposal, rows, "decision_items", approve_all=True)
    assert "decision_items.0.amount" in errors and "collective_decision" in errors
    assert batches.refusals(CATEGORIES, proposal, batches.form_items(proposal), "decision_items",
                            approve_all=True) == {}
    # a list that lost a row is refused as a whole
    assert list(batches.refusals(CATEGORIES, proposal, rows[:-1], "decision_items")) == ["decision_items"]


def test_an_upheld_objection_makes_that_project_not_funded_with_the_findings_and_decisions_follow_the_interface():
    proposal = batches.uphold_objection(_proposal(), 1, "专利雷同属实")
    out = batches.decisions(proposal)
    assert set(out) == {str(p["project_id"]) for p in PROJECTS}
    assert out["1"] == {"result": "not_funded", "approved_funding": 0, "rank": 1, "score": 92.0,
                        "reason": "公示异议成立：专利雷同属实 · objection upheld: 专利雷同属实"}
    assert out["2"]["result"] == "funded" and out["2"]["approved_funding"] == 400_000
    with pytest.raises(InvalidData):
        batches.uphold_objection(proposal, 99, "x")


def test_a_cheaper_lower_ranked_project_never_overtakes_one_the_budget_cannot_cover():
    # given natural_science (300,000): project 4 (200k) funded, project 5 (150k) no longer fits,
    # and project 6 (100k), ranked below it, would fit
    bands = [{**b, "band": "recommend"} if b["project_id"] == 6 else b for b in BANDS]
    items = _by_id(batches.propose(CATEGORIES, PROJECTS, REVIEWS, bands))
    # then 6 is reserved behind 5, not funded ahead of it
    assert [items[p]["result"] for p in (4, 5, 6)] == ["funded", "reserve", "reserve"]
