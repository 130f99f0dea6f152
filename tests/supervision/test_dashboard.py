"""The dashboard's figures equal those computed directly from the audit log, and the heatmap
says how many instances wait at each element and for how long."""
from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from engine.core import clock, commands
from engine.supervision import dashboard, interventions
from engine.core.calendar import working_days_between
from engine.core.errors import Forbidden
from engine.core.principals import Actor

from .helpers import BOSS, MONDAY, OFFICER, audit_of, complete, open_task, plan, start

OLGA2 = Actor("olga2", frozenset({"officers"}))
IVAN = Actor("ivan", frozenset({"approvers"}))
NOW = MONDAY + timedelta(days=21)
SINCE = MONDAY - timedelta(days=1)


def day(n: int, hours: int = 0) -> datetime:
    return MONDAY + timedelta(days=n, hours=hours)


@pytest.fixture
def history(processes, make_user):  # type: ignore[no-untyped-def]
    """Three weeks of a grant programme (MONDAY is 2025-03-03, due dates five days on)."""
    db = processes
    make_user("olga2", ["officers"])
    a, b, c, f = (start(db, "grant", {"title": t}) for t in ("A", "B", "C", "F"))
    complete(db, a, plan("A"), day(2))                       # on time, by olga
    complete(db, f, plan("F", years=0), day(1), OLGA2)       # on time, then the script fails
    d = start(db, "grant", {"title": "D"}, at=day(7))
    complete(db, b, plan("B"), day(7), OLGA2)                # late, by olga2
    with clock.frozen_at(day(8)):                            # late, skipped by the supervisor
        commands.execute(db, interventions.skip, BOSS, open_task(db, c).id, plan("C"), "panel decided")
    complete(db, d, plan("D"), day(8))                       # on time, by olga
    complete(db, a, {}, day(9), IVAN, "approve")             # A completes
    complete(db, b, {}, day(10), IVAN, "approve")            # B completes
    e = start(db, "grant", {"title": "E"}, at=day(14))
    with clock.frozen_at(day(14, 1)):
        commands.execute(db, interventions.reassign, BOSS, open_task(db, e).id, "olga", "hers")
    return dict(a=a, b=b, c=c, d=d, e=e, f=f)


def _figures(db, **kwargs):  # type: ignore[no-untyped-def]
    with clock.frozen_at(NOW):
        return commands.query(db, dashboard.dashboard, BOSS, SINCE, NOW, **kwargs)


def _from_audit(db):  # type: ignore[no-untyped-def]
    """The same figures, computed here from the raw audit events."""
    events = [e for e in audit_of(db) if SINCE <= e.at < NOW]
    created = {e.task_id: e for e in audit_of(db, action="task_created")}
    cycles, stages, reviewers = defaultdict(list), defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
    for event in events:
        if event.action not in ("task_completed", "task_skipped"):
            continue
        origin = created[event.task_id]
        cycles[event.details["name"]].append(working_days_between(origin.at, event.at))
        due = origin.details.get("due_at")
        if due:
            on_time = event.at <= datetime.fromisoformat(due)
            stages[event.details["name"]][0] += 1
            stages[event.details["name"]][1] += on_time
            if event.action == "task_completed":
                reviewers[event.actor][0] += 1
                reviewers[event.actor][1] += on_time
    weekly = defaultdict(lambda: defaultdict(int))
    for event in events:
        local = event.at.astimezone(dashboard.BUREAU_TZ).date()
        monday = local - timedelta(days=local.weekday())
        weekly[monday][event.action] += 1
    return cycles, stages, reviewers, weekly


