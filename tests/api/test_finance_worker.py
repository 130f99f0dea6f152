"""tools/finance_worker.py plays the finance system against the real API over HTTP: with the
documented token call and fetch-and-lock, it completes the payment a process waits on, and
refuses one over its limit with the BPMN error the process catches."""
from __future__ import annotations

import importlib.util
import threading
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import ROOT


def _worker_module() -> Any:
    spec = importlib.util.spec_from_file_location("finance_worker", ROOT / "tools" / "finance_worker.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture
def served(app):  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_worker_pays_one_and_refuses_one_over_its_limit(served, api, deploy, make_user):
    deploy("bpmn/external_payment.bpmn")
    alice, supervisor = api("alice"), api("sue", ["supervisors"])
    small = alice.post("/process-instances", {"process_key": "external_payment", "data": {"first_release": 30}})[1]
    large = alice.post("/process-instances", {"process_key": "external_payment", "data": {"first_release": 900}})[1]
    make_user("finance.system", ["integrations"], password="finance-pw-1")
    worker = _worker_module()
    client = worker.Api(served)
    client.sign_in("finance.system", "finance-pw-1")
    assert worker.work_once(client, "w-test", refuse_over=500) == 2
    paid = supervisor.get(f"/process-instances/{small['id']}")[1]
    assert paid["state"] == "completed" and paid["data"]["payment_reference"].startswith("FIN-")
    refused = supervisor.get(f"/process-instances/{large['id']}")[1]
    assert refused["state"] == "completed" and refused["data"]["outcome"] == "refused"
    assert worker.work_once(client, "w-test", refuse_over=500) == 0
