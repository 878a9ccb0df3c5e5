"""The supervisor's HTTP routes: alerts, hand-back, time out of the queue, and the coaching view in the profile."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from skillmatch.api import create_app

from .conftest import NOW


def _tickets(logged, n: int, age_s: float, channel: str, start: int) -> list[dict]:
    rows = logged[logged["language"] == "en"].iloc[start:start + n]
    return [{"ticket_id": f"{channel}-{age_s:.0f}-{i}", "created_at": (NOW - timedelta(seconds=age_s)).isoformat(),
             "topic": r.topic, "channel": channel, "language": "en", "priority": 3, "customer_id": r.customer_id,
             "customer_tier": "standard", "sentiment": 0.2, "message_words": int(r.message_words)}
            for i, r in enumerate(rows.itertuples(index=False))]


@pytest.fixture()
def busy_floor(client: TestClient, logged, two_weeks) -> dict:
    """Two agents (capacity 1) each given a late chat, a fresh chat and more; a third agent stays free."""
    english = two_weeks[0].agents[two_weeks[0].agents["languages"].str.contains("en")]["agent_id"].tolist()
    busy, free = english[:2], english[2]
    tickets = _tickets(logged, 2, 600, "chat", 0) + _tickets(logged, 4, 5, "chat", 10)
    body = {"request_id": "push-1", "now": NOW.isoformat(), "tickets": tickets,
            "agents": [{"agent_id": a, "free_slots": 3, "capacity": 1} for a in busy], "commit": True}
    answer = client.post("/v1/assign", json=body)
    assert answer.status_code == 200 and len(answer.json()["assignments"]) == 6
    return {"busy": busy, "free": free, "available": ",".join([*busy, free])}


def test_alerts_name_the_agent_the_reason_and_an_action(client: TestClient, busy_floor):
    answer = client.get("/v1/alerts", params={"now": NOW.isoformat(), "available": busy_floor["available"]})
    assert answer.status_code == 200
    body = answer.json()
    assert body["model_version"] and body["threshold"] == 0.5
    kinds = {a["kind"] for a in body["alerts"]}
    assert {"sla_risk", "overload"} <= kinds
    for alert in body["alerts"]:
        assert alert["agent_id"] in busy_floor["busy"] and alert["reason"] and alert["suggested_action"]
    risky = [a for a in body["alerts"] if a["kind"] == "sla_risk"]
    assert all(a["p_miss"] >= 0.5 and "ahead in" in a["reason"] for a in risky)
    moved = [a for a in body["alerts"] if a.get("to_agent_id")]
    assert moved and all(a["to_agent_id"] == busy_floor["free"] for a in moved)
    assert sum(a["kind"] in ("sla_risk", "sla_breached") for a in moved) <= 1  # the free agent has one slot
    quiet = client.get("/v1/alerts", params={"now": NOW.isoformat(), "threshold": 0.999999,
                                             "available": busy_floor["available"]}).json()
    assert not [a for a in quiet["alerts"] if a["kind"] == "sla_risk" and a["p_miss"] < 0.999999]


def test_alerts_refuse_a_bad_threshold(client: TestClient):
    answer = client.get("/v1/alerts", params={"threshold": 1.5})
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["path"] == "query.threshold"


def test_hand_back_names_tickets_and_the_agent_who_takes_them(client: TestClient, busy_floor):
    agent = busy_floor["busy"][0]
    answer = client.get(f"/v1/agents/{agent}/hand-back",
                        params={"now": NOW.isoformat(), "available": busy_floor["available"]})
    assert answer.status_code == 200
    plan = answer.json()
    assert plan["overloaded"] and plan["reasons"]
    assert [m["to_agent_id"] for m in plan["hand_back"]] == [busy_floor["free"]]
    assert plan["expected_misses_after"] <= plan["expected_misses_before"]
    assert client.get("/v1/agents/nobody/hand-back").status_code == 404


def test_time_out_of_the_queue_round_trips(client: TestClient, two_weeks):
    agent = two_weeks[0].agents["agent_id"].iloc[3]
    start, end = NOW, NOW + timedelta(hours=6)
    answer = client.post(f"/v1/agents/{agent}/unavailable",
                         json={"start": start.isoformat(), "end": end.isoformat(), "reason": "training"})
    assert answer.status_code == 201
    assert answer.json()["available_share_of_window"] == pytest.approx(0.75) and answer.json()["model_version"]
    listed = client.get(f"/v1/agents/{agent}/unavailable",
                        params={"start": (NOW - timedelta(days=1)).isoformat(),
                                "end": (NOW + timedelta(days=1)).isoformat()}).json()
    assert listed["periods"] == [{"start": start.isoformat(), "end": end.isoformat(), "reason": "training"}]
    backwards = client.post(f"/v1/agents/{agent}/unavailable",
                            json={"start": end.isoformat(), "end": start.isoformat(), "reason": "training"})
    assert backwards.status_code == 422 and backwards.json()["error"]["details"][0]["path"] == "end"
    unknown = client.post("/v1/agents/nobody/unavailable",
                          json={"start": start.isoformat(), "end": end.isoformat(), "reason": "training"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_the_profile_carries_mentors_qa_and_a_plain_summary(client: TestClient, two_weeks):
    roster = two_weeks[0].agents
    agent = roster[roster["growth_topics"].fillna("") != ""]["agent_id"].iloc[0]
    client.post("/v1/outcomes", json=[{"ticket_id": "Q1", "agent_id": agent, "created_at": NOW.isoformat(),
                                       "topic": "billing", "resolved": True, "handle_time_s": 300, "qa_score": 4.5}])
    profile = client.get(f"/v1/agents/{agent}").json()
    assert set(profile["mentors"]) == set(profile["growth"]["topics"])
    assert all(m["agent_id"] != agent for ms in profile["mentors"].values() for m in ms)
    assert profile["summary"] and all(isinstance(s, str) and s.endswith(".") for s in profile["summary"])
    assert any(s.startswith("Growth topic") for s in profile["summary"])
    assert not any("handle" in s.lower() or "fast" in s.lower() for s in profile["summary"])  # quality, not speed
    assert {"qa", "difficulty", "queue", "unavailable"} <= set(profile)


def test_supervisor_routes_need_the_token(settings, two_weeks):
    agent = two_weeks[0].agents["agent_id"].iloc[0]
    with TestClient(create_app(replace(settings, tokens=frozenset({"s3cret"})))) as locked:
        assert locked.get("/v1/alerts").status_code == 401
        assert locked.post(f"/v1/agents/{agent}/unavailable", json={}).status_code == 401
        ok = locked.get("/v1/alerts", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json()["alerts"] == []
