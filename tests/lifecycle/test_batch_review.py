"""batch_review started on its own (as the call process would call it) with five projects of a
call in two discipline groups: key R&D materials by a meeting panel (会评, 7 experts), natural
science materials by mail (函评, 5 experts). One panel per group avoiding every project's
organisation and people; the session scheduled by the institution with defence slots told to the
applicants (never the experts); every member scores every project, nobody sees another's score;
the chair sums up each project seeing them all; the output `reviews` holds the aggregates."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.core import commands
from engine.lifecycle import expert_pool, scoring
from engine.notify.notifications import Notification
from engine.runtime import access, instances
from engine.workspace import history
from tests.lifecycle.world import EXPERT, ORG, PARTNER, STAFF, Driver, sh

OTHER_ORG = "浙江大学"
PROJECTS = [
    {"project_id": 101, "title": "高熵合金激光增材制造", "plan_category": "key_rd", "discipline": "materials",
     "organisation": ORG, "investigator": "张伟", "applicant": "zhang.wei", "requested_funding": 1200000},
    {"project_id": 102, "title": "轻量化铝基复合材料构件", "plan_category": "key_rd", "discipline": "materials",
     "organisation": PARTNER, "investigator": "李娜", "applicant": "li.na", "requested_funding": 900000},
    {"project_id": 103, "title": "钙钛矿电池封装材料", "plan_category": "key_rd", "discipline": "materials",
     "organisation": OTHER_ORG, "investigator": "王磊", "applicant": "wang.lei", "requested_funding": 800000},
    {"project_id": 104, "title": "纳米多孔催化材料机理", "plan_category": "natural_science", "discipline": "materials",
     "organisation": OTHER_ORG, "investigator": "陈宇", "applicant": "chen.yu", "requested_funding": 200000},
    {"project_id": 105, "title": "石墨烯界面热输运", "plan_category": "natural_science", "discipline": "materials",
     "organisation": ORG, "investigator": "刘芳", "applicant": "liu.fang", "requested_funding": 150000},
]
START = {"call_key": "2027-1", "call_title": "2027 年度第一批科技计划项目", "projects": PROJECTS}
SESSION = {"session_kind": "hybrid", "session_start": "2027-03-15T09:00:00", "session_place": "市科技局 3 楼会议室",
           "video_link": "https://meeting.example/2027-1", "defence_minutes": 30}
MEETING, MAIL = "key_rd/materials", "natural_science/materials"


def _rubric(total: float) -> dict[str, Any]:
    """A rubric adding up to `total`, with an opinion."""
    parts = {"innovation": 30, "feasibility": 25, "team_capability": 15, "budget_reasonableness": 15}
    scored = {k: round(v * total / 100, 1) for k, v in parts.items()}
    scored["expected_benefits"] = round(total - sum(scored.values()), 1)
    return scored | {"expert_opinion": "思路清楚，方案可行 · clear and feasible"}


def _total(project_id: int, member: int) -> float:
    """Each member's total for a project: spread so that trimming matters."""
    return 70 + (project_id - 100) * 2 + member * 3


def _started(db) -> Driver:  # type: ignore[no-untyped-def]
    d = Driver(db, sh(2027, 3, 1))
    d.start("batch_review", START, actor=STAFF)
    return d


def _groups(d: Driver) -> dict[str, dict[str, Any]]:
    return {g["group"]: g for g in d.data()["groups"]}


def _scoring_rows(d: Driver, project_id: int | None = None) -> list[Any]:
    rows = d.expert_rows("batch_scoring")
    if project_id is None:
        return rows
    title = next(p["title"] for p in PROJECTS if p["project_id"] == project_id)
    return [r for r in rows if r.title.endswith(title)]


def _score_all(d: Driver, groups: dict[str, dict[str, Any]]) -> None:
    for project in PROJECTS:
        group = groups.get(f"{project['plan_category']}/{project['discipline']}")
        if group is None:
            continue
        for row in _scoring_rows(d, project["project_id"]):
            member = group["members"].index(row.assignee)
            d.complete_row(row, EXPERT(row.assignee), _rubric(_total(project["project_id"], member)))


def _scheduled(db) -> Driver:  # type: ignore[no-untyped-def]
    d = _started(db)
    d.complete("schedule_session", STAFF, SESSION)
    d.advance_to(sh(2027, 3, 15, 9, 1))  # the session begins: the meeting's sheets open
    return d


def _view(db, d: Driver, username: str):  # type: ignore[no-untyped-def]
    def look(session):  # type: ignore[no-untyped-def]
        view = access.view_of(session, EXPERT(username), instances.get(session, d.instance_id))
        return view
    return look


def _sees_score_of(db, d: Driver, viewer: str, row) -> bool:  # type: ignore[no-untyped-def]
    def look(session):  # type: ignore[no-untyped-def]
        view = access.view_of(session, EXPERT(viewer), instances.get(session, d.instance_id))
        return view.submitted_field_shown(row, row.completed_by, "innovation")
    return commands.query(db, look)


