"""What a supervisor sees of the lifecycle: items of the attention list name the stage process
an element sits in (as the inbox does), not only the lifecycle that calls it."""
from __future__ import annotations

import pytest

from engine.supervision import attention, dashboard
from engine.core import commands
from engine.core.errors import NotFound
from engine.core.principals import Actor
from tests.lifecycle.world import APPLICATION, Driver, build_world, sh

SUPERVISOR = Actor("zhao.min", frozenset({"supervisors"}))


def test_an_overdue_unit_review_is_listed_under_the_application_acceptance_stage(db):
    # given a submitted application whose review by its unit is long overdue
    build_world(db)
    driver = Driver(db, sh(2026, 3, 2))
    driver.start("project_lifecycle", APPLICATION)
    driver.advance_to(sh(2026, 4, 30))
    # when a supervisor reads the overdue items
    with driver.at():
        page = commands.query(db, attention.attention, SUPERVISOR, attention.Filters(kinds=("overdue",)))
    # then the unit's review is there, in the application acceptance stage of the lifecycle
    [item] = [i for i in page.items if i.element == "unit_review"]
    assert item.process_key == "project_lifecycle"
    assert item.stage.startswith("申报受理") and item.stage != item.process_name


def test_the_heatmap_counts_a_stage_on_its_call_activity_and_shows_the_stage_on_request(db):
    # given two applications waiting for their unit's review inside the application acceptance stage
    build_world(db)
    driver = Driver(db, sh(2026, 3, 2))
    driver.start("project_lifecycle", APPLICATION)
    driver.start("project_lifecycle", {**APPLICATION, "title": APPLICATION["title"] + "（二期）"})
    with driver.later(days=7).at():
        # when a supervisor opens the lifecycle's heatmap
        whole = commands.query(db, dashboard.heatmap, SUPERVISOR, "project_lifecycle")
        # then both are counted on the call activity of that stage, which the root diagram draws
        cells = {row["element"]: row for row in whole["elements"]}
        assert cells["stage_application_acceptance"]["waiting"] == 2
        assert "unit_review" not in cells and 'id="stage_application_acceptance"' in whole["diagram"]
        assert [s["key"] for s in whole["stages"]][0] == "application_acceptance"
        # and when they open that stage, they see its own diagram with the unit's review step
        stage = commands.query(db, dashboard.heatmap, SUPERVISOR, "project_lifecycle", stage="application_acceptance")
        assert {row["element"]: row["waiting"] for row in stage["elements"]} == {"unit_review": 2}
        assert 'id="unit_review"' in stage["diagram"]
        # and a stage the process does not call is a clear 404
        with pytest.raises(NotFound):
            commands.query(db, dashboard.heatmap, SUPERVISOR, "project_lifecycle", stage="nonexistent")