def test_the_figures_equal_those_computed_from_the_audit_log(history, processes):
    figures = _figures(processes)
    cycles, stages, reviewers, weekly = _from_audit(processes)
    # cycle time per activity: median and 90th percentile in working days
    got = {r["element"]: r for r in figures["cycle_times"]}
    assert set(got) == set(cycles)
    for element, days in cycles.items():
        assert got[element]["count"] == len(days)
        assert got[element]["median_days"] == statistics.median(days)
        assert got[element]["p90_days"] == pytest.approx(statistics.quantiles(days, n=10, method="inclusive")[8])
    # which, by hand: planning took 2, 5, 6, 1 and 1 working days; approval 5 and 3
    assert got["plan_budget"]["median_days"] == 2 and got["plan_budget"]["p90_days"] == pytest.approx(5.6)
    assert got["approve"]["median_days"] == 4 and got["approve"]["p90_days"] == pytest.approx(4.8)
    # SLA compliance per stage (skips included) and per reviewer (skips are not theirs)
    [stage] = figures["sla"]["stages"]
    assert (stage["element"], stage["with_due_date"], stage["on_time"]) == ("plan_budget", *stages["plan_budget"])
    assert (stage["with_due_date"], stage["on_time"], stage["rate"]) == (5, 3, 0.6)
    assert {r["reviewer"]: [r["with_due_date"], r["on_time"]] for r in figures["sla"]["reviewers"]} == \
        {name: counts for name, counts in reviewers.items()} == {"olga": [2, 2], "olga2": [2, 1]}
    # throughput per bureau week
    for week in figures["throughput"]:
        events = weekly.get(week["week_start"], {})
        assert week["started"] == events.get("instance_started", 0)
        assert week["completed"] == events.get("instance_completed", 0)
        assert week["tasks_closed"] == events.get("task_completed", 0) + events.get("task_skipped", 0)
    assert [(w["week"], w["started"], w["completed"], w["tasks_closed"]) for w in figures["throughput"]] == [
        ("2025-W09", 0, 0, 0), ("2025-W10", 4, 0, 2), ("2025-W11", 1, 2, 5), ("2025-W12", 1, 0, 0),
        ("2025-W13", 0, 0, 0)]


def test_instances_per_stage_and_backlog_are_read_from_what_waits_now(history, processes):
    figures = _figures(processes)
    [grant] = [p for p in figures["instances_per_stage"]["by_process"] if p["process_key"] == "grant"]
    assert (grant["running"], grant["completed"], grant["error"]) == (3, 2, 1)
    by_element = {r["element"]: r["instances"] for r in figures["instances_per_stage"]["by_element"]}
    assert by_element == {"approve": 2, "plan_budget": 1}
    [olga] = figures["backlog"]["reviewers"]
    assert (olga["reviewer"], olga["open"], olga["overdue"], olga["oldest_age_days"]) == ("olga", 1, 1, 5)
    assert [(g["group"], g["open"], g["overdue"]) for g in figures["backlog"]["groups"]] == [("approvers", 2, 0)]


def test_the_heatmap_says_how_many_wait_at_each_element_and_how_long(history, processes):
    with clock.frozen_at(NOW):
        heat = commands.query(processes, dashboard.heatmap, BOSS, "grant", None, SINCE, NOW)
    cells = {e["element"]: e for e in heat["elements"]}
    # two approvals wait since Tuesday 11 March: 9 working days by Monday 24 March
    assert (cells["approve"]["waiting"], cells["approve"]["max_wait_days"]) == (2, 9)
    assert (cells["plan_budget"]["waiting"], cells["plan_budget"]["overdue"]) == (1, 1)
    assert cells["plan_budget"]["mean_wait_days"] == 5 and cells["plan_budget"]["closed"] == 5
    assert (cells["per_year"]["failed"], cells["per_year"]["max_wait_days"]) == (1, 14)
    assert cells["approve"]["name"] == "Approve the budget"
    assert 'id="grant"' in heat["diagram"] and heat["version"] == 1


def test_only_supervisors_see_the_dashboard(processes):
    with pytest.raises(Forbidden):
        commands.query(processes, dashboard.dashboard, OFFICER)
    with pytest.raises(Forbidden):
        commands.query(processes, dashboard.heatmap, OFFICER, "grant")
