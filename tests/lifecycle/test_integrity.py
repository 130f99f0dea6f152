"""The research-integrity list (engine.integrity): penalty periods gate people and organisations
on the days they cover, and every change of the list is kept in its history."""
from __future__ import annotations

from datetime import date

import pytest

from engine.core import commands
from engine.lifecycle import integrity
from engine.core.errors import Conflict, InvalidData

ENTRY = {"subject_type": "person", "subject_name": "王某", "grade": "serious",
         "reason": "伪造实验数据 · fabricated experimental data", "penalty_start": "2025-03-01",
         "penalty_end": "2028-02-29", "document_no": "杭科监〔2025〕3号"}


def _add(db, **changes) -> int:  # type: ignore[no-untyped-def]
    return commands.execute(db, integrity.add, "officer", ENTRY | changes).id


def _check(db, on, persons=(("王某", "investigator"),), organisations=()):  # type: ignore[no-untyped-def]
    return commands.query(db, integrity.check, list(persons), list(organisations), on)


def test_a_person_is_blocked_only_on_the_days_of_the_penalty_period(db):
    _add(db)
    assert _check(db, date(2025, 2, 28)) == []
    assert [f.role for f in _check(db, date(2025, 3, 1))] == ["investigator"]
    assert len(_check(db, date(2028, 2, 29))) == 1
    assert _check(db, date(2028, 3, 1)) == []


def test_a_penalty_without_end_date_never_expires(db):
    _add(db, grade="severe", penalty_end=None)
    assert len(_check(db, date(2060, 1, 1))) == 1


def test_organisations_are_checked_separately_from_people_of_the_same_name(db):
    _add(db, subject_type="organisation", subject_name="某科技有限公司")
    assert _check(db, date(2026, 1, 1), persons=[("某科技有限公司", "investigator")]) == []
    [finding] = _check(db, date(2026, 1, 1), persons=[], organisations=[("某科技有限公司", "organisation")])
    assert finding.subject_type == "organisation" and "penalty period" in finding.to_dict()["message"]


def test_a_revoked_entry_no_longer_blocks_but_stays_in_the_history(db):
    entry_id = _add(db)
    commands.execute(db, integrity.revoke, "officer", entry_id, "复议撤销 · overturned on appeal")
    assert _check(db, date(2026, 1, 1)) == []
    history = commands.query(db, integrity.history, entry_id)
    assert [h.action for h in history] == ["created", "revoked"]
    assert history[1].before["state"] == "active" and history[1].after["state"] == "revoked"


def test_an_amendment_keeps_before_and_after_in_the_history(db):
    entry_id = _add(db)
    commands.execute(db, integrity.amend, "officer", entry_id, {"penalty_end": "2026-02-28"},
                     "复议缩短惩戒期 · shortened on reconsideration")
    assert _check(db, date(2026, 3, 1)) == []
    [_, amended] = commands.query(db, integrity.history, entry_id)
    assert amended.before["penalty_end"] == "2028-02-29" and amended.after["penalty_end"] == "2026-02-28"
    assert amended.actor == "officer" and "reconsideration" in amended.reason


@pytest.mark.parametrize("bad, field", [
    ({"grade": "mild"}, "grade"), ({"subject_type": "team"}, "subject_type"),
    ({"penalty_end": "2024-01-01"}, "penalty_end"), ({"reason": ""}, "reason"),
    ({"penalty_start": "not a date"}, "penalty_start")])
def test_bad_entries_are_refused_with_the_field_named_and_nothing_written(db, bad, field):
    with pytest.raises(InvalidData) as refused:
        _add(db, **bad)
    assert field in refused.value.fields
    assert commands.query(db, integrity.entries) == []


def test_a_revoked_entry_cannot_be_amended_or_revoked_again(db):
    entry_id = _add(db)
    commands.execute(db, integrity.revoke, "officer", entry_id, "overturned")
    with pytest.raises(Conflict):
        commands.execute(db, integrity.revoke, "officer", entry_id, "again")
    with pytest.raises(Conflict):
        commands.execute(db, integrity.amend, "officer", entry_id, {"grade": "general"}, "again")


def test_changes_need_a_reason(db):
    entry_id = _add(db)
    with pytest.raises(InvalidData):
        commands.execute(db, integrity.revoke, "officer", entry_id, " ")
