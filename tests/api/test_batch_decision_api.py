"""batch_decision through the API: a supervisor starts a call's batch with the interface's data,
and a collective decision over a category's budget is a 422 naming the list field and the figures,
with nothing changed; the decision within budget goes on to the notice."""
from __future__ import annotations

from engine.core import commands
from engine.definitions import deployment
from engine.definitions.validation import collect_paths
from tests.conftest import ROOT
from tests.lifecycle.batch_data import batch_input

FILES = ([str(ROOT / "processes" / name) for name in ("batch_decision.bpmn", "establishment_score_band.dmn")]
         + [str(ROOT / "forms" / f"{name}.form") for name in ("batch_proposal_review", "batch_collective_decision",
                                                              "batch_objection_record", "objection_verification")])


def _rows(instance: dict, key: str) -> list[dict]:
    return [{"result": r["result"], "amount": r["amount"], "change_reason": ""} for r in instance["data"][key]]


def test_an_over_budget_collective_decision_is_a_422_naming_the_list_and_changes_nothing(api, db):
    commands.execute(db, deployment.deploy, collect_paths(FILES), "test")
    supervisor, staff, bureau = api("zhao", ["supervisors"]), api("wang", ["institution_staff"]), api("gao", ["bureau_staff"])
    status, instance = supervisor.post("/process-instances", {"process_key": "batch_decision", "data": batch_input()})
    assert status == 201, instance
    [review] = instance["tasks"]
    status, done = staff.post(f"/tasks/{review['id']}/complete",
                              {"data": {"proposal_items": _rows(instance, "proposal_items")}})
    assert status == 200, done
    [decision] = [t for t in done["process_instance"]["tasks"] if t["state"] == "open"]
    rows = _rows(done["process_instance"], "decision_items")
    rows[2] = {"result": "funded", "amount": 300000, "change_reason": "产业急需"}
    body = {"decision_meeting": "party_group_meeting", "decision_date": "2026-03-04",
            "collective_decision": "change_items", "decision_items": rows}
    status, refused = bureau.post(f"/tasks/{decision['id']}/complete", {"data": body})
    assert status == 422
    assert "1,200,000.00" in str(refused) and "decision_items" in str(refused)
    status, still = bureau.get(f"/tasks/{decision['id']}")
    assert status == 200 and still["state"] == "open"
    rows[1] = {"result": "funded", "amount": 100000, "change_reason": "压减"}
    status, decided = bureau.post(f"/tasks/{decision['id']}/complete", {"data": {**body, "decision_items": rows}})
    assert status == 200, decided
    assert [t["name"] for t in decided["process_instance"]["tasks"] if t["state"] == "open"] == ["notice_objections"]
