"""A designer adds a new decision table to a draft: a blank FEEL table named by its decision id,
which validates as it is and deploys (stored as a deployed DMN file). A bad or taken id, or
someone who is not a designer, changes nothing."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.core.errors import Forbidden, InvalidData
from engine.core.models import DefinitionFile
from engine.core.principals import Actor
from engine.designer import process_drafts

DESIGNER = Actor("dana", frozenset({"designers"}))
REVIEWER = Actor("rita", frozenset({"reviewers"}))


def _draft(db) -> int:  # type: ignore[no-untyped-def]
    return commands.execute(db, lambda s: process_drafts.create(s, DESIGNER, "Tables").id)


def test_a_new_table_validates_as_it_is_and_deploys(db):
    draft_id = _draft(db)
    filename = commands.execute(db, process_drafts.new_decision, DESIGNER, draft_id, "risk_band", "风险 <分档>")
    assert filename == "risk_band.dmn"
    verdict = commands.query(db, process_drafts.validate, DESIGNER, draft_id)
    assert verdict.valid and verdict.problems == []
    commands.execute(db, process_drafts.deploy, DESIGNER, draft_id)
    stored = commands.query(db, lambda s: [f.filename for f in s.query(DefinitionFile)])
    assert stored == ["risk_band.dmn"]


@pytest.mark.parametrize("actor, decision_id, error", [
    (DESIGNER, "1st", InvalidData), (DESIGNER, "a b", InvalidData), (DESIGNER, "", InvalidData),
    (DESIGNER, "taken", InvalidData), (REVIEWER, "fine", Forbidden),
])
def test_a_bad_or_taken_id_or_a_non_designer_changes_nothing(db, actor, decision_id, error):
    draft_id = _draft(db)
    commands.execute(db, process_drafts.new_decision, DESIGNER, draft_id, "taken", None)
    with pytest.raises(error):
        commands.execute(db, process_drafts.new_decision, actor, draft_id, decision_id, None)
    draft = commands.query(db, process_drafts.get, DESIGNER, draft_id)
    assert sorted(draft.files) == ["taken.dmn"]
