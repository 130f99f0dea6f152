"""A NUL character is in no field of ours, and PostgreSQL can neither store nor compare one (the
slow tier's schemathesis run found `?process_key=%00` answered with a 500 there). A request
carrying one, in a query, a form or a JSON body, is a 400 before any view reads it, on the API
and the pages alike, and changes nothing."""
from __future__ import annotations

import pytest

from tests.api.test_out_of_range_ids import _signed_in


@pytest.mark.parametrize("path", ["/api/v1/supervisor/attention?process_key=%00&sort=kind",
                                  "/api/v1/tasks?scope=candidate%00", "/api/v1/supervisor/stuck?%00=1"])
def test_a_nul_in_an_api_query_is_a_400_with_the_contracts_body(client, make_user, path):
    # given a supervisor with a token
    bearer = _signed_in(client, make_user, "boss", ["supervisors"])
    # when a query holds a NUL, then the answer is 400 with the contract's error body
    answer = client.get(path, headers=bearer)
    assert answer.status_code == 400
    assert "NUL" in answer.get_json()["error"]["message"]


def test_a_nul_in_a_json_body_is_refused_and_nothing_starts(client, make_user, db):
    from engine.core.models import ProcessInstance
    bearer = _signed_in(client, make_user, "zhang", ["applicants"])
    answer = client.post("/api/v1/process-instances", headers=bearer,
                         json={"process_key": "simple_review", "data": {"title": "a\u0000b"}})
    assert answer.status_code == 400
    assert db.sessions  # the database is reachable, and no instance was started
    with db.engine.connect() as conn:
        assert conn.execute(ProcessInstance.__table__.select()).first() is None


def test_a_nul_in_a_page_query_is_a_400_page(client, make_user):
    _signed_in(client, make_user, "wang", ["institution_staff"])
    assert client.get("/inbox?q=%00").status_code == 400
