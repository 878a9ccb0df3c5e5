"""The HTTP API through the ASGI client: shapes of the contract, idempotency, errors, limits, auth, metrics, logs."""
from __future__ import annotations

import json
import logging
import operator
import re
import threading
import time

import pytest
from fastapi.testclient import TestClient

from skillmatch.api import ApiSettings, create_app

from .conftest import NOW, add_version, agents_from, tickets_from


def _outcome_rows(logged, n: int, prefix: str = "O") -> list[dict]:
    rows = logged.iloc[:n].drop(columns=["message_words"]).copy()
    rows["ticket_id"] = prefix + rows["ticket_id"]
    return json.loads(rows.to_json(orient="records", date_format="iso"))


def test_assign_answers_the_contract_shape(client, round_body):
    response = client.post("/v1/assign", json=round_body)
    assert response.status_code == 200, response.text
    body = response.json()
    version = client.get("/v1/model").json()["model_version"]
    assert body["model_version"] == version
    placed = {a["ticket_id"] for a in body["assignments"]} | {u["ticket_id"] for u in body["unassigned"]}
    assert placed == {t["ticket_id"] for t in round_body["tickets"]}
    first = body["assignments"][0]
    assert set(first["components"]) == {"match", "fairness", "growth", "urgency"}
    assert {"p_resolve", "handle_time_s", "difficulty"} <= set(first["predicted"])
    assert first["reasons"] and all(isinstance(r, str) for r in first["reasons"])
    assert response.headers["x-request-id"]


def test_a_repeated_request_id_returns_the_first_answer_and_a_changed_body_is_refused(client, round_body):
    first = client.post("/v1/assign", json=round_body).json()
    assert client.post("/v1/assign", json=round_body).json() == first
    changed = {**round_body, "tickets": round_body["tickets"][:3]}
    conflict = client.post("/v1/assign", json=changed)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"
    assert "r-1" in conflict.json()["error"]["message"]


def test_next_gives_one_ticket_and_replays_without_now(client, logged, two_weeks):
    agents = agents_from(two_weeks, 3, slots=1)
    body = {"request_id": "n-1", "agent": agents[0], "queue": tickets_from(logged, 15), "others": agents[1:]}
    first = client.post("/v1/next", json=body)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["assignment"] is None or answer["assignment"]["agent_id"] == agents[0]["agent_id"]
    assert client.post("/v1/next", json=body).json() == answer


@pytest.mark.parametrize("where", ["event-loop", "thread-pool", "engine-busy"])
def test_routing_answers_the_same_wherever_the_request_runs(settings, logged, two_weeks, round_body, where,
                                                            monkeypatch):
    """Small requests run on the event loop when the engine is free; large ones, or ones the engine is busy
    for, in the thread pool. The answers are the same."""
    if where == "thread-pool":
        monkeypatch.setattr("skillmatch.api.routes.INLINE_MAX_PAIRS", 0)
        monkeypatch.setattr("skillmatch.api.routes.INLINE_MAX_BODY_BYTES", 0)
    agents = agents_from(two_weeks, 3, slots=1)
    claim = {"now": NOW.isoformat(), "agent": agents[0], "queue": tickets_from(logged, 15), "others": agents[1:],
             "commit": False}
    round_ = {**round_body, "commit": False, "request_id": None}
    with TestClient(create_app(settings)) as client:
        holder = client.app.state.holder
        if where == "engine-busy":  # another request holds the engine for 0.3 s
            release, started = threading.Event(), threading.Event()

            def hold() -> None:
                with holder.use():
                    started.set()
                    release.wait(10)

            busy = threading.Thread(target=hold)
            busy.start()
            started.wait(10)
            threading.Timer(0.3, release.set).start()
        answers = [client.post("/v1/next", json=claim), client.post("/v1/assign", json=round_)]
        if where == "engine-busy":
            busy.join()
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    with TestClient(create_app(settings)) as reference:
        expected = [reference.post("/v1/next", json=claim).json(), reference.post("/v1/assign", json=round_).json()]
    assert [a.json() for a in answers] == expected


