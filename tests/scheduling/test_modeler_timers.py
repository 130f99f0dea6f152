"""Timers as Camunda Modeler 5 writes them (`xsi:type="bpmn:tFormalExpression"` holding a bare ISO
8601 cycle, duration or date, or JUEL in `${...}`) fire when the scheduler's pass reaches them."""
from __future__ import annotations

from sqlalchemy import select

from engine.core import clock, commands
from engine.core.models import HumanTask
from engine.core.principals import Actor
from engine.runtime import instances, tasks
from tests.scheduling.support import bureau, tick


def _state(db, instance_id):  # type: ignore[no-untyped-def]
    instance = commands.execute(db, lambda s: instances.get(s, instance_id))
    return instance.state if instance.state != "error" else f"error: {instance.error_message}"


def test_cycle_duration_and_juel_date_timers_fire_in_turn(db, deploy, make_user):
    make_user("wen")
    deploy("bpmn/modeler_timers.bpmn")
    wen = Actor("wen")
    with clock.frozen_at(bureau("2030-03-02 10:00")):
        instance = commands.execute(db, instances.start, wen, "modeler_timers", {"new_year": ""})
        instance_id = instance.id
    tick(db, "2030-03-02 12:30")  # the R2/PT1H cycle fires twice, non-interrupting
    assert _state(db, instance_id) == "running"
    task_id = commands.execute(db, lambda s: s.scalars(select(HumanTask.id).where(
        HumanTask.process_instance_id == instance_id, HumanTask.state == "open")).one())
    with clock.frozen_at(bureau("2030-03-02 13:00")):
        commands.execute(db, tasks.complete, wen, task_id, {})
    tick(db, "2030-03-06 13:00")  # P5D not yet
    assert _state(db, instance_id) == "running"
    tick(db, "2030-03-07 13:01")  # P5D has passed; now waiting for the new year
    assert _state(db, instance_id) == "running"
    tick(db, "2031-01-01 09:01")
    assert _state(db, instance_id) == "completed"
