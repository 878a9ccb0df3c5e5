"""Connection balancing across worker processes: a worker over its fair share of connections closes one."""
from __future__ import annotations

import asyncio

import pytest

from skillmatch.api.balance import (
    ENV_BALANCE_DIR, ENV_WORKERS, BalanceMiddleware, ConnectionBalancer, WorkerLoads,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class PeerLoads(WorkerLoads):
    """The loads of a worker whose peers are simulated: their counts are given, not read from files."""

    def __init__(self, tmp_path, peers: int = 0, window_s: float = 2.0) -> None:
        super().__init__(tmp_path, window_s=window_s)
        self.peers = peers

    def others(self, now: float) -> int:
        return self.peers


def _balancer(loads: WorkerLoads, clock: Clock, workers: int = 2) -> ConnectionBalancer:
    return ConnectionBalancer(loads, workers, cooldown_s=1.0, check_s=0.25, clock=clock)


def _requests(balancer: ConnectionBalancer, clock: Clock, connections: list, rounds: int = 1) -> list:
    """One request per connection per round, 30 ms apart; the connections told to close (their clients
    reconnect, and the kernel places the new connections on other workers)."""
    closed = []
    for _ in range(rounds):
        for c in list(connections):
            clock.now += 0.03
            if balancer.close_after(c):
                closed.append(c)
                connections.remove(c)
    return closed


@pytest.mark.parametrize("mine, peers, sheds", [
    (6, 2, True), (5, 3, True), (4, 4, False), (3, 5, False), (4, 3, False), (5, 2, True), (1, 0, False),
    (2, 0, True),
])
def test_a_worker_over_its_fair_share_closes_one_connection(tmp_path, mine, peers, sheds):
    clock = Clock()
    balancer = _balancer(PeerLoads(tmp_path, peers), clock)
    closed = _requests(balancer, clock, [("127.0.0.1", 5000 + i) for i in range(mine)], rounds=30 // mine)  # 0.9 s: one cooldown
    assert len(closed) == (1 if sheds else 0)


def test_after_closing_one_a_worker_waits_for_the_counts_to_catch_up(tmp_path):
    clock = Clock()
    balancer = _balancer(PeerLoads(tmp_path, peers=0), clock)
    connections = [("127.0.0.1", 5000 + i) for i in range(8)]
    first = _requests(balancer, clock, connections, rounds=3)  # 0.72 s: within the cooldown
    assert len(first) == 1
    assert balancer.connections == 7
    clock.now += 1.0
    later = _requests(balancer, clock, connections, rounds=1)
    assert len(later) == 1 and later != first


def test_connections_that_fell_silent_stop_counting(tmp_path):
    clock = Clock()
    loads = PeerLoads(tmp_path, peers=4, window_s=2.0)
    balancer = _balancer(loads, clock)
    _requests(balancer, clock, [("127.0.0.1", 5000 + i) for i in range(4)])
    clock.now += 2.5
    assert _requests(balancer, clock, [("127.0.0.1", 6000)]) == []
    assert balancer.connections == 1


def test_one_worker_of_one_never_closes(tmp_path):
    clock = Clock()
    balancer = _balancer(PeerLoads(tmp_path), clock, workers=1)
    assert _requests(balancer, clock, [("127.0.0.1", 5000 + i) for i in range(8)], rounds=5) == []


def test_workers_see_each_others_published_counts(tmp_path):
    mine, theirs = WorkerLoads(tmp_path), WorkerLoads(tmp_path)
    theirs._path = tmp_path / "other.count"  # another process's file (the name is the pid)
    theirs.publish(5, now=10.0)
    mine.publish(3, now=10.0)
    assert mine.others(now=11.0) == 5
    assert theirs.others(now=11.0) == 3
    assert mine.others(now=12.5) == 0  # not published within the window: that worker saw no request since
    theirs.close()
    assert mine.others(now=11.0) == 0
    mine.close()
    assert list(tmp_path.iterdir()) == []


def test_a_torn_or_foreign_file_is_ignored(tmp_path):
    (tmp_path / "123.count").write_bytes(b"\x01\x02")
    (tmp_path / "notes.txt").write_text("not a count")
    assert WorkerLoads(tmp_path).others(now=1.0) == 0


def test_the_balancer_exists_only_in_a_worker_of_several(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_BALANCE_DIR, raising=False)
    assert ConnectionBalancer.from_env() is None
    monkeypatch.setenv(ENV_BALANCE_DIR, str(tmp_path))
    monkeypatch.setenv(ENV_WORKERS, "1")
    assert ConnectionBalancer.from_env() is None
    monkeypatch.setenv(ENV_WORKERS, "3")
    balancer = ConnectionBalancer.from_env()
    assert balancer is not None and balancer.workers == 3


class Decided:
    def __init__(self, answer: bool) -> None:
        self.answer = answer

    def close_after(self, connection) -> bool:
        return self.answer


@pytest.mark.parametrize("close, app_headers, expected", [
    (True, [(b"content-type", b"application/json")], [(b"content-type", b"application/json"), (b"connection", b"close")]),
    (False, [(b"content-type", b"application/json")], [(b"content-type", b"application/json")]),
    (True, [(b"connection", b"close")], [(b"connection", b"close")]),
])
def test_the_middleware_asks_the_client_to_reconnect_only_when_told(close, app_headers, expected):
    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": list(app_headers)})
        await send({"type": "http.response.body", "body": b"{}"})

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    middleware = BalanceMiddleware(app, Decided(close))
    asyncio.run(middleware({"type": "http", "client": ("127.0.0.1", 5000)}, receive, send))
    assert sent[0]["headers"] == expected
    assert sent[1]["body"] == b"{}"
