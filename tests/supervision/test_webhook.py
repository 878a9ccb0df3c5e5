"""The alert webhook: a bounded queue, retries with backoff, each alert once; and a dead receiver never slows
routing, while its alerts arrive once it is back."""
from __future__ import annotations

import json
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from skillmatch.api import ApiSettings, create_app
from skillmatch.cli import app
from skillmatch.supervision import AlertNotifier, AlertWatcher


def _wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class FlakyPost:
    """A receiver that refuses the first `failures` posts, then accepts; records what it accepted."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[float] = []
        self.accepted: list[dict[str, Any]] = []

    def __call__(self, url: str, body: bytes, timeout_s: float) -> int:
        self.calls.append(time.monotonic())
        if len(self.calls) <= self.failures:
            raise ConnectionRefusedError("down")
        self.accepted.append(json.loads(body))
        return 204


def test_retries_back_off_exponentially_and_deliver_each_key_once():
    post = FlakyPost(failures=3)
    notifier = AlertNotifier("http://x", backoff_first_s=0.05, backoff_max_s=0.2, post=post).start()
    try:
        assert notifier.submit([{"key": "a"}, {"key": "b"}, {"key": "a"}]) == 2
        assert _wait(lambda: notifier.stats()["delivered"] == 2, 5)
        assert notifier.submit([{"key": "a"}, {"key": "b"}]) == 0  # remembered as delivered
    finally:
        notifier.stop()
    gaps = [b - a for a, b in zip(post.calls, post.calls[1:4])]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.09 and gaps[2] >= 0.18  # 0.05, 0.1, 0.2 (capped)
    assert [a["key"] for a in post.accepted] == ["a", "b"]
    assert notifier.stats() == {"submitted": 2, "dropped": 0, "attempts": 5, "failures": 3, "delivered": 2,
                                "pending": 0}


def test_a_full_queue_drops_instead_of_blocking():
    release = threading.Event()

    def stuck(url: str, body: bytes, timeout_s: float) -> int:
        release.wait(5)
        return 200

    notifier = AlertNotifier("http://x", max_queue=2, post=stuck).start()
    try:
        started = time.monotonic()
        queued = notifier.submit([{"key": str(i)} for i in range(50)])
        assert time.monotonic() - started < 0.5
        assert queued <= 3 and notifier.stats()["dropped"] == 50 - queued
    finally:
        release.set()
        notifier.stop()


def test_the_watcher_submits_only_what_is_new_and_claimed():
    post = FlakyPost(failures=0)
    notifier = AlertNotifier("http://x", post=post)
    alerts = [{"key": "a"}, {"key": "b"}]
    watcher = AlertWatcher(lambda: alerts, notifier, interval_s=10.0, claim=lambda keys: set(keys) - {"b"})
    watcher.start()
    try:
        assert watcher.check() == 1
        assert watcher.check() == 0
        assert _wait(lambda: notifier.stats()["delivered"] == 1, 5)
    finally:
        watcher.stop()
    assert [a["key"] for a in post.accepted] == ["a"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


def _round(request_id: str, now: datetime, agents: list[dict]) -> dict:
    """Voice tickets that came ten minutes ago: routed to a few agents, past their one-minute target at once."""
    created = (now - timedelta(minutes=10)).isoformat()
    tickets = [{"ticket_id": f"{request_id}-{i}", "created_at": created, "topic": "billing", "channel": "voice",
                "language": "en", "priority": 3, "customer_id": f"C{i:06d}", "sentiment": 0.1,
                "message_words": 40} for i in range(6)]
    return {"request_id": request_id, "now": now.isoformat(), "tickets": tickets, "agents": agents, "commit": True}


def _assign_times(client: TestClient, now: datetime, agents: list[dict], n: int, tag: str) -> list[float]:
    times = []
    for i in range(n):
        body = _round(f"{tag}-{i}", now, agents)
        body["commit"] = False
        started = time.perf_counter()
        assert client.post("/v1/assign", json=body).status_code == 200
        times.append(time.perf_counter() - started)
    return times


def test_a_dead_webhook_does_not_slow_routing_and_gets_its_alerts_when_back(settings, two_weeks):
    agents = [{"agent_id": a, "free_slots": 2, "capacity": 1, "languages": ["en"]}
              for a in two_weeks[0].agents["agent_id"].head(3)]
    now = datetime.now(timezone.utc)
    with TestClient(create_app(settings)) as baseline:
        baseline_times = _assign_times(baseline, now, agents, 8, "base")
    port = _free_port()
    dead = replace(settings, alert_webhook=f"http://127.0.0.1:{port}/alerts", alert_interval_s=0.2)
    _Receiver.received = []
    app = create_app(dead)
    with TestClient(app) as client:
        assert client.post("/v1/assign", json=_round("open-1", now, agents)).status_code == 200
        watcher = app.state.alert_watcher
        notifier = watcher.notifier
        assert _wait(lambda: notifier.stats()["failures"] >= 2, 20), notifier.stats()
        rounds_before, attempts_before = watcher.rounds, notifier.stats()["attempts"]
        dead_times = _assign_times(client, now, agents, 8, "dead")
        stats = notifier.stats()
        assert stats["delivered"] == 0 and stats["pending"] >= 1 and stats["dropped"] == 0
        assert _wait(lambda: watcher.rounds > rounds_before and notifier.stats()["attempts"] > attempts_before, 10)
        # counts, not only timings: every routing call answered, none took anywhere near a webhook timeout
        assert sum(t > notifier.timeout_s for t in dead_times) == 0
        assert statistics.median(dead_times) <= 3 * statistics.median(baseline_times) + 0.25
        expected = {a["key"] for a in client.get("/v1/alerts").json()["alerts"]}
        assert expected and {k.split(":")[0] for k in expected} >= {"sla_breached"}
        server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            assert _wait(lambda: expected <= {a["key"] for a in _Receiver.received}, 20), notifier.stats()
            time.sleep(3 * dead.alert_interval_s)
        finally:
            server.shutdown()
            server.server_close()
    keys = [a["key"] for a in _Receiver.received]
    assert len(keys) == len(set(keys))  # each alert once
    assert all(a["reason"] and a["suggested_action"] for a in _Receiver.received)


def test_the_webhook_setting_reaches_worker_processes(monkeypatch, tmp_path):
    settings = ApiSettings(models_dir=tmp_path, alert_webhook="http://127.0.0.1:9/alerts", alert_interval_s=2.5)
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    back = ApiSettings.from_env()
    assert (back.alert_webhook, back.alert_interval_s) == ("http://127.0.0.1:9/alerts", 2.5)


def test_serve_refuses_a_webhook_that_is_not_http(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--models", str(tmp_path), "--alert-webhook", "ftp://example/x"])
    assert result.exit_code == 2 and "not a webhook URL" in result.output