def _completed_scoring(db, d: Driver) -> list[Any]:  # type: ignore[no-untyped-def]
    from engine.core.models import HumanTask
    return commands.query(db, lambda s: list(s.scalars(select(HumanTask).where(
        HumanTask.process_instance_id == d.instance_id, HumanTask.name == "batch_scoring",
        HumanTask.state == "completed"))))


def test_the_call_falls_into_a_meeting_group_and_a_mail_group_each_with_one_panel_avoiding_every_project(world):
    d = _started(world)
    groups = _groups(d)
    # then two discipline groups, the review plan choosing a meeting of 7 and a mail review of 5
    assert set(groups) == {MEETING, MAIL}
    assert groups[MEETING]["mode"] == "meeting" and len(groups[MEETING]["members"]) == 7
    assert groups[MAIL]["mode"] == "mail" and len(groups[MAIL]["members"]) == 5
    assert [p["project_id"] for p in groups[MEETING]["projects"]] == [101, 102, 103]
    # the first drawn chairs the meeting; no panel holds an expert of any project's organisation
    assert groups[MEETING]["chair"] == groups[MEETING]["members"][0]
    assert not {"expert.same_org", "expert.partner"} & set(groups[MEETING]["members"])  # 101's and 102's units
    assert "expert.same_org" not in groups[MAIL]["members"]  # 105's unit
    for group in groups.values():
        assert commands.query(world, expert_pool.verify, group["draw_id"])
    # nobody sits on both panels (the pool is large enough)
    assert not set(groups[MAIL]["members"]) & set(groups[MEETING]["members"])
    # the institution is asked to schedule the meeting; nobody scores before the session is set
    task = d.task("schedule_session")
    assert task.candidate_groups == ["institution_staff"] and "重点研发计划新材料组" in task.title
    assert d.expert_rows("batch_scoring") == []


def test_the_scheduled_session_tells_the_panel_and_each_applicant_their_slot_but_never_the_experts(world):
    d = _started(world)
    d.complete("schedule_session", STAFF, SESSION)
    groups = _groups(d)
    slots = groups[MEETING]["session"]["slots"]
    assert [(s["order"], s["project_id"], s["starts_at"][11:16]) for s in slots] == [
        (1, 101, "09:00"), (2, 102, "09:30"), (3, 103, "10:00")]
    sent = commands.query(world, lambda s: [(n.username, n.kind, n.params) for n in s.scalars(select(Notification))])
    to_panel = {u for u, kind, _ in sent if kind == "panel_session"}
    assert to_panel == set(groups[MEETING]["members"])
    defences = {u: p for u, kind, p in sent if kind == "defence_slot"}
    assert set(defences) == {"zhang.wei", "li.na", "wang.lei"}  # the mail group's applicants defend nothing
    assert defences["li.na"]["when"] == "2027-03-15 09:30" and defences["li.na"]["until"] == "10:00"
    assert "市科技局" in defences["li.na"]["where"] and "meeting.example" in defences["li.na"]["where"]
    experts = commands.query(world, lambda s: {(e.username, e.name) for e in s.scalars(select(expert_pool.Expert))})
    for params in defences.values():
        assert not any(u in str(params) or n in str(params) for u, n in experts)
    # then the mail group's sheets are open at once; the meeting's wait for the session
    assert len(d.expert_rows("batch_scoring")) == 5 * 2
    d.advance_to(sh(2027, 3, 15, 9, 1))
    rows = d.expert_rows("batch_scoring")
    assert len(rows) == 5 * 2 + 7 * 3
    for project in PROJECTS:  # every member has a sheet for every project of the group
        group = groups[f"{project['plan_category']}/{project['discipline']}"]
        assert sorted(r.assignee for r in _scoring_rows(d, project["project_id"])) == sorted(group["members"])


def test_an_expert_sees_no_other_members_score_before_or_after_submitting_their_own(world):
    d = _scheduled(world)
    members = _groups(d)[MEETING]["members"]
    first, second = members[1], members[2]
    row = _scoring_rows(d, 101)
    mine = next(r for r in row if r.assignee == first)
    d.complete_row(mine, EXPERT(first), _rubric(88))
    done = next(r for r in _completed_scoring(world, d) if r.completed_by == first)
    # then another member does not see the score, before their own is in or after
    assert not _sees_score_of(world, d, second, done)
    theirs = next(r for r in _scoring_rows(d, 101) if r.assignee == second)
    d.complete_row(theirs, EXPERT(second), _rubric(80))
    assert not _sees_score_of(world, d, second, done)
    # and the chair does not either while members are still scoring
    assert not _sees_score_of(world, d, members[0], done)


