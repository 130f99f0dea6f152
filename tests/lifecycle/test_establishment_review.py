"""establishment_review, driven through project_lifecycle: drawn experts with backups, declines and
missed deadlines, too few opinions, score aggregation and bands (a DMN table a designer can
change), the institution's proposal and the bureau's decision, the public notice across National
Day 2025 with real-name objections, and the integrity check before establishment."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core import commands
from engine.definitions import deployment
from engine.lifecycle import expert_pool, integrity
from engine.core.calendar import working_days_between
from engine.core.errors import InvalidData
from tests.conftest import ROOT
from tests.lifecycle.world import (APPLICATION, BUREAU, EXPERT, GOOD_SCORES, STAFF, Driver, sh)

OBJECTION = {"objector_name": "刘某", "objector_id_number": "330106198001011234", "objector_phone": "13800000000",
             "objection_content": "申报材料中的专利与本人专利雷同，请核查。", "written_statement_received": True}


def _accepted(db, when=sh(2026, 3, 2), data=None) -> Driver:  # type: ignore[no-untyped-def]
    d = Driver(db, when)
    d.start("project_lifecycle", data or APPLICATION)
    d.endorse()
    d.formal_review()
    return d


def _scores(total: float) -> dict[str, float]:
    """A rubric adding up to `total`."""
    parts = {"innovation": 30, "feasibility": 25, "team_capability": 15, "budget_reasonableness": 15,
             "expected_benefits": 15}
    scale = total / 100
    scored = {k: round(v * scale, 1) for k, v in parts.items()}
    scored["expected_benefits"] = round(total - sum(v for k, v in scored.items() if k != "expected_benefits"), 1)
    return scored


def _drawn(db, draw_id):  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: [(m.rank, s.get(expert_pool.Expert, m.expert_id).username, m.role, m.status)
                                         for m in expert_pool.members(s, draw_id)])


def test_five_experts_are_drawn_without_conflicts_and_a_key_recommendation_is_funded_after_the_notice(world):
    d = _accepted(world)
    data = d.data()
    # then a mail review of 5 experts with 3 ranked backups was drawn, recorded and reproducible
    assert data["review_mode"] == "mail" and len(data["seats"]) == 5
    members = _drawn(world, data["draw_id"])
    assert [m[2] for m in members] == ["panel"] * 5 + ["backup"] * 3
    assert not {"expert.same_org", "expert.partner"} & {m[1] for m in members}
    assert commands.query(world, expert_pool.verify, data["draw_id"])
    # each seat's expert gets an invitation due in 3 working days
    invitation = d.expert_rows("invitation")[0]
    assert working_days_between(invitation.created_at, invitation.due_at) == 3
    d.experts_accept_and_score()
    data = d.data()
    assert data["aggregate_score"] == 92.0 and data["recommendation"] == "key_recommend"
    assert data["result"]["method"] == "trimmed_mean" and len(data["result"]["dropped"]) == 2
    d.propose_and_decide("fund", "fund")
    # the notice runs for 5 working days; then the project is established with the funding asked
    assert d.names() == ["notice_objections"]
    d.advance_to(sh(2026, 3, 10, 10, 1))
    assert d.project()["status"] == "established" and d.project()["approved_funding"] == 120.0
    assert d.names() == ["draft_contract"]


def test_a_declining_expert_is_replaced_by_the_best_ranked_backup(world):
    d = _accepted(world)
    draw_id = d.data()["draw_id"]
    first_backup = _drawn(world, draw_id)[5][1]
    row = d.expert_rows("invitation")[0]
    d.complete_row(row, EXPERT(row.assignee), {"participation": "decline_conflict", "participation_note": "曾合作"})
    invited = {t.assignee for t in d.expert_rows("invitation")}
    assert first_backup in invited and row.assignee not in invited
    statuses = {m[1]: m[3] for m in _drawn(world, draw_id)}
    assert statuses[row.assignee] == "conflict" and statuses[first_backup] == "invited"


def test_an_expert_who_misses_a_deadline_is_replaced(world):
    d = _accepted(world, sh(2026, 3, 2, 10))
    rows = d.expert_rows("invitation")
    for row in rows[1:]:
        d.complete_row(row, EXPERT(row.assignee), {"participation": "accept"})
    # three working days later the silent expert's seat goes to a backup
    assert d.advance_to(sh(2026, 3, 5, 9, 59)) == []
    d.advance_to(sh(2026, 3, 5, 10, 1))
    invitations = d.expert_rows("invitation")
    assert len(invitations) == 1 and invitations[0].assignee != rows[0].assignee
    # and a scorer who misses the 10 working days is replaced too, the backup starting with the invitation
    late = d.expert_rows("scoring")[0]
    d.advance_to(sh(2026, 3, 16, 10, 1))
    assert late.assignee not in {t.assignee for t in d.expert_rows("scoring")}
    assert len(d.expert_rows("invitation")) == 2


def test_too_few_opinions_lead_to_a_fresh_draw_then_to_not_established(world):
    d = _accepted(world)
    first = {m[1] for m in _drawn(world, d.data()["draw_id"])}
    # every expert and every backup declines
    while d.expert_rows("invitation"):
        row = d.expert_rows("invitation")[0]
        d.complete_row(row, EXPERT(row.assignee), {"participation": "decline_unavailable"})
        if d.data().get("review_round") == 2:
            break
    data = d.data()
    assert data["review_round"] == 2
    second = {m[1] for m in _drawn(world, data["draw_id"])}
    assert not first & second  # a fresh draw never repeats an expert of the first round
    while d.expert_rows("invitation"):
        row = d.expert_rows("invitation")[0]
        d.complete_row(row, EXPERT(row.assignee), {"participation": "decline_unavailable"})
    assert d.data()["status"] == "not_established" and "too few valid expert opinions" in d.project()["outcome_reason"]
    assert d.state() == "completed"


@pytest.mark.parametrize("total, band", [(92, "key_recommend"), (85, "recommend"), (70, "reserve"), (50, "reject")])
def test_the_aggregate_score_falls_into_its_band(world, total, band):
    d = _accepted(world)
    d.experts_accept_and_score([_scores(total)] * 5)
    assert d.data()["aggregate_score"] == total and d.data()["recommendation"] == band
    assert d.project()["recommendation"] == band


def test_the_trimmed_mean_drops_the_highest_and_the_lowest_score(world):
    d = _accepted(world)
    d.experts_accept_and_score([_scores(s) for s in (40, 80, 82, 84, 100)])
    result = d.data()["result"]
    assert result["score"] == 82.0 and sorted(result["dropped"]) == [40.0, 100.0]


def test_a_designer_can_move_a_band_threshold_by_redeploying_the_dmn_table(world):
    # given the score band table changed so that a key recommendation needs 95
    source = (ROOT / "processes" / "establishment_score_band.dmn").read_bytes() \
        .replace(b"&gt;= 90", b"&gt;= 95").replace(b"80 &lt;= ? &lt; 90", b"80 &lt;= ? &lt; 95")
    bpmn = (ROOT / "processes" / "establishment_review.bpmn").read_bytes()
    lifecycle = (ROOT / "processes" / "project_lifecycle.bpmn").read_bytes()
    commands.execute(world, deployment.deploy, [("establishment_score_band.dmn", source),
                                                ("establishment_review.bpmn", bpmn),
                                                ("project_lifecycle.bpmn", lifecycle)], "designer")
    # when an application scores 92, then it is "recommend", no longer "key_recommend"
    d = _accepted(world)
    d.experts_accept_and_score()
    assert d.data()["recommendation"] == "recommend"


def test_a_key_rd_application_gets_an_odd_panel_of_seven(world):
    d = _accepted(world, data=APPLICATION | {"plan_category": "key_rd"})
    assert d.data()["review_mode"] == "panel" and len(d.expert_rows("invitation")) == 7


@pytest.mark.parametrize("decision, status, end", [("reserve", "reserved", "end_reserved"),
                                                   ("reject", "not_established", "end_not_established")])
def test_the_bureau_may_reserve_or_reject(world, decision, status, end):
    d = _accepted(world)
    d.experts_accept_and_score()
    d.propose_and_decide("reserve", decision)
    assert d.data()["status"] == status and d.project()["status"] == status and d.state() == "completed"


def test_the_bureau_may_fund_less_than_asked(world):
    d = _accepted(world)
    d.experts_accept_and_score()
    d.propose_and_decide("fund", "fund", funding=80)
    d.advance_to(sh(2026, 3, 10, 10, 1))
    assert d.project()["approved_funding"] == 80.0


def test_an_anonymous_objection_is_refused(world):
    d = _accepted(world)
    d.experts_accept_and_score()
    d.propose_and_decide()
    anonymous = {k: v for k, v in OBJECTION.items() if k not in ("objector_name", "objector_id_number")}
    with pytest.raises(InvalidData) as refused:
        d.complete("notice_objections", STAFF, anonymous)
    assert {"objector_name", "objector_id_number"} <= set(refused.value.fields)
    assert d.names() == ["notice_objections"]


def test_an_upheld_objection_means_not_established(world):
    d = _accepted(world)
    d.experts_accept_and_score()
    d.propose_and_decide()
    d.complete("notice_objections", STAFF, OBJECTION)
    assert d.task("verify_objection").candidate_groups == ["bureau_staff"]
    d.complete("verify_objection", BUREAU, {"verification_conclusion": "upheld", "verification_findings": "专利确属他人"})
    assert d.data()["status"] == "not_established" and "objection upheld" in d.project()["outcome_reason"]


def test_the_notice_period_counts_working_days_across_national_day_and_survives_a_dismissed_objection(world):
    # given the bureau decides on Friday 26 September 2025
    d = _accepted(world, sh(2025, 9, 22))
    d.experts_accept_and_score()
    d.at_time(sh(2025, 9, 26, 10, 0)).propose_and_decide()
    # then the 5 working days are 28 Sep (make-up Sunday), 29, 30 Sep, 9 and 10 October
    notice = d.task("notice_objections")
    assert notice.due_at == sh(2025, 10, 10, 10, 0)
    # an objection during the holiday is verified and dismissed; the notice goes on
    d.at_time(sh(2025, 10, 3)).complete("notice_objections", STAFF, OBJECTION)
    d.at_time(sh(2025, 10, 9)).complete("verify_objection", BUREAU, {"verification_conclusion": "dismissed",
                                                                    "verification_findings": "专利不同"})
    assert d.names() == ["notice_objections"] and d.data()["objections"] == 1
    assert d.advance_to(sh(2025, 10, 10, 9, 59)) == []
    d.advance_to(sh(2025, 10, 10, 10, 1))
    assert d.project()["status"] == "established"


def test_the_integrity_list_is_checked_again_before_establishment(world):
    d = _accepted(world)
    d.experts_accept_and_score()
    d.propose_and_decide()
    commands.execute(world, integrity.add, "officer", {
        "subject_type": "organisation", "subject_name": APPLICATION["organisation"], "grade": "serious",
        "reason": "虚报冒领财政资金", "penalty_start": "2026-03-05", "penalty_end": "2029-03-04"})
    d.advance_to(sh(2026, 3, 10, 10, 1))
    assert d.project()["status"] == "not_established" and "before establishment" in d.project()["outcome_reason"]


def test_expert_opinions_reach_the_institution_with_the_scores(world):
    d = _accepted(world)
    d.experts_accept_and_score()
    opinions = d.data()["opinions"]
    assert len(opinions) == 5 and all(o["opinion"].startswith("创新性强") and o["score"] == 92.0 for o in opinions)
    assert d.data()["ranking"] == {"rank": 1, "of": 1}
    assert GOOD_SCORES["innovation"] == 28
    assert commands.query(world, lambda s: len(s.scalars(select(expert_pool.ExpertDraw)).all())) == 1
