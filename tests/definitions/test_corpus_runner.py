"""The conformance corpus run for real (../shared/bpmn-corpus): every .bpmn file that is
executable and self-contained (with the corpus files that define the processes and decisions it
calls) is deployed, started, and driven to its end through the engine, completing each user or
manual task with data its form accepts (the upstream tests' seed data) and
letting the scheduler fire its timers. Prints the counts (deployed / ran to the end / waiting /
error, and refused with the reason). The contract's forms (standard multi-instance, JUEL,
business rule tasks naming their DMN, data stores, Camunda Modeler timers) are never refused, and
every refusal says why."""
from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.core import clock, commands
from engine.core.errors import DefinitionInvalid
from engine.core.models import HumanTask
from engine.core.principals import SUPERVISORS, Actor
from engine.definitions import deployment
from engine.runtime import instances, tasks
from engine.scheduling import scheduler
from tests.conftest import SHARED

CORPUS = SHARED / "bpmn-corpus"
MISSING = re.compile(r"(?:called process|DMN decision) '([^']+)' is neither in these files")
# refusals that would mean one of the contract's forms is still not understood
CONTRACT_FORMS = ("must specify a cardinality or a collection", "has no implementation",
                  "Unknown Time Specification", "no camunda:decisionRef", "expression '${")
MAX_STEPS = 50


def _definers() -> dict[str, Path]:
    """id -> the corpus file defining a process or decision with that id."""
    found: dict[str, Path] = {}
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix in (".bpmn", ".dmn") or path.name.endswith(".bpmn20.xml"):
            for match in re.finditer(rb'<(?:\w+:)?(?:process|decision) [^>]*\bid="([^"]+)"', path.read_bytes()):
                found.setdefault(match.group(1).decode(), path)
    return found


def _deploy(db: Any, path: Path, definers: dict[str, Path]) -> tuple[list[Any], str | None]:
    files = [path]
    for _ in range(4):
        try:
            deployed = commands.execute(db, deployment.deploy, [(str(f), f.read_bytes()) for f in files], "corpus")
            return [d for d in deployed if d.kind == "process" and str(path) in str(d)] or \
                [d for d in deployed if d.kind == "process"], None
        except DefinitionInvalid as invalid:
            wanted = {m.group(1) for p in invalid.problems for m in [MISSING.search(p.message)] if m}
            extra = [definers[w] for w in wanted if w in definers and definers[w] not in files]
            if not extra:
                first = invalid.problems[0]
                return [], f"{first.message} [{first.element_id}]"
            files += extra
        except Exception as error:  # noqa: BLE001 - reported as a crash, never hidden
            return [], f"deploy crashed: {type(error).__name__}: {error}"
    return [], "too many companion files"


def _seeds() -> dict[str, dict[str, Any]]:
    """The data the upstream tests give each file (the manifest's `seed`): `init` to start with,
    `task` for each task the runner completes."""
    with (CORPUS / "manifest.csv").open(newline="") as handle:
        return {r["file"]: json.loads(r["seed"]) for r in csv.DictReader(handle) if r.get("seed")}


def _drive(db: Any, key: str, seed: dict[str, Any]) -> str:
    system = Actor("corpus", frozenset({SUPERVISORS}))
    try:
        instance = commands.execute(db, instances.start, system, key, dict(seed.get("init", {})))
    except Exception as error:  # noqa: BLE001 - the runner reports, never stops
        return f"error: {error}"
    ticks = 0
    for _ in range(MAX_STEPS):
        state, why = commands.execute(db, lambda s: (instances.get(s, instance.id).state,
                                                     instances.get(s, instance.id).error_message))
        if state != instances.RUNNING:
            return "completed" if state == "completed" else f"error: {state}: {why}"
        rows = commands.execute(db, lambda s: [(r.id, r.assignee, list(r.candidate_groups or []),
                                                list(r.candidate_users or [])) for r in s.scalars(
            select(HumanTask).where(HumanTask.process_instance_id == instance.id, HumanTask.state == "open"))])
        if not rows:
            if ticks >= 3:
                return "waiting"
            ticks += 1  # a timer: the scheduler's pass as if a year had gone by
            with clock.frozen_at(clock.now() + timedelta(days=400 * ticks)):
                scheduler.tick(db)
            continue
        task_id, assignee, groups, users = rows[0]
        if not (assignee or groups or users):  # nobody's task: a supervisor would assign it
            commands.execute(db, lambda s: setattr(s.get(HumanTask, task_id), "assignee", "corpus"))
            assignee = "corpus"
        actor = Actor(assignee or (users[0] if users else "corpus"), frozenset(groups) | {SUPERVISORS})
        try:
            commands.execute(db, tasks.complete, actor, task_id, dict(seed.get("task", {})))
        except Exception as error:  # noqa: BLE001
            return f"error: {error}"
    return "waiting"


@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/bpmn-corpus is not present")
def test_the_corpus_deploys_and_runs(db):
    definers, seeds = _definers(), _seeds()
    counts: Counter[str] = Counter()
    refusals: dict[str, str] = {}
    outcomes: dict[str, str] = {}
    paths = sorted(p for p in CORPUS.rglob("*") if p.suffix == ".bpmn" or p.name.endswith(".bpmn20.xml"))
    for path in paths:
        deployed, refusal = _deploy(db, path, definers)
        name = str(path.relative_to(CORPUS))
        if refusal:
            counts["refused"] += 1
            refusals[name] = refusal
            continue
        counts["deployed"] += 1
        for process in deployed:
            outcome = _drive(db, process.key, seeds.get(name, {}))
            outcomes[f"{name}:{process.key}"] = outcome
            counts["ran to the end" if outcome == "completed" else outcome.split(":")[0]] += 1
    print("\ncorpus:", dict(counts))
    for name, why in sorted(refusals.items()):
        print("  refused", name, "-", why[:160])
    for name, outcome in sorted(outcomes.items()):
        if outcome != "completed":
            print("  ", outcome[:160], "-", name)
    assert all(why.strip() for why in refusals.values())
    assert not [n for n, why in refusals.items() if why.startswith("deploy crashed")]
    assert not [n for n, why in refusals.items() if any(form in why for form in CONTRACT_FORMS)]
    for name in ("spiffworkflow/spiff/data/spiff_multiinstance.bpmn",
                 "spiffworkflow/bpmn/data/sequential_multiinstance_loop_input.bpmn",
                 "spiffworkflow/spiff/data/business_rule_task.bpmn"):
        assert name not in refusals
    assert counts["ran to the end"] >= 10
