"""/readyz and /metrics as operations use them: ready only when the database answers and its
schema is at the newest migration (503 with a reason otherwise); metrics in Prometheus' text
format, with requests by endpoint and the engine's figures."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from engine.core.db import Database
from tests.conftest import migrate


def test_readyz_is_200_on_the_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["status"] == "ready"


def test_readyz_is_503_with_a_reason_while_the_database_is_not_migrated(tmp_path):
    from web import create_app
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    database = Database(url)
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "t", "ENGINE_DATABASE": database})
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert "db upgrade" in response.get_json()["reason"]
        migrate(database, "0014")  # one migration behind
        assert app.test_client().get("/readyz").status_code == 503
        migrate(database)
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        database.engine.dispose()


def test_metrics_parse_and_count_requests_and_the_engines_figures(client, api, deploy):
    deploy("bpmn/simple_review.bpmn", "forms/simple_decision.form", "bpmn/external_payment.bpmn")
    alice = api("alice")
    assert alice.post("/process-instances", {"process_key": "simple_review", "data": {"title": "x"}})[0] == 201
    assert alice.post("/process-instances", {"process_key": "external_payment", "data": {}})[0] == 201
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}
    gauges = {name: families[name].samples[0].value for name in (
        "engine_open_tasks", "engine_running_instances", "engine_external_tasks_open",
        "engine_external_task_incidents")}
    assert gauges == {"engine_open_tasks": 1, "engine_running_instances": 2,
                      "engine_external_tasks_open": 1, "engine_external_task_incidents": 0}
    started = [s for s in families["http_requests"].samples
               if s.name == "http_requests_total" and s.labels["endpoint"] == "api.start_instance"]
    assert sum(s.value for s in started) >= 2
    assert "http_request_duration_seconds" in families
