"""Ids outside their database column's range name nothing: every route with a numeric id, API
and page, every method, answers 404 for them (never a 500 from an overflowing query), as a
supervisor and as a plain user. Ids inside JSON bodies and query strings are bounded by the
marshmallow schemas (422), so no query ever receives them either; so are moments (1970-2200)."""
from __future__ import annotations

import re
from typing import Any

import pytest

from web.converters import BIGINT_MAX, INTEGER_MAX

PASSWORD = "pw-secret"
NUMERIC = ("int", "bigid")
OUT_OF_RANGE = {"int": [INTEGER_MAX + 1, BIGINT_MAX + 1, 99999999999999999999, 10**40],
                "bigid": [BIGINT_MAX + 1, 99999999999999999999, 10**40]}
PLACEHOLDER = {"key": "simple_review", "filename": "x.bpmn", "task_id": "no-such-task", "path": "x.js"}


def _signed_in(client: Any, make_user: Any, name: str, groups: list[str]) -> dict[str, str]:
    """Sign the test client in on the pages and return the API's bearer header too."""
    make_user(name, groups)
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD}).status_code == 302
    bearer = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD}).get_json()["token"]
    return {"Authorization": f"Bearer {bearer}"}


def _numeric_rules(app: Any) -> list[Any]:
    return [rule for rule in app.url_map.iter_rules()
            if any(converter in NUMERIC for converter in _converters(rule).values())]


def _converters(rule: Any) -> dict[str, str]:
    return {name: re.sub(r"\(.*", "", conv) for conv, name in
            re.findall(r"<(?:([a-z]+(?:\([^)]*\))?):)?(\w+)>", rule.rule)} | \
        {name: "string" for name in re.findall(r"<(\w+)>", rule.rule)}


def _urls(rule: Any, kind: str) -> list[str]:
    """The rule's URL with every numeric id past its column's range (one kind at a time)."""
    converters = _converters(rule)
    urls = []
    for huge in OUT_OF_RANGE[kind]:
        url = rule.rule
        for name, converter in converters.items():
            value = str(huge) if converter == kind else ("1" if converter in NUMERIC else PLACEHOLDER.get(name, "x"))
            url = re.sub(rf"<(?:[^:>]+:)?{name}>", value, url)
        urls.append(url)
    return urls


def test_the_walk_covers_the_api_and_the_pages(app):
    rules = [rule.rule for rule in _numeric_rules(app)]
    assert len(rules) > 40
    assert "/api/v1/process-instances/<int:instance_id>" in rules
    assert "/instances/<int:instance_id>" in rules
    assert "/api/v1/notifications/<bigid:notification_id>/read" in rules


@pytest.mark.parametrize("role", [["supervisors", "designers", "admins"], []], ids=["supervisor", "plain_user"])
def test_every_route_answers_404_for_an_id_past_its_column(app, client, make_user, role):
    # given a signed-in supervisor (who passes every permission check) or a plain user
    headers = _signed_in(client, make_user, "walker", role)
    answers: dict[str, int] = {}
    for rule in _numeric_rules(app):
        kinds = {c for c in _converters(rule).values() if c in NUMERIC}
        for kind in kinds:
            for url in _urls(rule, kind):
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    # when the id is past the range of the column it would be looked up in
                    response = client.open(url, method=method, headers=headers, json={})
                    answers[f"{method} {url}"] = response.status_code
    # then the route does not match: 404, whatever the method and the permissions
    wrong = {call: status for call, status in answers.items() if status != 404}
    assert not wrong, wrong
    assert len(answers) > 150


@pytest.mark.parametrize("url", ["/api/v1/process-instances/-1", "/instances/-5", "/api/v1/process-instances/1e3",
                                 "/api/v1/process-instances/" + "9" * 5000])
def test_negative_fractional_and_absurdly_long_ids_are_404(client, make_user, url):
    headers = _signed_in(client, make_user, "walker", ["supervisors"])
    assert client.get(url, headers=headers).status_code == 404


