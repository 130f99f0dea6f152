"""Credit records (engine.credit): written once per fact, shown newest first to later reviewers."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.lifecycle import credit
from engine.core.errors import InvalidData


def _record(db, name="张伟", kind="rating", outcome="good", key="p1:rating:person", subject="person"):  # type: ignore[no-untyped-def]
    return commands.execute(db, lambda s: credit.record(
        s, subject_type=subject, subject_name=name, kind=kind, outcome=outcome, score=85, project_id=1,
        project_title="T", source_key=key, actor="process").id)


def test_the_same_fact_is_recorded_once_even_if_a_step_runs_twice(db):
    assert _record(db) == _record(db)
    assert len(commands.query(db, credit.history, ["张伟"])) == 1


def test_reviewers_see_a_persons_and_an_organisations_records_newest_first(db):
    _record(db, key="a")
    _record(db, name="浙江大学", subject="organisation", kind="acceptance_failed", outcome="fail", key="b")
    _record(db, name="浙江大学", subject="person", key="c")  # a person who happens to share the name
    records = commands.query(db, credit.history, ["张伟"], ["浙江大学"])
    assert [(r.subject_type, r.subject_name) for r in records] == [("organisation", "浙江大学"), ("person", "张伟")]
    summary = credit.summary(records)
    assert summary["count"] == 2 and summary["negative"] == 1


@pytest.mark.parametrize("field, value", [("kind", "praise"), ("subject", "team")])
def test_unknown_kinds_and_subjects_are_refused(db, field, value):
    with pytest.raises(InvalidData):
        _record(db, **{field: value})
