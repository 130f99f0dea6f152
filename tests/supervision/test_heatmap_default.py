"""The heatmap opens on a process that has data: with no process chosen, the deployed process
with the most running instances, then the most instances; the first only when none has any."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.core.errors import Forbidden
from engine.core.principals import Actor
from engine.runtime import instances
from engine.supervision import dashboard

from .helpers import BOSS, OFFICER

STARTER = Actor("ann", frozenset({"applicants"}))


def test_the_heatmap_defaults_to_the_process_with_data(db, deploy):
    # given three deployed processes: one running instance, one terminated instance, one with none
    deploy("bpmn/loop.bpmn", "bpmn/simple_review.bpmn", "forms/simple_decision.form", "bpmn/timer_wait.bpmn")
    commands.execute(db, instances.start, STARTER, "simple_review", {"title": "Solar"})
    ended = commands.execute(db, instances.start, STARTER, "loop", {})
    commands.execute(db, instances.terminate, BOSS, ended.id, "test")
    # then running instances count first, then any instance, whatever the order of the list
    assert commands.query(db, dashboard.busiest_process, BOSS, ["timer_wait", "loop", "simple_review"]) == "simple_review"
    assert commands.query(db, dashboard.busiest_process, BOSS, ["timer_wait", "loop"]) == "loop"
    assert commands.query(db, dashboard.busiest_process, BOSS, ["timer_wait"]) == "timer_wait"
    assert commands.query(db, dashboard.busiest_process, BOSS, []) is None
    with pytest.raises(Forbidden):
        commands.query(db, dashboard.busiest_process, OFFICER, ["loop"])