def test_the_largest_id_a_column_holds_is_looked_up_and_not_found(client, make_user):
    headers = _signed_in(client, make_user, "walker", ["supervisors"])
    assert client.get(f"/api/v1/process-instances/{INTEGER_MAX}", headers=headers).status_code == 404
    assert client.get(f"/instances/{INTEGER_MAX}").status_code == 404
    response = client.post(f"/api/v1/notifications/{BIGINT_MAX}/read", headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize("path, body", [
    ("/notifications/read-all", {"ids": [99999999999999999999]}),
    ("/supervisor/bulk", {"action": "suspend", "selection": {"ids": [-23472239590444215752982528]}, "reason": "r"}),
    ("/designer/processes/simple_review/migrations", {"to_version": 2, "instance_ids": [2**31], "reason": "r"}),
    ("/designer/drafts", {"from_key": "simple_review", "from_version": 10**20}),
    ("/supervisor/bulk/preview", {"action": "suspend", "selection": {"ids": [99999999999999999999]}, "reason": "r"}),
    ("/designer/processes/simple_review/migrations/preview", {"to_version": 99999999999999999999, "instance_ids": [1]}),
])
def test_ids_past_the_range_in_a_json_body_are_refused_as_invalid_data(client, make_user, path, body):
    headers = _signed_in(client, make_user, "walker", ["supervisors", "designers", "admins", "integrations"])
    response = client.post(f"/api/v1{path}", headers=headers, json=body)
    assert response.status_code == 422, (response.status_code, response.get_json())


HUGE = "99999999999999999999"


@pytest.mark.parametrize("method, path, form", [
    ("GET", f"/applications/new/simple_review?draft={HUGE}", None),
    ("POST", "/applications/new/simple_review", {"draft_id": HUGE, "action": "save_draft", "title": "t"}),
    ("GET", f"/inbox?saved={HUGE}", None),
    ("POST", "/supervisor/bulk/preview", {"id_list": f"1,{HUGE}", "action": "suspend", "reason": "r"}),
    ("POST", "/designer/drafts", {"from_key": "simple_review", "from_version": HUGE, "name": "n"}),
    ("GET", f"/designer/processes/simple_review/compare?from={HUGE}&to={HUGE}", None),
    ("GET", f"/designer/processes/simple_review/migrate?from={HUGE}&to={HUGE}", None),
])
def test_ids_past_the_range_in_a_pages_query_or_form_are_never_looked_up(client, make_user, deploy, method, path,
                                                                          form):
    # given a deployed process and someone who may open every page
    deploy("bpmn/simple_review.bpmn", "forms/simple_decision.form")
    _signed_in(client, make_user, "walker", ["supervisors", "designers", "admins", "applicants"])
    if form is not None:
        html = client.get("/inbox").get_data(as_text=True)
        form = {**form, "csrf_token": re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)}
    # when the query string or the form carries an id past its column's range
    response = client.open(path, method=method, data=form)
    # then the id is refused or ignored like any malformed value: the page answers, no 500
    assert response.status_code in (200, 302, 400, 404, 422), response.status_code


def test_bounded_id_accepts_exactly_the_integer_columns_range():
    from web.converters import at_most, bounded_id
    assert bounded_id("0") == 0 and bounded_id(str(INTEGER_MAX)) == INTEGER_MAX
    for bad in (str(INTEGER_MAX + 1), "-1", HUGE, "x"):
        with pytest.raises(ValueError):
            bounded_id(bad)
    for limit in (0, 5, 9, 10, 19, 99, 100, 3040, 99999):
        pattern = re.compile(at_most(limit) + r"\Z")
        assert [n for n in range(0, 200_000) if bool(pattern.match(str(n))) != (n <= limit)] == []


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/supervisor/dashboard?until=0001-01-01T02%3A00%3A00.0Z", None),  # what schemathesis found
    ("GET", "/supervisor/dashboard?since=9999-12-31T23%3A59%3A59Z", None),
    ("GET", "/supervisor/heatmap?process_key=x&until=0001-01-01T00%3A00%3A00Z", None),
    ("GET", "/supervisor/archive?ended_after=0001-01-01T00%3A00%3A00Z", None),
    ("POST", "/supervisor/bulk/preview", {"action": "suspend", "reason": "r",
                                           "selection": {"started_after": "0001-01-01T00:00:00Z"}}),
])
def test_moments_at_the_edge_of_the_calendar_are_refused_as_invalid_data(client, make_user, method, path, body):
    # a week start or a working day computed from year 1 or 9999 would leave what datetime holds
    headers = _signed_in(client, make_user, "walker", ["supervisors"])
    response = client.open(f"/api/v1{path}", method=method, headers=headers, json=body)
    assert response.status_code == 422, (response.status_code, response.get_json())
