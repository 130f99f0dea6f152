"""The world the access tests play in: the real lifecycle processes and forms, an application by
zhang.wei (杭州先进材料研究院) through endorsement and formal review to the expert review, where
five drawn experts accepted and the first of them has scored with an opinion nobody else may read,
while the others are still scoring. The people have accounts (password `pw-secret`), so the same
world serves the engine rules, the API and the pages."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from engine.core import commands, users
from engine.core.principals import Actor
from tests.lifecycle.world import (APPLICANT, APPLICATION, BUREAU, EXPERT, GOOD_SCORES, ORG, RECOMMENDER, STAFF,
                                   SUPERVISOR, UNIT, Driver, build_world, sh)
from tests.web.conftest import csrf_from

PASSWORD = "pw-secret"
SECRET_OPINION = "方法新颖但预算偏高 · novel method, budget on the high side"


@dataclass
class Review:
    """The expert review of one application, midway."""

    driver: Driver
    instance_id: int
    scored: str            # the expert who has scored
    scoring: list[str]     # the experts still scoring
    panel: list[str]       # everyone drawn onto the panel

    def task_of(self, expert: str, name: str = "scoring") -> Any:
        [row] = [t for t in self.driver.open() if t.name == name and t.assignee == expert]
        return row


def account(db: Any, actor: Actor, org: str | None = None) -> Actor:
    commands.execute(db, users.create_user, actor.username, PASSWORD, sorted(actor.groups), org,
                     password_policy=False)
    return actor


@pytest.fixture
def review(db) -> Review:  # type: ignore[no-untyped-def]
    build_world(db, experts_per_discipline=8)
    for person in (APPLICANT, STAFF, RECOMMENDER, BUREAU, SUPERVISOR):
        account(db, person)
    account(db, UNIT, ORG)
    d = Driver(db, sh(2026, 3, 2))
    d.start("project_lifecycle", APPLICATION)
    d.endorse()
    d.formal_review()
    for row in d.expert_rows("invitation"):
        account(db, EXPERT(row.assignee))
        d.complete_row(row, EXPERT(row.assignee), {"participation": "accept"})
    rows = d.expert_rows("scoring")
    first = rows[0]
    d.complete_row(first, EXPERT(first.assignee), GOOD_SCORES | {"expert_opinion": SECRET_OPINION})
    panel = [seat["expert"] for seat in d.data()["seats"]]
    return Review(d, d.instance_id, first.assignee, [r.assignee for r in rows[1:]], panel)


def sign_in(client: Any, name: str) -> Any:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def api_token(client: Any, name: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


__all__ = ["APPLICANT", "BUREAU", "EXPERT", "RECOMMENDER", "SECRET_OPINION", "STAFF", "SUPERVISOR", "UNIT",
           "Review", "account", "api_token", "sign_in"]
