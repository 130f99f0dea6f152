"""A bulk intervention's selection comes from the page's own hidden fields; one that was
tampered with (not JSON, not a filter of names) is a clear 422 on the page, never a server
error, and nothing is previewed or changed."""
from __future__ import annotations

import re

import pytest

from .conftest import PASSWORD


def _signed_in(client, name: str) -> str:  # type: ignore[no-untyped-def]
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD}).status_code == 302
    return re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/inbox").get_data(as_text=True)).group(1)


@pytest.mark.parametrize("selection", ["{not json", "[1, 2]", '{"kind": ["error"]}', "null"])
def test_a_tampered_filter_selection_is_refused_with_a_clear_message(client, people, selection):
    # given a supervisor signed in
    token = _signed_in(client, "zhao")
    # when the bulk preview is posted with a selection the page never writes
    answer = client.post("/supervisor/bulk/preview", data={
        "csrf_token": token, "action": "suspend", "reason": "maintenance", "scope": "filter", "filter": selection})
    # then the page says the selection is invalid, with no server error
    assert answer.status_code == 422
    assert "Traceback" not in answer.get_data(as_text=True)