def test_outcomes_are_stored_once(client, logged):
    body = _outcome_rows(logged, 4)
    first = client.post("/v1/outcomes", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["inserted"] == 4
    again = client.post("/v1/outcomes", json=body).json()
    assert (again["inserted"], again["duplicates"]) == (0, 4)


def test_outcomes_move_the_agents_profile(client, logged):
    rows = _outcome_rows(logged, 6)
    agent, topic = rows[0]["agent_id"], rows[0]["topic"]
    mine = [r for r in rows if r["agent_id"] == agent and r["topic"] == topic]

    def count() -> int:
        topics = client.get(f"/v1/agents/{agent}").json()["topics"]
        return next((t["outcomes"] for t in topics if t["topic"] == topic), 0)

    before = count()
    client.post("/v1/outcomes", json=rows)
    assert count() == before + len(mine)


def test_agent_profile_and_unknown_agent(client, two_weeks):
    agent = two_weeks[0].agents["agent_id"].iloc[0]
    profile = client.get(f"/v1/agents/{agent}")
    assert profile.status_code == 200
    assert {"topics", "window", "growth", "model_version"} <= set(profile.json())
    missing = client.get("/v1/agents/nobody-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("field", "value", "path"), [
    ("priority", 9, "tickets.0.priority"),
    ("created_at", "yesterday", "tickets.0.created_at"),
    ("sentiment", 3.0, "tickets.0.sentiment"),
    ("topic", None, "tickets.0.topic"),
])
def test_invalid_fields_are_named_by_path(client, round_body, field, value, path):
    round_body["tickets"][0][field] = value
    response = client.post("/v1/assign", json=round_body)
    assert response.status_code == 422
    assert path in [d["path"] for d in response.json()["error"]["details"]]


def test_every_invalid_field_is_listed(client, round_body):
    round_body["tickets"][0]["priority"] = 0
    round_body["agents"][1]["free_slots"] = -1
    paths = {d["path"] for d in client.post("/v1/assign", json=round_body).json()["error"]["details"]}
    assert {"tickets.0.priority", "agents.1.free_slots"} <= paths