def test_the_chair_sums_up_each_project_seeing_every_members_scores_and_the_reviews_aggregate_them(world):
    d = _scheduled(world)
    groups = _groups(d)
    _score_all(d, groups)
    chair = groups[MEETING]["chair"]
    summaries = d.expert_rows("chair_summary")
    assert [r.assignee for r in summaries] == [chair] * 3
    assert {r.title.split(" — ")[-1] for r in summaries} == {p["title"] for p in PROJECTS[:3]}
    # then the chair sees every member's scores; another member still sees none
    others = [r for r in _completed_scoring(world, d) if r.completed_by != chair and r.title.endswith(PROJECTS[0]["title"])]
    assert len(others) == 6 and all(_sees_score_of(world, d, chair, r) for r in others)
    assert not any(_sees_score_of(world, d, groups[MEETING]["members"][1], r) for r in others
                   if r.completed_by != groups[MEETING]["members"][1])

    def chairs_page(session):  # type: ignore[no-untyped-def]
        view = access.view_of(session, EXPERT(chair), instances.get(session, d.instance_id))
        return [e for e in history.decisions(session, view, instances.get(session, d.instance_id))
                if any(f.key == "innovation" for f in e.fields)]
    assert len(commands.query(world, chairs_page)) == 7 * 3  # every meeting sheet, with its scores
    for row in summaries:
        d.complete_row(row, EXPERT(chair), {"chair_summary": "答辩清楚，建议支持 · a clear defence; support"})
    assert d.state() == "completed"
    reviews = d.data()["reviews"]
    assert set(reviews) == {"101", "102", "103", "104", "105"}
    for project in PROJECTS:
        size = 7 if project["plan_category"] == "key_rd" else 5
        expected = scoring.aggregate([_total(project["project_id"], m) for m in range(size)], "trimmed_mean").score
        review = reviews[str(project["project_id"])]
        assert review["score"] == expected and review["valid_opinions"] == size
        assert review["mode"] == ("meeting" if size == 7 else "mail")
        assert review["summary"] == ("答辩清楚，建议支持 · a clear defence; support" if size == 7 else "")


def test_a_batch_of_mail_groups_only_needs_no_session_and_no_chair(world):
    d = Driver(world, sh(2027, 3, 1))
    d.start("batch_review", START | {"projects": PROJECTS[3:]}, actor=STAFF)
    assert d.names() == ["batch_scoring"] * 10
    _score_all(d, _groups(d))
    assert d.state() == "completed" and d.data()["reviews"]["104"]["score"] == scoring.aggregate(
        [_total(104, m) for m in range(5)]).score


def test_a_member_who_misses_the_deadline_gives_no_opinion_and_the_project_counts_one_fewer(world):
    d = Driver(world, sh(2027, 3, 1))
    d.start("batch_review", START | {"projects": PROJECTS[3:]}, actor=STAFF)
    group = _groups(d)[MAIL]
    late = group["members"][4]
    for row in _scoring_rows(d):
        if not (row.assignee == late and row.title.endswith(PROJECTS[3]["title"])):
            member = group["members"].index(row.assignee)
            project_id = 104 if row.title.endswith(PROJECTS[3]["title"]) else 105
            d.complete_row(row, EXPERT(row.assignee), _rubric(_total(project_id, member)))
    # when 10 working days pass without the last score
    assert d.state() == "running"
    d.advance_to(sh(2027, 3, 16))
    assert d.state() == "completed"
    review = d.data()["reviews"]["104"]
    assert review["valid_opinions"] == 4
    assert review["score"] == scoring.aggregate([_total(104, m) for m in range(4)]).score  # 4: no trimming
    assert d.data()["reviews"]["105"]["valid_opinions"] == 5


def test_a_session_without_a_place_or_link_is_refused_and_changes_nothing(world):
    d = _started(world)
    from engine.core.errors import InvalidData
    import pytest
    with pytest.raises(InvalidData) as refused:
        d.complete("schedule_session", STAFF, SESSION | {"session_kind": "on_site", "session_place": ""})
    assert "session_place" in refused.value.fields
    assert d.names() == ["schedule_session"]


def test_the_defence_slot_and_the_session_read_in_either_language_and_a_titles_detail_survives_the_pick():
    from engine.notify import texts
    slot = {"call": "2027 年度第一批", "title": "高熵合金激光增材制造", "order": 2, "when": "2027-03-15 09:30",
            "until": "10:00", "where": "市科技局 3 楼会议室"}
    assert texts.render("defence_slot", slot, "zh_CN") == (
        "答辩安排：高熵合金激光增材制造",
        "您的项目「高熵合金激光增材制造」参加「2027 年度第一批」的会评答辩：第 2 个，2027-03-15 09:30 至 10:00，"
        "地点 市科技局 3 楼会议室。请项目负责人准时到场（或通过视频参加）。")
    assert "number 2, 2027-03-15 09:30 to 10:00" in texts.render("defence_slot", slot, "en")[1]
    session = {"call": "2027 年度第一批", "when": "2027-03-15 09:00", "where": "https://meeting.example", "count": 3}
    assert "3 个项目答辩" in texts.render("panel_session", session, "zh_CN")[1]
    # a task's title with its detail (titleDetail) is picked part by part
    assert texts.pick("专家评分 · Score the application — 高熵合金", "en") == "Score the application — 高熵合金"
    assert texts.pick("安排会评 · Schedule — 重点研发计划新材料组 · Key R&D, New materials", "zh_CN") == "安排会评 — 重点研发计划新材料组"
