"""The per-process workflow cache (engine/runtime/store.py) across commands that bump an
instance's revision without touching its workflow: after a claim, the cached workflow serves
the instance's new revision, so the completion that follows needs no reload; a workflow cached
for another revision is never carried over."""
from __future__ import annotations

from engine.core import commands
from engine.core.models import ProcessInstance
from engine.core.principals import Actor
from engine.runtime import instances, store, tasks

SIMPLE = ("bpmn/simple_review.bpmn", "forms/simple_decision.form")
ALICE = Actor("alice", frozenset({"applicants"}))
RITA = Actor("rita", frozenset({"reviewers"}))


def _started(db, deploy) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    deploy(*SIMPLE)
    instance_id = commands.execute(db, instances.start, ALICE, "simple_review", {"title": "Solar"}).id
    return instance_id, commands.query(db, tasks.open_tasks, instance_id)[0].id


def _cached(db, instance_id: int):  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: store.CACHE.take(s.get(ProcessInstance, instance_id)))


def test_after_a_claim_the_cached_workflow_serves_the_new_revision(db, deploy):
    instance_id, task_id = _started(db, deploy)
    commands.execute(db, tasks.claim, RITA, task_id)
    workflow = _cached(db, instance_id)
    assert workflow is not None and workflow.spec.name == "simple_review"


def test_a_completion_after_a_claim_ends_as_one_after_a_reload(db, deploy):
    instance_id, task_id = _started(db, deploy)
    commands.execute(db, tasks.claim, RITA, task_id)
    row, instance = commands.execute(db, tasks.complete, RITA, task_id,
                                     {"decision": "approve", "score": 88})
    assert row.state == "completed" and instance.state == "completed"
    assert instances.data_of(instance)["recorded"] == "approve-recorded"


def test_nothing_is_carried_when_nothing_was_cached(db, deploy):
    instance_id, task_id = _started(db, deploy)
    store.CACHE.clear()  # as in another worker, or after a restart
    commands.execute(db, tasks.claim, RITA, task_id)
    assert _cached(db, instance_id) is None
