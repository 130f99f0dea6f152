"""The lifecycle tests' one shared world: the people, organisations and expert pool of
tests/lifecycle/world.py, built afresh in the emptied database of each test that asks for it."""
from __future__ import annotations

import pytest

from tests.lifecycle.world import build_world


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    build_world(db)
    return db
