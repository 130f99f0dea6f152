"""The expert pool (engine.expert_pool): draws by discipline with conflict-of-interest avoidance,
ranked backups, replacement, and draws that an auditor can reproduce from the recorded seed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core import commands
from engine.lifecycle import expert_pool
from engine.lifecycle.expert_pool import ConflictContext
from engine.core.models import AuditEvent

APPLICANT_ORG = "浙江大学"
CONTEXT = ConflictContext.of(APPLICANT_ORG, partners=["杭州电子科技大学"], persons=["张伟", "李娜"])


def _pool(db, count: int = 12, discipline: str = "it", **extra) -> list[int]:  # type: ignore[no-untyped-def]
    def add(session):
        ids = []
        for n in range(count):
            ids.append(expert_pool.add_expert(session, name=f"专家{discipline}{n}", organisation=f"研究院{n}",
                                              title="professor", discipline=discipline,
                                              username=f"x.{discipline}{n}", **extra).id)
        return ids
    return commands.execute(db, add)


def _add(db, **fields) -> int:  # type: ignore[no-untyped-def]
    values = {"title": "researcher", "discipline": "it", "organisation": "某研究所"} | fields
    return commands.execute(db, lambda s: expert_pool.add_expert(s, **values).id)


def _draw(db, purpose="review:1", size=5, backups=3, seed="s33d", mode="mail", context=CONTEXT, discipline="it"):  # type: ignore[no-untyped-def]
    return commands.execute(db, lambda s: expert_pool.draw(
        s, purpose=purpose, discipline=discipline, mode=mode, size=size, backups=backups, context=context,
        seed=seed, project_id=1, actor="t").id)


def _members(db, draw_id):  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: [(m.expert_id, m.role, m.status, m.slot)
                                         for m in expert_pool.members(s, draw_id)])


def test_a_draw_takes_the_panel_and_ranked_backups_from_the_discipline_only(db):
    # given 12 IT experts and 5 biomedicine experts
    it = _pool(db, 12, "it")
    _pool(db, 5, "biomed")
    # when 5 experts and 3 backups are drawn for IT
    members = _members(db, _draw(db))
    # then all 8 are IT experts: 5 panel seats 0-4, then 3 standby backups in rank order
    assert {m[0] for m in members} <= set(it) and len(members) == 8
    assert [m[1] for m in members] == ["panel"] * 5 + ["backup"] * 3
    assert [m[3] for m in members] == [0, 1, 2, 3, 4, None, None, None]
    assert [m[2] for m in members[5:]] == ["standby"] * 3


def test_the_same_seed_over_the_same_pool_draws_the_same_experts_in_the_same_order(db):
    _pool(db, 20)
    first = _members(db, _draw(db, purpose="a", seed="audit-seed"))
    second = _members(db, _draw(db, purpose="b", seed="audit-seed"))
    other = _members(db, _draw(db, purpose="c", seed="another-seed"))
    assert [m[0] for m in first] == [m[0] for m in second]
    assert [m[0] for m in first] != [m[0] for m in other]


def test_a_recorded_draw_verifies_against_its_seed_and_detects_tampering(db):
    _pool(db, 12)
    draw_id = _draw(db)
    assert commands.query(db, expert_pool.verify, draw_id) is True

    def swap(session):  # an insider swaps a panel member for someone else
        first = expert_pool.members(session, draw_id)[0]
        first.expert_id = _other(session, draw_id)
    commands.execute(db, swap)
    assert commands.query(db, expert_pool.verify, draw_id) is False


def _other(session, draw_id):  # type: ignore[no-untyped-def]
    drawn = {m.expert_id for m in expert_pool.members(session, draw_id)}
    return next(e.id for e in session.scalars(select(expert_pool.Expert)) if e.id not in drawn)


def test_the_ranking_is_the_sha256_order_an_auditor_can_recompute_by_hand():
    import hashlib
    ids = [3, 17, 5, 42]
    by_hand = sorted(ids, key=lambda i: hashlib.sha256(f"abc:{i}".encode()).hexdigest())
    assert expert_pool.ranking("abc", ids) == by_hand


@pytest.mark.parametrize("fields, reason", [
    ({"organisation": APPLICANT_ORG}, "same_organisation"),
    ({"organisation": "杭州电子科技大学"}, "partner_unit"),
    ({"name": "李娜"}, "team_member"),
    ({"avoid_units": [APPLICANT_ORG]}, "declared_unit"),
    ({"avoid_persons": ["张伟"]}, "declared_person"),
])
def test_conflicted_experts_are_never_drawn_and_the_reason_is_recorded(db, fields, reason):
    # given a small pool where one expert has a conflict with the application
    _pool(db, 5)
    conflicted = _add(db, **({"name": "冲突专家", "username": "x.conflict"} | fields))
    # when a draw takes everyone else it can
    draw_id = _draw(db, size=5, backups=5)
    # then the conflicted expert is excluded, with the reason on record
    assert conflicted not in {m[0] for m in _members(db, draw_id)}
    excluded = commands.query(db, lambda s: expert_pool.get_draw(s, draw_id).excluded)
    assert {"expert_id": conflicted, "name": fields.get("name", "冲突专家"), "reason": reason} in excluded


def test_experts_of_earlier_rounds_can_be_excluded_from_a_new_round(db):
    _pool(db, 10)
    first = {m[0] for m in _members(db, _draw(db, purpose="review:1:r1", size=5, backups=0))}
    earlier = commands.query(db, expert_pool.drawn_expert_ids, 1, "review:1:")
    context = ConflictContext.of(APPLICANT_ORG, exclude_expert_ids=earlier)
    second = {m[0] for m in _members(db, _draw(db, purpose="review:1:r2", size=5, backups=0, context=context))}
    assert earlier == first and not first & second


def test_a_secondary_discipline_makes_an_expert_eligible(db):
    _pool(db, 4, "it")
    extra = _add(db, name="跨学科专家", username="x.cross", discipline="energy", other_disciplines=["it"])
    assert extra in {m[0] for m in _members(db, _draw(db, size=5, backups=0))}


def test_a_pool_too_small_after_avoidance_refuses_the_draw_and_records_nothing(db):
    _pool(db, 4)
    with pytest.raises(ValueError, match="4 eligible expert"):
        _draw(db, size=5)
    assert commands.query(db, lambda s: s.scalars(select(expert_pool.ExpertDraw)).all()) == []


@pytest.mark.parametrize("mode, size", [("panel", 4), ("panel", 6), ("panel", 3), ("mail", 2)])
def test_panels_are_odd_with_at_least_five_and_mail_reviews_need_three(db, mode, size):
    _pool(db, 12)
    with pytest.raises(ValueError, match="odd number of at least 5|at least 3"):
        _draw(db, mode=mode, size=size)


def test_drawing_again_for_the_same_purpose_returns_the_recorded_draw(db):
    # a process step re-run after an error must not draw a second time
    _pool(db, 12)
    assert _draw(db, seed="one") == _draw(db, seed="two")


def test_a_declining_expert_gives_the_seat_to_the_best_ranked_backup(db):
    _pool(db, 12)
    draw_id = _draw(db, size=5, backups=2)
    backups = [m[0] for m in _members(db, draw_id) if m[1] == "backup"]
    seat = commands.execute(db, expert_pool.replace, draw_id, 2, "declined", "出差 · travelling")
    assert seat["slot"] == 2 and seat["status"] == "invited"
    seat_holder = commands.query(db, lambda s: s.scalar(select(expert_pool.Expert.id).where(
        expert_pool.Expert.username == seat["expert"])))
    assert seat_holder == backups[0]
    # and the next one to time out gets the second backup, then nobody is left
    assert commands.execute(db, expert_pool.replace, draw_id, 0, "timed_out")["rank"] == 7
    assert commands.execute(db, expert_pool.replace, draw_id, 2, "conflict")["status"] == "unfilled"
    statuses = [m[2] for m in _members(db, draw_id)]
    assert statuses.count("declined") == statuses.count("timed_out") == statuses.count("conflict") == 1


def test_seats_show_the_current_members_and_their_scores(db):
    _pool(db, 12)
    draw_id = _draw(db, size=5, backups=1)
    commands.execute(db, expert_pool.accept, draw_id, 1)
    commands.execute(db, expert_pool.record_score, draw_id, 1, 88.5)
    commands.execute(db, expert_pool.replace, draw_id, 3, "declined")
    seats = commands.query(db, expert_pool.seats, draw_id)
    assert [s["slot"] for s in seats] == [0, 1, 2, 3, 4]
    assert seats[1]["status"] == "scored" and seats[1]["score"] == 88.5 and seats[3]["rank"] == 6


def test_every_draw_is_in_the_audit_log_with_its_seed(db):
    _pool(db, 12)
    _draw(db, seed="logged-seed")
    events = commands.query(db, lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "experts_drawn")).all())
    assert len(events) == 1 and events[0].details["seed"] == "logged-seed" and len(events[0].details["drawn"]) == 8


def test_an_expert_without_a_user_account_cannot_be_drawn(db):
    _pool(db, 5)
    orphan = _add(db, name="无账号专家")
    assert orphan not in {m[0] for m in _members(db, _draw(db, size=5, backups=3))}


def test_bad_expert_data_is_refused(db):
    from engine.core.errors import InvalidData
    with pytest.raises(InvalidData) as refused:
        _add(db, name="", title="wizard")
    assert set(refused.value.fields) == {"name", "title"}
