"""What a supervisor sees of the lifecycle: items of the attention list name the stage process
an element sits in (as the inbox does), not only the lifecycle that calls it."""
from __future__ import annotations

from engine import attention, commands
from engine.principals import Actor
from tests.lifecycle.world import APPLICATION, Driver, build_world, sh

SUPERVISOR = Actor("zhao.min", frozenset({"supervisors"}))


def test_an_overdue_endorsement_is_listed_under_the_application_acceptance_stage(db):
    # given a submitted application whose endorsement is long overdue
    build_world(db)
    driver = Driver(db, sh(2026, 3, 2))
    driver.start("project_lifecycle", APPLICATION)
    driver.advance_to(sh(2026, 4, 30))
    # when a supervisor reads the overdue items
    with driver.at():
        page = commands.query(db, attention.attention, SUPERVISOR, attention.Filters(kinds=("overdue",)))
    # then the endorsement is there, in the application acceptance stage of the lifecycle
    [item] = [i for i in page.items if i.element == "endorse"]
    assert item.process_key == "project_lifecycle"
    assert item.stage.startswith("申报受理") and item.stage != item.process_name
