"""The demo data of `make run` (engine.demo): organisations, users for every role, the expert pool,
the integrity list and projects standing in every stage; loading twice changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core import commands, users
from engine.demo import demo_data
from engine.definitions import deployment
from engine.lifecycle import expert_pool, integrity, organisations, projects
from engine.runtime import tasks
from engine.core.principals import Actor
from engine.definitions.validation import collect_paths
from tests.conftest import ROOT

ROLES = {"applicants", "institution_staff", "bureau_staff", "auditors", "evaluators", "experts", "supervisors",
         "designers", "admins", "recommender.binjiang", "unit.hzam"}


@pytest.fixture
def deployed(db):  # type: ignore[no-untyped-def]
    commands.execute(db, deployment.deploy, collect_paths([str(ROOT / "processes"), str(ROOT / "forms")]), "t")
    return db


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    return commands.query(db, lambda s: s.scalar(select(func.count()).select_from(model)))


def test_the_demo_loads_people_organisations_experts_and_the_integrity_list_once(deployed):
    few = [demo_data.PROJECTS[0], demo_data.PROJECTS[1], demo_data.PROJECTS[-1]]
    first = demo_data.load(deployed, few)
    assert [line.split(": ", 1)[1] for line in first if line.startswith("project ")] == [
        "waiting for endorse", "waiting for correct_application", "completed, refused"]
    # every role has somebody; 66 experts over six disciplines; 4 integrity entries, one revoked
    groups = commands.query(deployed, lambda s: {g for u in s.scalars(select(users.User)) for g in u.group_names})
    assert ROLES <= groups
    pool = commands.query(deployed, lambda s: [e.discipline for e in s.scalars(select(expert_pool.Expert))])
    assert len(pool) == 66 and {pool.count(d) for d in demo_data.DISCIPLINES} == {11}
    listed = commands.query(deployed, integrity.entries, None, None, True)
    assert len(listed) == 4 and sum(e.state == "revoked" for e in listed) == 1
    assert len(commands.query(deployed, organisations.all_organisations)) == len(demo_data.ORGANISATIONS)
    # li.na has her returned application to correct; the recommending unit its endorsement
    assert commands.query(deployed, tasks.list_tasks, Actor("li.na", frozenset()), "assigned").total == 1
    recommender = Actor("xu.jing", frozenset({"recommender.binjiang"}))
    assert commands.query(deployed, tasks.list_tasks, recommender, "candidate").total == 1
    # and a second load adds nothing
    before = [_count(deployed, m) for m in (users.User, expert_pool.Expert, integrity.IntegrityEntry, projects.Project)]
    second = demo_data.load(deployed)
    assert "demo applications already present" in second
    assert [_count(deployed, m) for m in (users.User, expert_pool.Expert, integrity.IntegrityEntry,
                                          projects.Project)] == before


def test_without_the_lifecycle_deployed_the_demo_loads_people_but_no_projects(db):
    lines = demo_data.load(db, demo_data.PROJECTS[:1])
    assert "project_lifecycle is not deployed; no demo projects started" in lines
    assert _count(db, projects.Project) == 0


@pytest.mark.slow
def test_the_full_demo_has_projects_standing_in_every_stage(deployed):
    lines = demo_data.load(deployed)
    assert sum(line.startswith("project ") for line in lines) == len(demo_data.PROJECTS)
    statuses = commands.query(deployed, lambda s: {p.status for p in s.scalars(select(projects.Project))})
    assert {"submitted", "under_review", "established", "in_progress", "awaiting_acceptance", "passed",
            "evaluated", "failed", "terminated", "reserved"} <= statuses
    waiting = {line.split("waiting for ", 1)[1] for line in lines if "waiting for" in line}
    assert {"unit_review", "change_unit_review", "endorse", "correct_application", "formal_review_duplicates", "invitation", "bureau_decision_task",
            "notice_objections", "sign_contract", "change_bureau_decision", "midterm_check", "apply_acceptance",
            "expert_evaluation"} <= {name for entry in waiting for name in entry.split(", ")}
    # and the institution has rated the experts whose reviews are over (the expert pool's page)
    rated = int(next(line for line in lines if line.endswith("expert rating(s)")).split()[0])
    assert rated > 0 and rated == _count(deployed, expert_pool.ExpertRating)


def test_the_demo_plays_a_batch_review_to_each_stage_in_the_demo_pool(deployed):
    from engine.demo import batch_review_demo
    from engine.runtime import instances
    demo_data.load(deployed, [demo_data.PROJECTS[0]])
    expected = {"drawn": {"schedule_session"}, "scheduled": {"batch_scoring"}, "summing_up": {"chair_summary"}}
    for n, (stage, names) in enumerate(expected.items()):
        instance_id = batch_review_demo.run_batch_review(deployed, stage, call_key=f"demo-{n}")
        assert {t.name for t in commands.query(deployed, tasks.open_tasks, instance_id)} == names
    done = batch_review_demo.run_batch_review(deployed, "reviewed", call_key="demo-done")
    data = commands.query(deployed, lambda s: instances.data_of(instances.get(s, done)))
    assert set(data["reviews"]) == {str(p["project_id"]) for p in batch_review_demo.PROJECTS}
    assert data["reviews"]["9001"]["mode"] == "meeting" and data["reviews"]["9004"]["mode"] == "mail"


def test_the_demo_has_an_open_call_with_applications_in_it(deployed):
    from engine.core import clock
    from engine.lifecycle import calls
    demo_data.load(deployed, demo_data.PROJECTS[:1])  # people and organisations
    lines = demo_data.load_calls(deployed, clock.now())
    assert lines == ["call 2026-2: batch completed", "call 2026-2: published, 4 application(s)",
                     "call 2027-1: published, 3 application(s)"]
    # the closed call was decided as one batch: funded within each category's budget, one reserved
    decided = commands.query(deployed, calls.standing, "2026-2")
    assert decided["call"]["status"] == "closed"
    used = {c["code"]: (c["funded"], c["budget"]) for c in decided["categories"]}
    assert used == {"key_rd": (2_700_000, 3_000_000), "natural_science": (500_000, 1_000_000)}
    # and the supervisors' dashboard lists both calls, the decided one with its budget used
    from engine.supervision import dashboard
    overview = {c["key"]: c for c in commands.query(deployed, dashboard.calls_overview)}
    assert set(overview) == {"2026-2", "2027-1"} and overview["2027-1"]["status"] == "published"
    assert (overview["2026-2"]["applied"], overview["2026-2"]["funded"], overview["2026-2"]["budget"]) == \
        (4, 3_200_000, 4_000_000)
    statuses = commands.query(deployed, lambda s: sorted(p.status for p in s.scalars(
        select(projects.Project).where(projects.Project.call_key == "2026-2"))))
    assert statuses == ["in_progress", "in_progress", "in_progress", "reserved"]
    standing = commands.query(deployed, calls.standing, "2027-1")
    assert standing["call"]["status"] == "published" and standing["applied"] == 3
    use = commands.query(deployed, calls.quota_use, "2027-1")
    assert use["binjiang"] == {"quota": 5, "used": 1} and use["xihu"]["used"] == 1
    assert demo_data.load_calls(deployed, clock.now()) == ["call 2026-2: already present", "call 2027-1: already present"]
