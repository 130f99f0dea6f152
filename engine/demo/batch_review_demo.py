"""A call's batch review played to a chosen stage, for the demo and for walking the pages: a
standalone `batch_review` instance over five demo projects in two groups (key R&D information
technology by a meeting panel, natural science materials by mail), worked as the institution,
the drawn experts and the chair would, with the scheduler's pass at the session's start. The
call process (helper `calls`) starts batch_review itself; this module only plays one on its own."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from engine.core import clock, commands
from engine.core.calendar import BUREAU_TZ, add_working_days
from engine.core.db import Database
from engine.core.principals import Actor
from engine.demo import playback
from engine.runtime import instances

STAGES = ("drawn", "scheduled", "scoring", "summing_up", "reviewed")
STAFF = Actor("wang.fang", frozenset({"institution_staff"}))
PROJECTS: list[dict[str, Any]] = [
    {"project_id": 9001, "title": "智能网联汽车车路协同感知关键技术", "plan_category": "key_rd", "discipline": "it",
     "organisation": "杭州智芯科技有限公司", "investigator": "陈宇", "applicant": "chen.yu", "requested_funding": 3000000},
    {"project_id": 9002, "title": "工业互联网边缘安全网关研制", "plan_category": "key_rd", "discipline": "it",
     "organisation": "杭州电子科技大学", "investigator": "王磊", "applicant": "wang.lei", "requested_funding": 2000000},
    {"project_id": 9003, "title": "城市大脑多源数据融合平台", "plan_category": "key_rd", "discipline": "it",
     "organisation": "浙江大学", "investigator": "黄敏", "applicant": "huang.min", "requested_funding": 1500000},
    {"project_id": 9004, "title": "高熵合金增材制造组织调控机理", "plan_category": "natural_science",
     "discipline": "materials", "organisation": "杭州先进材料研究院", "investigator": "张伟", "applicant": "zhang.wei",
     "requested_funding": 200000},
    {"project_id": 9005, "title": "固废基低碳胶凝材料性能研究", "plan_category": "natural_science",
     "discipline": "materials", "organisation": "浙江绿能环境科技有限公司", "investigator": "刘芳",
     "applicant": "liu.fang", "requested_funding": 150000},
]
SUMMARY = "答辩清楚，技术路线可行，建议支持 · a clear defence and a feasible approach; support"


def _scores(member: int) -> dict[str, Any]:
    """A member's rubric: the playback's 88 points, a little apart per member."""
    return playback.SCORES | {"innovation": max(0, playback.SCORES["innovation"] - member % 4),
                              "expert_opinion": "创新性较强，技术路线可行 · innovative and feasible"}


def run_batch_review(db: Database, stage: str = "reviewed", projects: list[dict[str, Any]] | None = None,
                     call_key: str = "demo-batch", call_title: str = "演示批次 · Demo batch",
                     start: datetime | None = None) -> int:
    """Start a batch review and play it to `stage` (one of STAGES): `drawn` (panels drawn, the
    session to schedule), `scheduled` (the mail sheets open, the meeting's wait for the session),
    `scoring` (the session has begun: every sheet open), `summing_up` (all scored, the chair's
    summaries open), `reviewed` (the output `reviews` written). Returns the instance id."""
    if stage not in STAGES:
        raise ValueError(f"stage is one of {', '.join(STAGES)}, not {stage!r}")
    now = start or clock.now()
    with clock.frozen_at(now):
        instance_id = commands.execute(db, instances.start, STAFF, "batch_review",
                                       {"call_key": call_key, "call_title": call_title,
                                        "projects": projects or PROJECTS}).id
    if stage == "drawn":
        return instance_id
    session_day = add_working_days(now, 5).astimezone(BUREAU_TZ).date()
    session_at = datetime.combine(session_day, time(9, 0), tzinfo=BUREAU_TZ)
    for row in playback.open_tasks(db, instance_id):
        if row.name == "schedule_session":
            playback.complete(db, row, {"session_kind": "hybrid", "session_start": session_at.isoformat(),
                                        "session_place": "杭州市科技局 3 楼会议室",
                                        "video_link": "https://meeting.example/demo-batch",
                                        "defence_minutes": 30}, now, STAFF)
    if stage == "scheduled":
        return instance_id
    now = session_at + timedelta(minutes=1)
    playback.tick(db, now)
    if stage == "scoring":
        return instance_id
    members: dict[str, int] = {}
    for row in playback.open_tasks(db, instance_id):
        if row.name == "batch_scoring" and row.assignee:
            members.setdefault(row.assignee, len(members))
            playback.complete(db, row, _scores(members[row.assignee]), now)
    if stage == "summing_up":
        return instance_id
    for row in playback.open_tasks(db, instance_id):
        if row.name == "chair_summary":
            playback.complete(db, row, {"chair_summary": SUMMARY}, now)
    return instance_id
