"""The expert pool's standing rules (engine/lifecycle/expert_pool.py): nobody in an integrity
penalty period is drawn, nobody more than DRAWS_PER_YEAR times a year, nobody of the applying
unit or its people, and the institution's ratings after each review feed the draw."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.core import clock, commands
from engine.core.calendar import BUREAU_TZ
from engine.core.errors import Conflict, InvalidData
from engine.core.models import AuditEvent
from engine.lifecycle import expert_pool, integrity
from engine.lifecycle.expert_pool import ConflictContext

CONTEXT = ConflictContext.of("浙江大学", persons=["张伟"])
NOW = datetime(2026, 6, 1, 10, tzinfo=BUREAU_TZ)


def _pool(db, count: int = 8) -> list[int]:  # type: ignore[no-untyped-def]
    return commands.execute(db, lambda s: [expert_pool.add_expert(
        s, name=f"专家{n}", organisation=f"研究院{n}", title="professor", discipline="it",
        username=f"x.it{n}").id for n in range(count)])


def _draw(db, purpose: str, size: int = 3, backups: int = 0, context=CONTEXT, **extra):  # type: ignore[no-untyped-def]
    with clock.frozen_at(extra.pop("at", NOW)):
        return commands.execute(db, lambda s: expert_pool.draw(
            s, purpose=purpose, discipline="it", mode="group", size=size, backups=backups, context=context,
            seed="seed", project_id=1, **extra).id)


def _drawn(db, draw_id: int) -> set[int]:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: {m.expert_id for m in expert_pool.members(s, draw_id)})


def _excluded(db, draw_id: int) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: {e["expert_id"]: e["reason"] for e in expert_pool.get_draw(s, draw_id).excluded})


def _list(db, name: str, start: str, end: str | None, grade: str = "serious") -> int:  # type: ignore[no-untyped-def]
    return commands.execute(db, lambda s: integrity.add(s, "staff", {
        "subject_type": "person", "subject_name": name, "grade": grade, "reason": "数据造假，经调查属实",
        "penalty_start": start, "penalty_end": end}).id)


def _score_all(db, draw_id: int) -> None:  # type: ignore[no-untyped-def]
    def score(session):  # type: ignore[no-untyped-def]
        for seat in expert_pool.seats(session, draw_id):
            expert_pool.record_score(session, draw_id, seat["slot"], 80)
    commands.execute(db, score)


def _rate(db, draw_id: int, expert_id: int, timeliness, quality, actor: str = "wang.fang"):  # type: ignore[no-untyped-def]
    return commands.execute(db, lambda s: expert_pool.rate(
        s, actor, draw_id, expert_id, {"timeliness": timeliness, "quality": quality}).id)


def test_an_expert_in_an_integrity_penalty_period_is_never_drawn_and_is_again_once_it_ends(db):
    # given 4 experts, one of them on the integrity list until the end of 2026
    ids = _pool(db, 4)
    _list(db, "专家2", "2025-01-01", "2026-12-31")
    # when 3 are drawn, in 2026 and in 2027
    during = _draw(db, "a", size=3)
    after = _draw(db, "b", size=3, at=datetime(2027, 1, 5, 10, tzinfo=BUREAU_TZ))
    # then the listed expert is excluded with the reason while the penalty runs, and drawable after
    assert ids[2] not in _drawn(db, during) and _excluded(db, during)[ids[2]] == "integrity_penalty"
    assert ids[2] not in _excluded(db, after)


def test_a_penalty_without_end_excludes_for_good_and_too_few_experts_is_a_clear_error(db):
    _pool(db, 3)
    _list(db, "专家0", "2020-01-01", None, grade="severe")
    with pytest.raises(ValueError, match="pool's rules; the review needs 3"):
        _draw(db, "a", size=3)


def test_no_expert_takes_more_seats_in_a_year_than_the_yearly_limit(db):
    # given 4 experts and a limit of 2 seats a year
    _pool(db, 4)
    counts: dict[int, int] = {}
    # when 3 of them are drawn for 2 reviews after another
    for n in range(2):
        for expert_id in _drawn(db, _draw(db, f"r{n}", size=3, yearly_limit=2)):
            counts[expert_id] = counts.get(expert_id, 0) + 1
    # then nobody sat more than twice, and a third review of 3 cannot be staffed this year
    assert max(counts.values()) <= 2
    with pytest.raises(ValueError):
        _draw(db, "r2", size=3, yearly_limit=2)
    # and next year the count starts again
    assert len(_drawn(db, _draw(db, "r3", size=3, yearly_limit=2, at=datetime(2027, 1, 4, 10, tzinfo=BUREAU_TZ)))) == 3


def test_the_default_yearly_limit_is_a_documented_setting():
    assert expert_pool.DRAWS_PER_YEAR == 8 and "DRAWS_PER_YEAR" in (expert_pool.__doc__ or "")


def test_experts_of_the_same_unit_and_the_applicant_and_the_units_people_are_avoided(db):
    # given experts, one at the applying unit, one whose account is the applicant's unit office's
    ids = _pool(db, 5)
    same_unit = commands.execute(db, lambda s: expert_pool.add_expert(
        s, name="同单位专家", organisation="浙江大学", title="professor", discipline="it", username="x.same").id)
    context = ConflictContext.of("浙江大学", persons=["张伟"], usernames=["x.it1", "zhang.wei"])
    # when 4 are drawn
    draw_id = _draw(db, "a", size=4, context=context)
    # then neither is drawn, each with its reason
    excluded = _excluded(db, draw_id)
    assert excluded[same_unit] == "same_organisation" and excluded[ids[1]] == "applicant_person"
    assert same_unit not in _drawn(db, draw_id) and ids[1] not in _drawn(db, draw_id)


def test_the_units_people_are_its_users_and_its_office_group(db):
    from engine.core import users

    def setup(session):  # type: ignore[no-untyped-def]
        users.create_user(session, "li.staff", "Secret-pass-12345", [], org="浙江大学")
        users.create_user(session, "office.zju", "Secret-pass-12345", ["unit.zju"])
        users.create_user(session, "other", "Secret-pass-12345", [], org="别的大学")
        return expert_pool.people_of(session, "浙江大学", "zhang.wei", "unit.zju")
    assert commands.execute(db, setup) == ["li.staff", "office.zju", "zhang.wei"]


def test_ratings_feed_the_draw_an_expert_rated_below_the_floor_is_not_drawn(db):
    # given 4 experts who all reviewed twice (a panel of 4 each time)
    ids = _pool(db, 5)
    first, second = _draw(db, "a", size=4), _draw(db, "b", size=4)
    _score_all(db, first)
    _score_all(db, second)
    rated = sorted(_drawn(db, first) & _drawn(db, second))[0]
    # when the institution rates one of them poorly twice, and another poorly once
    _rate(db, first, rated, 1, 2)
    _rate(db, second, rated, 2, 2)
    once = sorted(_drawn(db, first) & _drawn(db, second))[1]
    _rate(db, first, once, 1, 1)
    # then the twice-poorly-rated expert is not drawn (low_rating); one rating judges nobody yet
    third = _draw(db, "c", size=3)
    assert _excluded(db, third).get(rated) == "low_rating" and rated not in _drawn(db, third)
    assert once not in _excluded(db, third)
    standing = commands.query(db, lambda s: expert_pool.standings(s, [expert_pool.get_expert(s, rated)])[rated])
    assert standing.rating == 1.75 and standing.ratings == 2 and standing.draws_this_year == 2
    assert set(ids) >= _drawn(db, third)


def test_a_rating_is_audited_once_per_review_and_bad_input_names_the_field_and_changes_nothing(db):
    _pool(db, 3)
    draw_id = _draw(db, "a", size=3)
    expert_id = sorted(_drawn(db, draw_id))[0]
    # before the review is over: refused
    with pytest.raises(Conflict):
        _rate(db, draw_id, expert_id, 4, 4)
    _score_all(db, draw_id)
    with pytest.raises(InvalidData) as error:
        _rate(db, draw_id, expert_id, 6, 4)
    assert "timeliness" in error.value.fields
    _rate(db, draw_id, expert_id, 4, 5)
    with pytest.raises(Conflict):
        _rate(db, draw_id, expert_id, 3, 3)
    events = commands.query(db, lambda s: [(e.actor, e.details["quality"]) for e in s.scalars(
        select(AuditEvent).where(AuditEvent.action == "expert_rated"))])
    assert events == [("wang.fang", 5)]
    lines, total = commands.query(db, lambda s: expert_pool.draws_of(s, expert_id))
    assert total == 1 and lines[0].rating is not None and not lines[0].may_rate


def test_a_draws_purpose_names_its_review_for_projects_and_for_a_calls_batch():
    assert expert_pool.review_of("project:7:acceptance:1") == "acceptance"
    assert expert_pool.review_of("call:2026-2:batch_review:key_rd/it") == "batch_review"
    assert "batch_review" in expert_pool.REVIEW_LABELS