def test_malformed_json_is_a_422_envelope(client):
    response = client.post("/v1/assign", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("invalid JSON")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_routing_body_must_be_sent_as_json(client, round_body, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/assign", content=json.dumps(round_body).encode(), headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "body"
    assert "application/json" in response.json()["error"]["details"][0]["message"]


def test_a_json_suffixed_media_type_is_accepted(client, round_body):
    response = client.post("/v1/assign", content=json.dumps(round_body).encode(),
                           headers={"content-type": "application/vnd.skillmatch+json; charset=utf-8"})
    assert response.status_code == 200, response.text


def test_invalid_outcome_row_names_the_field(client, logged):
    rows = _outcome_rows(logged, 2)
    rows[1]["csat"] = 9
    response = client.post("/v1/outcomes", json=rows)
    assert response.status_code == 422
    assert "1.csat" in [d["path"] for d in response.json()["error"]["details"]]


@pytest.mark.parametrize(("limit", "what"), [("max_tickets", "tickets"), ("max_agents", "agents")])
def test_over_the_count_limits_is_413_and_records_nothing(settings, round_body, limit, what):
    small = ApiSettings(**{**settings.__dict__, limit: 2})
    with TestClient(create_app(small)) as client:
        response = client.post("/v1/assign", json=round_body)
        assert response.status_code == 413
        assert response.json()["error"]["details"][0]["path"] == what
        round_body[what] = round_body[what][:2]
        again = client.post("/v1/assign", json=round_body)
        assert again.status_code == 200  # the refused request_id was never recorded


def test_over_the_body_limit_is_413_declared_or_streamed(settings, round_body):
    small = ApiSettings(**{**settings.__dict__, "max_body_bytes": 1000})
    with TestClient(create_app(small)) as client:
        assert client.post("/v1/assign", json=round_body).status_code == 413
        payload = json.dumps(round_body).encode()
        streamed = client.post("/v1/assign", content=iter([payload[:600], payload[600:]]),
                               headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "too_large"


def test_tokens_are_required_when_configured(settings, round_body):
    secured = ApiSettings(**{**settings.__dict__, "tokens": frozenset({"s3cret", "other"})})
    with TestClient(create_app(secured)) as client:
        assert client.post("/v1/assign", json=round_body).status_code == 401
        wrong = client.post("/v1/assign", json=round_body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Bearer"
        assert client.get("/metrics").status_code == 401
        ok = client.post("/v1/assign", json=round_body, headers={"Authorization": "Bearer other"})
        assert ok.status_code == 200
        assert client.get("/healthz").status_code == 200


def test_without_a_model_routes_are_503_until_one_is_promoted(tmp_path, trained, round_body):
    from skillmatch.models.folder import promote

    empty = tmp_path / "empty-models"
    empty.mkdir()
    settings = ApiSettings(models_dir=empty, database_url=f"sqlite:///{tmp_path / 'l.db'}", reload_interval_s=0.05)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok", "model_version": None}
        for response in (client.get("/readyz"), client.post("/v1/assign", json=round_body)):
            assert response.status_code == 503
            assert "no model loaded" in response.json()["error"]["message"]
        version = add_version(empty, trained[0], "first")
        promote(empty, "first")
        client.app.state.holder.refresh()
        assert client.get("/readyz").json() == {"status": "ready", "model_version": version}
        assert client.post("/v1/assign", json=round_body).json()["model_version"] == version


def test_promoting_switches_the_version_answering(client, models_dir, trained, round_body):
    from skillmatch.models.folder import promote

    old = client.get("/v1/model").json()["model_version"]
    new = add_version(models_dir, trained[0], "v2")
    promote(models_dir, "v2")
    assert client.app.state.holder.refresh()
    body = {**round_body, "request_id": "after-promote"}
    assert client.post("/v1/assign", json=body).json()["model_version"] == new != old


def test_a_broken_promoted_folder_keeps_the_old_version_serving(client, models_dir, trained, round_body):
    from skillmatch.models.folder import MODEL_FILE, promote

    old = client.get("/v1/model").json()["model_version"]
    add_version(models_dir, trained[0], "broken")
    promote(models_dir, "broken")
    (models_dir / "broken" / MODEL_FILE).write_bytes(b"not a model")
    assert not client.app.state.holder.refresh()
    assert client.post("/v1/assign", json=round_body).json()["model_version"] == old
    assert "cannot load the model" in (client.app.state.holder.last_error or "")


def test_a_model_failing_to_load_in_any_way_keeps_the_old_version_serving(client, models_dir, trained, round_body,
                                                                         monkeypatch):
    from skillmatch.engine import Engine
    from skillmatch.models.folder import promote

    old = client.get("/v1/model").json()["model_version"]
    add_version(models_dir, trained[0], "v2")
    promote(models_dir, "v2")
    def blows_up(self: Engine, replay: object = ()) -> None:
        raise RuntimeError("a kernel blew up")

    monkeypatch.setattr(Engine, "warm_up", blows_up)
    assert not client.app.state.holder.refresh()
    assert client.post("/v1/assign", json=round_body).json()["model_version"] == old
    assert "a kernel blew up" in (client.app.state.holder.last_error or "")


def test_a_promoted_model_is_warmed_on_the_last_round_served(client, models_dir, trained, round_body):
    from skillmatch.models.folder import promote

    client.post("/v1/assign", json={**round_body, "commit": False})
    old = client.app.state.holder.current.engine
    add_version(models_dir, trained[0], "v2")
    promote(models_dir, "v2")
    assert client.app.state.holder.refresh()
    new = client.app.state.holder.current.engine
    assert new is not old
    (call, replayed), = new.last_served()
    served = old.last_served()[0][1]
    assert call == "assign" and replayed["now"] == served["now"]
    assert len(replayed["tickets"]) == 12 and all(map(operator.is_, replayed["tickets"], served["tickets"]))


def test_a_promoted_model_failing_on_the_last_round_served_keeps_the_old_version(client, models_dir, trained,
                                                                                round_body, monkeypatch):
    from skillmatch.engine import Engine
    from skillmatch.models.folder import promote

    old_version = client.post("/v1/assign", json={**round_body, "commit": False}).json()["model_version"]
    old = client.app.state.holder.current.engine
    add_version(models_dir, trained[0], "v2")
    promote(models_dir, "v2")
    assign = Engine.assign

    def fails_on_the_new_model(self: Engine, *args: object, **kwargs: object) -> dict:
        if self is not old:
            raise ValueError("a feature is missing")
        return assign(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "assign", fails_on_the_new_model)
    assert not client.app.state.holder.refresh()
    assert client.post("/v1/assign", json={**round_body, "request_id": "r-2"}).json()["model_version"] == old_version
    assert "failed on the last assign round served: a feature is missing" in client.app.state.holder.last_error


def test_the_model_watcher_outlives_an_unexpected_error(models_dir, trained, tmp_path, monkeypatch):
    from skillmatch.api.serving import EngineHolder
    from skillmatch.models.folder import promote

    holder = EngineHolder.open(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", None)
    ticks = []

    def failing_tick() -> str:
        ticks.append(1)
        raise RuntimeError("keeping the heap up failed")

    monkeypatch.setattr(holder._heap, "keep_up", failing_tick)
    holder.start(0.05)
    try:
        deadline = time.monotonic() + 20
        while len(ticks) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(ticks) >= 2  # the watcher went on after the first error
        new = add_version(models_dir, trained[0], "v2")
        promote(models_dir, "v2")
        while holder.version != new and time.monotonic() < deadline + 20:
            time.sleep(0.05)
        assert holder.version == new
    finally:
        holder.close()


def test_metrics_count_requests_assignments_and_the_model(client, round_body):
    client.post("/v1/assign", json=round_body)
    client.post("/v1/assign", json={**round_body, "tickets": [{"ticket_id": "x"}]})
    text = client.get("/metrics").text
    version = client.get("/v1/model").json()["model_version"]
    assert 'skillmatch_http_requests_total{method="POST",route="/v1/assign",status="200"} 1.0' in text
    assert 'route="/v1/assign",status="422"' in text
    assert "skillmatch_http_request_duration_seconds_bucket" in text
    assert "skillmatch_assignments_total" in text
    assert f'skillmatch_model_info{{version="{version}"}} 1.0' in text


def test_access_log_is_one_json_line_with_the_request_ids(client, round_body, caplog):
    with caplog.at_level(logging.INFO, logger="skillmatch.access"):
        response = client.post("/v1/assign", json=round_body, headers={"X-Request-ID": "trace-77"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "skillmatch.access"]
    assert response.headers["x-request-id"] == "trace-77"
    line = next(entry for entry in lines if entry["request_id"] == "trace-77")
    assert line["body_request_id"] == "r-1"
    assert line["status"] == 200 and line["route"] == "/v1/assign"
    assert line["model_version"] == response.json()["model_version"]
    assert line["duration_ms"] > 0


def test_openapi_documents_every_route_with_examples(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/assign", "/v1/next", "/v1/outcomes", "/v1/agents/{agent_id}", "/v1/model", "/healthz", "/readyz",
            "/metrics"} <= set(spec["paths"])
    assert spec["components"]["schemas"]["AssignRequest"]["examples"][0]["request_id"] == "r-42"
    for path, body in (("/v1/assign", "AssignRequest"), ("/v1/next", "NextRequest")):
        request_body = spec["paths"][path]["post"]["requestBody"]
        assert request_body["required"] is True
        assert request_body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{body}"}
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert refs <= set(spec["components"]["schemas"]), "every schema a body refers to is in the components"
    assert client.get("/docs").status_code == 200


def test_the_contract_example_is_accepted(client, two_weeks):
    example = client.get("/openapi.json").json()["components"]["schemas"]["AssignRequest"]["examples"][0]
    example["now"] = NOW.isoformat()
    response = client.post("/v1/assign", json=example)
    assert response.status_code == 200, response.text


def test_agent_profile_shows_the_audit_index_when_given(settings, two_weeks, trained, tmp_path):
    from skillmatch.audit import difficulty_from_model, run_audit, write_audit
    from skillmatch.logs import load_logs
    from skillmatch.models.folder import read_model_folder

    paths = two_weeks[1]
    logs = load_logs(paths["interactions"], paths["agents"], paths["events"])
    model, _ = read_model_folder(trained[0])
    write_audit(run_audit(logs, difficulty_from_model(model, logs.interactions, "test model")), tmp_path / "audit")
    audited = ApiSettings(**{**settings.__dict__, "audit_dir": tmp_path / "audit"})
    agent = two_weeks[0].agents["agent_id"].iloc[0]
    with TestClient(create_app(audited)) as client:
        audit = client.get(f"/v1/agents/{agent}").json()["audit"]
    assert audit is not None and "index" in str(audit)
