"""The designer's engine rules: drafts are designers' only and deploy all or nothing; a version
comparison names what changed; running instances keep their version unless migrated, and a
migration moves an instance only when the target has every task it waits at; a test run of a
draft touches no real data."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core import commands
from engine.designer import migration, process_drafts, trial_runs, version_compare
from engine.runtime import instances, tasks
from engine.core.errors import Conflict, DefinitionInvalid, Forbidden, InvalidData
from engine.core.models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from engine.core.principals import Actor
from tests.conftest import FIXTURES

DESIGNER = Actor("dana", frozenset({"designers"}))
REVIEWER = Actor("rita", frozenset({"reviewers"}))
APPLICANT = Actor("alice", frozenset())
SIMPLE = (FIXTURES / "bpmn" / "simple_review.bpmn").read_text()
FORM = (FIXTURES / "forms" / "simple_decision.form").read_text()


def _draft(db, bpmn: str = SIMPLE) -> int:  # type: ignore[no-untyped-def]
    draft = commands.execute(db, process_drafts.create, DESIGNER, "Simple review",
                             {"simple_review.bpmn": bpmn, "simple_decision.form": FORM})
    return draft.id


def _deploy_draft(db, draft_id: int) -> None:  # type: ignore[no-untyped-def]
    commands.execute(db, process_drafts.deploy, DESIGNER, draft_id)


def _versions(db) -> list[int]:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: list(s.scalars(select(ProcessDefinition.version)
                                                         .where(ProcessDefinition.key == "simple_review"))))


def test_only_designers_may_see_or_change_drafts(db):
    draft_id = _draft(db)
    for who in (REVIEWER, APPLICANT):
        with pytest.raises(Forbidden):
            commands.query(db, process_drafts.get, who, draft_id)
        with pytest.raises(Forbidden):
            commands.execute(db, process_drafts.deploy, who, draft_id)


def test_a_draft_deploys_as_a_new_version_with_its_forms_and_a_bad_one_deploys_nothing(db):
    # given a draft that validates, when it is deployed, then version 1 exists
    draft_id = _draft(db)
    assert commands.query(db, process_drafts.validate, DESIGNER, draft_id).valid
    _deploy_draft(db, draft_id)
    assert _versions(db) == [1]
    # when a bad task setting is saved into it, then validation names the element and deploy refuses
    broken = SIMPLE.replace('camunda:candidateGroups="reviewers"', 'camunda:candidateGroups="${1 +}"')
    commands.execute(db, process_drafts.save_file, DESIGNER, draft_id, "simple_review.bpmn", broken)
    verdict = commands.query(db, process_drafts.validate, DESIGNER, draft_id)
    assert not verdict.valid and [p.element_id for p in verdict.problems] == ["review"]
    with pytest.raises(DefinitionInvalid):
        _deploy_draft(db, draft_id)
    assert _versions(db) == [1]


def test_hostile_files_are_stored_inert_and_refused_with_a_clear_message(db):
    xxe = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>')
    draft_id = _draft(db, xxe)
    verdict = commands.query(db, process_drafts.validate, DESIGNER, draft_id)
    assert not verdict.valid and "root:" not in str(verdict.problems)
    assert any("DTD" in p.message or "entit" in p.message.lower() for p in verdict.problems)
    importer = SIMPLE.replace('recorded = decision + "-recorded"', "import os")
    commands.execute(db, process_drafts.save_file, DESIGNER, draft_id, "simple_review.bpmn", importer)
    verdict = commands.query(db, process_drafts.validate, DESIGNER, draft_id)
    assert [p.element_id for p in verdict.problems] == ["record"] and "import" in verdict.problems[0].message
    with pytest.raises(InvalidData):
        commands.execute(db, process_drafts.save_file, DESIGNER, draft_id, "huge.bpmn", "x" * (5 * 1024 * 1024 + 1))
    with pytest.raises(InvalidData):
        commands.execute(db, process_drafts.save_file, DESIGNER, draft_id, "../../etc/passwd.bpmn", SIMPLE)


def test_two_designers_saving_the_same_revision_do_not_both_win(db):
    draft_id = _draft(db)
    revision = commands.query(db, process_drafts.get, DESIGNER, draft_id).revision
    commands.execute(db, process_drafts.save_file, DESIGNER, draft_id, "simple_review.bpmn", SIMPLE, revision)
    with pytest.raises(Conflict):
        commands.execute(db, process_drafts.save_file, DESIGNER, draft_id, "simple_review.bpmn", SIMPLE, revision)


def test_the_comparison_names_the_changed_candidate_group_and_the_added_element(db):
    draft_id = _draft(db)
    _deploy_draft(db, draft_id)
    changed = SIMPLE.replace('camunda:candidateGroups="reviewers"', 'camunda:candidateGroups="experts"').replace(
        '<bpmn:endEvent id="end">', '<bpmn:endEvent id="end" name="Done">')
    commands.execute(db, process_drafts.save_file, DESIGNER, draft_id, "simple_review.bpmn", changed)
    _deploy_draft(db, draft_id)
    result = commands.query(db, version_compare.compare, DESIGNER, "simple_review", 1, 2)
    assert [(c.id, c.changes) for c in result.changed] == [
        ("end", [{"setting": "name", "before": None, "after": "Done"}]),
        ("review", [{"setting": "camunda:candidateGroups", "before": "reviewers", "after": "experts"}])]
    assert result.added == [] and result.removed == [] and result.forms == []


def test_an_old_instance_keeps_its_routing_and_migration_moves_it_to_the_new_one(db, make_user):
    make_user("rita", ["reviewers"])
    draft_id = _draft(db)
    _deploy_draft(db, draft_id)
    old = commands.execute(db, instances.start, APPLICANT, "simple_review", {}).id
    commands.execute(db, process_drafts.save_file, DESIGNER, draft_id, "simple_review.bpmn",
                     SIMPLE.replace('camunda:candidateGroups="reviewers"', 'camunda:candidateGroups="experts"'))
    _deploy_draft(db, draft_id)
    new = commands.execute(db, instances.start, APPLICANT, "simple_review", {}).id
    groups = lambda i: commands.query(db, lambda s: [t.candidate_groups for t in tasks.open_tasks(s, i)])  # noqa: E731
    assert groups(old) == [["reviewers"]] and groups(new) == [["experts"]]
    # the preview says what would happen and changes nothing
    [plan] = commands.query(db, migration.preview, DESIGNER, "simple_review", 2, [old])
    assert plan.possible and plan.waiting_at == ["review"]
    assert groups(old) == [["reviewers"]]
    # migrating moves the waiting task to the new version's routing, audited with the reason
    report = migration.migrate_many(db, DESIGNER, [old], 2, "route to experts")
    assert report.migrated == [old] and report.failures == []
    assert groups(old) == [["experts"]]
    state = commands.query(db, lambda s: (s.get(ProcessInstance, old).version, s.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "instance_migrated"))))
    assert state == (2, 1)
    # and the migrated instance completes on the new version
    task_id = commands.query(db, tasks.open_tasks, old)[0].id
    make_user("eve", ["experts"])
    commands.execute(db, tasks.complete, Actor("eve", frozenset({"experts"})), task_id, {"decision": "approve"})
    assert commands.query(db, lambda s: s.get(ProcessInstance, old).state) == "completed"


def test_migration_is_refused_when_the_target_lacks_the_waiting_task(db):
    draft_id = _draft(db)
    _deploy_draft(db, draft_id)
    old = commands.execute(db, instances.start, APPLICANT, "simple_review", {}).id
    # the target goes straight from the start to the script: the review the instance waits at is gone
    start = SIMPLE.index('<bpmn:userTask id="review"')
    end = SIMPLE.index("</bpmn:userTask>") + len("</bpmn:userTask>")
    without_review = (SIMPLE[:start] + SIMPLE[end:]).replace('<bpmn:incoming>f2</bpmn:incoming>',
                                                              '<bpmn:incoming>f1</bpmn:incoming>') \
        .replace('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />',
                 '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="record" />') \
        .replace('<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="record" />', '')
    commands.execute(db, process_drafts.save_file, DESIGNER, draft_id, "simple_review.bpmn", without_review)
    _deploy_draft(db, draft_id)
    [plan] = commands.query(db, migration.preview, DESIGNER, "simple_review", 2, [old])
    assert not plan.possible and "review" in plan.reason
    report = migration.migrate_many(db, DESIGNER, [old], 2, "try")
    assert report.migrated == [] and report.failures[0][0] == old
    assert commands.query(db, lambda s: s.get(ProcessInstance, old).version) == 1


def test_a_test_run_steps_through_the_draft_as_each_role_and_touches_no_real_data(db):
    draft_id = _draft(db)
    trial = commands.execute(db, trial_runs.start, DESIGNER, draft_id, None, {})
    seen = commands.query(db, trial_runs.view, DESIGNER, trial.id)
    [task] = seen.tasks
    assert task.element == "review" and task.candidate_groups == ["reviewers"] and task.form is not None
    with pytest.raises(InvalidData):
        commands.execute(db, trial_runs.complete, DESIGNER, trial.id, task.id, {"decision": "maybe"}, "reviewers")
    commands.execute(db, trial_runs.complete, DESIGNER, trial.id, task.id, {"decision": "approve"}, "reviewers")
    done = commands.query(db, trial_runs.view, DESIGNER, trial.id)
    assert done.trial.state == "completed" and done.data["recorded"] == "approve-recorded"
    assert [e["as_role"] for e in done.trial.log] == [None, "reviewers"]
    real = commands.query(db, lambda s: (s.scalar(select(func.count()).select_from(ProcessInstance)),
                                         s.scalar(select(func.count()).select_from(HumanTask))))
    assert real == (0, 0)


def test_bpmnlint_gives_advice_with_the_bureaus_own_rules_but_never_blocks(db):
    # given a user task without a form, a due date or anyone to do it
    bare = SIMPLE.replace('camunda:candidateGroups="reviewers" camunda:formKey="simple_decision" camunda:dueDate="P3D"', "")
    draft_id = _draft(db, bare)
    verdict = commands.query(db, process_drafts.validate, DESIGNER, draft_id, True)
    assert verdict.lint_unavailable is None
    ours = {(f.rule, f.element_id) for f in verdict.lint if f.rule.startswith("scitech/")}
    assert {("scitech/user-task-form", "review"), ("scitech/user-task-due-date", "review"),
            ("scitech/user-task-role", "review")} <= ours
    # and the deployment pipeline alone decides: the bare task is valid BPMN, so it deploys
    assert verdict.valid
    _deploy_draft(db, draft_id)
    assert _versions(db) == [1]


def test_the_migrations_match_the_designer_models(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from engine.schema import Base
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    ours = ("process_drafts", "process_trial_runs")
    assert [d for d in differences if any(f"'{table}'" in repr(d) for table in ours)] == []
