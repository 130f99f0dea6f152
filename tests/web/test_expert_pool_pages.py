"""The expert pool's pages (web/pages/experts.py): institution staff see the pool page by page
with each expert's standing, and an expert's draws and ratings; they rate a finished review (saved
and audited); bad input shows the message and changes nothing; experts and applicants never get in."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.core import commands
from engine.core.models import AuditEvent
from engine.lifecycle import expert_pool, integrity

from .conftest import csrf_from
from .test_admin_pages import signed_in


def _pool(db, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    return commands.execute(db, lambda s: [expert_pool.add_expert(
        s, name=f"专家{n:02d}", organisation=f"研究院{n}", title="professor", discipline="it",
        username=f"x.it{n:02d}").id for n in range(count)])


def _reviewed(db) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A draw of 3 whose members all scored: (draw id, one member's expert id)."""
    def run(session):  # type: ignore[no-untyped-def]
        record = expert_pool.draw(session, purpose="project:1:acceptance:1", discipline="it", mode="group", size=3,
                                  backups=0, context=expert_pool.ConflictContext.of("某大学"), seed="s")
        for seat in expert_pool.seats(session, record.id):
            expert_pool.record_score(session, record.id, seat["slot"], 82)
        return record.id, expert_pool.members(session, record.id)[0].expert_id
    return commands.execute(db, run)


def _ratings(db) -> int:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: s.scalar(select(func.count(expert_pool.ExpertRating.id))))


def test_staff_see_the_pool_page_by_page_with_each_experts_standing_in_chinese(client, db, make_user):
    make_user("wang.fang", ["institution_staff"])
    _pool(db, 30)
    commands.execute(db, lambda s: integrity.add(s, "staff", {
        "subject_type": "person", "subject_name": "专家00", "grade": "serious", "reason": "数据造假，经调查属实",
        "penalty_start": "2020-01-01", "penalty_end": None}))
    signed_in(client, "wang.fang")
    first = client.get("/experts").get_data(as_text=True)
    assert "专家库" in first and "共 30 名专家" in first and first.count("data-expert=") == 25
    assert "处于科研失信惩戒期" in first and "可抽取" in first and "信息技术" in first and "教授" in first
    second = client.get("/experts?page=2").get_data(as_text=True)
    assert second.count("data-expert=") == 5


def test_staff_rate_a_finished_review_and_bad_input_changes_nothing(client, db, make_user):
    make_user("wang.fang", ["institution_staff"])
    _pool(db, 4)
    draw_id, expert_id = _reviewed(db)
    signed_in(client, "wang.fang")
    page = client.get(f"/experts/{expert_id}").get_data(as_text=True)
    assert "验收" in page and "已评审" in page and "保存评价" in page
    token = csrf_from(page)
    # a rating outside 1-5 is refused with the message on the page, and nothing is saved
    bad = client.post(f"/experts/{expert_id}/ratings", data={"csrf_token": token, "draw_id": draw_id,
                                                             "timeliness": 7, "quality": 4})
    assert bad.status_code == 422 and "rating-errors" in bad.get_data(as_text=True) and _ratings(db) == 0
    # a good one is saved, audited, and shown instead of the form
    good = client.post(f"/experts/{expert_id}/ratings", data={"csrf_token": token, "draw_id": draw_id,
                                                              "timeliness": 5, "quality": 4, "comment": "意见详实"})
    assert good.status_code == 302 and _ratings(db) == 1
    shown = client.get(f"/experts/{expert_id}").get_data(as_text=True)
    assert "及时性 5，质量 4" in shown and "意见详实" in shown and "保存评价" not in shown
    audited = commands.query(db, lambda s: s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "expert_rated")))
    assert audited == "wang.fang"
    # rating the same review again is refused
    again = client.post(f"/experts/{expert_id}/ratings", data={"csrf_token": token, "draw_id": draw_id,
                                                               "timeliness": 1, "quality": 1})
    assert again.status_code == 409 and _ratings(db) == 1


def test_experts_and_applicants_never_see_the_pool_and_supervisors_may_not_rate(client, db, make_user):
    make_user("x.it00", ["experts"])
    make_user("zhang.wei", ["applicants"])
    make_user("zhao.min", ["supervisors"])
    _pool(db, 3)
    draw_id, expert_id = _reviewed(db)
    for name in ("x.it00", "zhang.wei"):
        other = signed_in(client.application.test_client(), name)
        assert other.get("/experts").status_code == 403 and other.get(f"/experts/{expert_id}").status_code == 403
    signed_in(client, "zhao.min")
    page = client.get(f"/experts/{expert_id}").get_data(as_text=True)
    assert "保存评价" not in page
    response = client.post(f"/experts/{expert_id}/ratings", data={"csrf_token": csrf_from(page), "draw_id": draw_id,
                                                                  "timeliness": 1, "quality": 1})
    assert response.status_code == 403 and _ratings(db) == 0
