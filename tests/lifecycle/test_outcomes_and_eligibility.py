"""How an application ended and why, as its applicant sees it (engine/runtime/outcome.py); who may
apply before the form is offered and at submission (engine/lifecycle/eligibility.py); and which
processes are offered as a "new application" (not the building blocks)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core import commands, users
from engine.core.errors import InvalidData
from engine.core.models import ProcessInstance
from engine.lifecycle import eligibility
from engine.runtime import instances, outcome
from engine.workspace import applicant_page, application_drafts, applications, instance_page
from tests.lifecycle.world import APPLICANT, APPLICATION, ORG, SUPERVISOR, Driver, make_project, sh


def _applicant_user(db, name: str = APPLICANT.username, display: str = "张伟 Zhang Wei", org: str = ORG) -> None:  # type: ignore[no-untyped-def]
    commands.execute(db, users.create_user, name, "pw-secret", ["applicants"], org, None, display,
                     password_policy=False)


def _instances(db) -> int:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance)))


def test_a_refusal_at_the_gate_is_a_red_refusal_with_the_rules_reasons_not_a_green_completion(world):
    # given an investigator who already leads two open projects, whose application went through the API
    make_project(world, start="2025-01-06")
    make_project(world, start="2025-06-02", title="另一个在研项目")
    d = Driver(world, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION)
    assert d.state() == "completed"
    # when the applicant reads their applications and the instance page
    mine, _ = commands.query(world, applications.mine, APPLICANT)
    page = commands.query(world, instance_page.instance_view, APPLICANT, d.instance_id)
    # then both say "submission refused", in red, with the reason the rules gave, in both languages
    for shown in (mine[0].outcome, page.outcome):
        assert shown.code == "refused" and shown.tone == outcome.REFUSED
        assert (shown.label("zh_CN"), shown.label("en")) == ("不予申报", "Submission refused")
        assert any("2 open projects" in r and "在研项目" in r for r in shown.reasons)


def test_each_reason_of_a_refusal_is_listed_apart(world):
    # given an application naming an unregistered organisation by an investigator with two open projects
    make_project(world, start="2025-01-06")
    make_project(world, start="2025-06-02", title="另一个在研项目")
    d = Driver(world, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION | {"organisation": "不存在的公司"})
    # then the outcome lists the two reasons separately
    shown = commands.query(world, instance_page.instance_view, APPLICANT, d.instance_id).outcome
    assert len(shown.reasons) == 2 and "not registered" in shown.reasons[0] and "open projects" in shown.reasons[1]


def test_an_instance_still_running_has_no_outcome(world):
    d = Driver(world, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION)
    assert commands.query(world, instance_page.instance_view, APPLICANT, d.instance_id).outcome is None


def test_a_supervisors_termination_is_an_outcome_with_the_supervisors_reason(world):
    d = Driver(world, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION)
    commands.execute(world, instances.terminate, SUPERVISOR, d.instance_id, "申报人申请撤回 · withdrawn on request")
    shown = commands.query(world, instance_page.instance_view, APPLICANT, d.instance_id).outcome
    assert shown.tone == outcome.REFUSED and shown.code == "terminated_by_bureau"
    assert shown.reasons == ("申报人申请撤回 · withdrawn on request",)


@pytest.mark.parametrize("status, tone", [("not_established", outcome.REFUSED), ("failed", outcome.REFUSED),
                                          ("reserved", outcome.ENDED), ("lapsed", outcome.ENDED),
                                          ("evaluated", outcome.SUCCESS), ("something_new", outcome.ENDED)])
def test_the_tone_of_an_outcome_says_what_the_end_means(status, tone):
    # an unknown status is never claimed a success; reasons are never given for a success
    shown = outcome.derive("completed", {"status": status, "reason": "甲；乙"})
    assert shown.tone == tone
    assert shown.reasons == (() if tone == outcome.SUCCESS else ("甲", "乙"))


def test_reasons_the_viewer_may_not_see_are_left_out():
    assert outcome.derive("completed", {"status": "not_accepted", "reason": "内部意见"}, reason_visible=False).reasons == ()


def test_an_ineligible_applicant_is_told_why_before_any_form(world):
    # given the applicant leads two open projects
    _applicant_user(world)
    make_project(world, start="2025-01-06")
    make_project(world, start="2025-06-02", title="另一个在研项目")
    # when they open the lifecycle's new application page, then they are told why, with no form to fill
    view = commands.query(world, applicant_page.new_application, APPLICANT, "project_lifecycle")
    assert not view.eligible and "2 open projects" in view.refusals[0]


def test_an_eligible_applicant_gets_the_form_prefilled_and_the_register_to_choose_from(world):
    _applicant_user(world)
    view = commands.query(world, applicant_page.new_application, APPLICANT, "project_lifecycle")
    assert view.eligible
    assert view.values == {"principal_investigator": "张伟", "organisation": ORG}
    assert ORG in view.organisations and "滨江区科技局" not in view.organisations  # a recommender does not apply


def test_an_ineligible_submission_is_refused_with_its_reasons_and_nothing_starts(world):
    _applicant_user(world)
    with pytest.raises(InvalidData) as refused:
        commands.execute(world, application_drafts.submit, APPLICANT, "project_lifecycle",
                         APPLICATION | {"organisation": "不存在的公司"})
    assert "not registered" in refused.value.fields["organisation"][0]
    assert _instances(world) == 0


def test_a_half_filled_application_hears_of_its_fields_before_the_rules(world):
    with pytest.raises(InvalidData) as refused:
        commands.execute(world, application_drafts.submit, APPLICANT, "project_lifecycle",
                         {"organisation": "不存在的公司"})
    assert "title" in refused.value.fields and "organisation" not in refused.value.fields


def test_the_eligibility_rules_are_the_same_for_the_bpmn_gate_and_the_pages(world):
    result = commands.query(world, eligibility.check, "不存在的公司", "张伟")
    assert not result.allowed and result.by_field() == {"organisation": [result.reasons[0]]}


def test_building_blocks_are_not_offered_as_new_applications_but_still_start_through_the_api(world):
    # given the real processes: the lifecycle, its called stages and the standalone formal review
    offered = [d.key for d in commands.query(world, applications.startable, APPLICANT)]
    # then only the lifecycle is offered to an applicant
    assert offered == ["project_lifecycle"]
    # and the formal review (declared a building block) still starts for whoever its BPMN allows
    started = commands.execute(world, instances.start, APPLICANT, "application_formal_review",
                               {"title": "形式审查", "organisation": ORG, "principal_investigator": "张伟",
                                "budget": 10, "abstract": "x" * 30, "plan_category": "key_rd",
                                "discipline": "materials", "period_months": 12, "integrity_pledge": True})
    assert started.state == "running"


@pytest.mark.parametrize("text, zh, en", [
    ("申报单位「甲公司」未在本系统注册 · the organisation '甲公司' is not registered",
     "申报单位「甲公司」未在本系统注册", "the organisation '甲公司' is not registered"),
    ("推荐单位不予推荐：不符合方向 · not endorsed: 不符合方向", "推荐单位不予推荐：不符合方向", "not endorsed: 不符合方向"),
    ("本年度经费有限，入库储备", "本年度经费有限，入库储备", "本年度经费有限，入库储备"),
])
def test_a_rules_bilingual_reason_is_shown_in_the_readers_language(text, zh, en):
    assert (outcome.in_language(text, "zh_CN"), outcome.in_language(text, "en")) == (zh, en)


def test_a_registration_request_notifies_the_institution_in_both_languages(world):
    from engine.core.principals import Actor
    from engine.notify import notifications
    from engine.workspace import organisation_requests
    _applicant_user(world)
    commands.execute(world, users.create_user, "wang.fang", "pw-secret", ["institution_staff"], None, None, "王芳",
                     password_policy=False)
    # when an applicant asks for an unlisted organisation to be registered
    assert commands.execute(world, organisation_requests.request, APPLICANT, "杭州新材科技有限公司",
                            "91330100MA2XXXXX1X", "新成立") == 1
    # then the institution's staff read it in their language
    staff = Actor("wang.fang", frozenset({"institution_staff"}))
    rows = commands.query(world, notifications.list_for, staff)
    rows = rows[0] if isinstance(rows, tuple) else rows
    zh, en = (notifications.render(rows[0], language) for language in ("zh_CN", "en"))
    assert "杭州新材科技有限公司" in str(zh) and "张伟 Zhang Wei" in str(zh) and "registered" in str(en)


@pytest.mark.parametrize("name, code, field", [(ORG, "", "name"), ("x", "", "name"),
                                               ("杭州新材科技有限公司", "123", "credit_code")])
def test_a_bad_or_needless_registration_request_is_refused_and_notifies_no_one(world, name, code, field):
    from engine.notify.notifications import Notification
    from engine.workspace import organisation_requests
    with pytest.raises(InvalidData) as refused:
        commands.execute(world, organisation_requests.request, APPLICANT, name, code)
    assert field in refused.value.fields
    assert commands.query(world, lambda s: s.scalar(select(func.count()).select_from(Notification))) == 0
