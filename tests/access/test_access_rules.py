"""engine/runtime/access.py, as each role that found a leak would meet it, on the real lifecycle midway
through its expert review: what an expert still scoring, the applicant, a unit colleague, a
recommending unit and the institution see of the data, the tasks and the timeline."""
from __future__ import annotations

import json
from typing import Any

import pytest

from engine.runtime import access, instances, tasks
from engine.core import commands
from engine.definitions import deployment
from engine.workspace import history
from engine.core.errors import DefinitionInvalid, Forbidden
from engine.core.principals import Actor
from tests.lifecycle.world import GOOD_SCORES

from .conftest import APPLICANT, EXPERT, RECOMMENDER, SECRET_OPINION, STAFF, SUPERVISOR, UNIT, Review

PANEL_KEYS = {"seats", "seat", "opinions", "draw_id", "result"}
SCORE_KEYS = set(GOOD_SCORES) | {"expert_opinion"}


def seen(db: Any, review: Review, actor: Actor) -> dict[str, Any]:
    """Everything the actor's view yields, as one text and its parts."""
    def read(session):  # type: ignore[no-untyped-def]
        instance = instances.get(session, review.instance_id)
        view = access.view_of(session, actor, instance)
        timeline = history.timeline(session, view, instance)
        return {"role": view.role, "data": view.data(instances.data_of(instance)),
                "tasks": view.task_lines(tasks.open_tasks(session, instance.id)), "timeline": timeline,
                "facts": history.key_facts(session, instance, instances.data_of(instance), view)}
    found = commands.query(db, read)
    found["text"] = json.dumps([found["data"], [t.__dict__ for t in found["tasks"]],
                                [e.__dict__ for e in found["timeline"]]], ensure_ascii=False, default=str)
    return found


def others_of(review: Review, expert: str) -> list[str]:
    return [name for name in review.panel if name != expert]


def test_an_expert_still_scoring_sees_no_other_experts_name_score_or_opinion(db, review):
    # given an expert who has not scored yet, while another has
    me = review.scoring[0]
    view = seen(db, review, EXPERT(me))
    # then their view is an expert's: no other panel member's user name anywhere, no opinion, no score
    assert view["role"] == access.EXPERT
    for other in others_of(review, me):
        assert other not in view["text"]
    assert SECRET_OPINION not in view["text"] and "材料专家" not in view["text"]
    assert not (PANEL_KEYS | SCORE_KEYS) & set(view["data"])
    # and the other expert's scoring is not on their timeline at all, nor are the invitations
    assert all(e.task_title is None or "评分" not in e.task_title or e.actor == me for e in view["timeline"])
    # while the project materials are there: the application's fields
    assert view["data"]["title"] == "高熵合金激光增材制造工艺研究" and view["data"]["budget"] == 120
    assert {f.key for f in view["facts"]} >= {"title", "abstract", "budget"}


def test_an_expert_who_has_scored_still_sees_no_other_experts_work_by_default(db, review):
    view = seen(db, review, EXPERT(review.scored))
    for other in others_of(review, review.scored):
        assert other not in view["text"]
    # their own work is theirs to see
    [mine] = [e for e in view["timeline"] if e.action == "task_completed" and e.fields
              and "expert_opinion" in {f.key for f in e.fields}]
    assert mine.actor == review.scored and SECRET_OPINION in {f.value for f in mine.fields}


def test_the_applicant_sees_what_they_submitted_and_the_decisions_for_them_never_the_panel(db, review):
    view = seen(db, review, APPLICANT)
    assert view["role"] == access.APPLICANT
    # no panel, no expert names, real names or organisations, no scores, opinions or scoring assignees
    assert not (PANEL_KEYS | SCORE_KEYS) & set(view["data"])
    for expert in review.panel:
        assert expert not in view["text"]
    assert "材料专家" not in view["text"] and "研究所" not in view["text"] and SECRET_OPINION not in view["text"]
    assert all(t.assignee in (None, APPLICANT.username) for t in view["tasks"])
    # nor who reviewed: no reviewer's name on any entry
    assert {e.actor for e in view["timeline"]} <= {None, APPLICANT.username}
    assert STAFF.username not in view["text"] and RECOMMENDER.username not in view["text"]
    # but their own submission and the formal review's decision addressed to them
    assert {"title", "abstract", "budget", "team", "organisation"} <= set(view["data"])
    assert view["data"]["decision"] == "accept" and view["data"]["review_comment"]
    assert "checks_passed" not in view["data"]  # the reviewer's internal checklist


def test_a_colleague_of_the_applicants_unit_working_on_the_project_sees_only_the_applicants_view(db, review):
    # given the unit's research office (a party of the project) has a part in it
    def part(session):  # type: ignore[no-untyped-def]
        instance = instances.get(session, review.instance_id)
        task = tasks.open_tasks(session, instance.id)[0]
        return access.role_of(session, UNIT, instance, access.rules_of(session, instance.definition), [task], task)
    assert commands.query(db, part) == access.APPLICANT


def test_a_recommending_unit_sees_the_process_but_not_the_confidential_review(db, review):
    view = seen(db, review, RECOMMENDER)
    assert view["role"] == access.STAFF
    assert not PANEL_KEYS & set(view["data"])
    for expert in review.panel:
        assert expert not in view["text"]
    assert SECRET_OPINION not in view["text"]
    assert view["data"]["checks_passed"] == ["complete"]  # internal, not confidential


@pytest.mark.parametrize("who", [STAFF, SUPERVISOR])
def test_the_institution_and_supervisors_see_everything(db, review, who):
    view = seen(db, review, who)
    assert view["role"] == access.FULL
    assert PANEL_KEYS - {"opinions", "result"} <= set(view["data"])
    assert SECRET_OPINION in view["text"] and all(expert in view["text"] for expert in review.panel)


def test_someone_with_no_part_sees_nothing(db, review):
    with pytest.raises(Forbidden):
        commands.query(db, lambda s: access.view_of(s, Actor("stranger", frozenset({"experts"})),
                                                    instances.get(s, review.instance_id)))


def test_after_all_scored_no_expert_sees_the_others_unless_the_process_says_so(db, review):
    d = review.driver
    for expert in review.scoring:
        d.complete_row(review.task_of(expert), EXPERT(expert), GOOD_SCORES | {"expert_opinion": "同意立项 · fund it"})
    view = seen(db, review, EXPERT(review.scoring[0]))
    assert SECRET_OPINION not in view["text"] and review.scored not in view["text"]
    assert not {"opinions", "result", "ranking", "seats"} & set(view["data"])
    # the applicant is told nothing of the scores either
    applicant = seen(db, review, APPLICANT)
    assert not {"opinions", "result", "seats"} & set(applicant["data"]) and SECRET_OPINION not in applicant["text"]


def test_bad_declarations_are_refused_at_deploy(db, tmp_path):
    form = {"id": "f", "type": "default", "components": [
        {"type": "textfield", "key": "x", "label": "X", "properties": {"visibility": "secret"}}]}
    with pytest.raises(DefinitionInvalid) as error:
        commands.execute(db, deployment.deploy, [("f.form", json.dumps(form).encode())], "test")
    assert "properties.visibility must be one of" in str(error.value.problems)
