"""Fixtures for the supervisor console: the deployed processes and the people (see helpers.py)."""
from __future__ import annotations

import pytest

from engine.core import clock, commands
from engine.definitions import deployment

from .helpers import HERE, MONDAY, ROOT_FIXTURES


@pytest.fixture
def processes(db, make_user):  # type: ignore[no-untyped-def]
    """Deploy the grant and notice processes and the divide fixture; create the people."""
    files = [(p.name, p.read_bytes()) for p in sorted(HERE.iterdir()) if p.suffix in (".bpmn", ".form")]
    files.append(("script_error.bpmn", (ROOT_FIXTURES / "bpmn" / "script_error.bpmn").read_bytes()))
    with clock.frozen_at(MONDAY):
        commands.execute(db, deployment.deploy, files, "test")
    make_user("ada", ["applicants"])
    make_user("olga", ["officers"])
    make_user("boss", ["supervisors"])
    make_user("ivan", ["approvers"])
    return db

