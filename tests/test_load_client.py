"""The load benchmark's client (`benchmarks/load_client.py`) counts what a server did, whatever it answers."""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from load_client import LoadClient  # noqa: E402


class _Handler(BaseHTTPRequestHandler):
    """Echoes the body's length; every 5th request gets a 500, every 7th is answered with Connection: close,
    every 11th gets no answer: its connection is dropped."""

    protocol_version = "HTTP/1.1"
    seen: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook
        body = self.rfile.read(int(self.headers["content-length"]))
        _Handler.seen.append(body)
        n = len(_Handler.seen)
        if n % 11 == 0:
            self.close_connection = True
            return
        answer = str(len(body)).encode()
        self.send_response(500 if n % 5 == 0 else 200)
        self.send_header("content-length", str(len(answer)))
        if n % 7 == 0:
            self.send_header("connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("rate", [None, 200.0])
def test_each_request_counts_once_and_refusals_and_dropped_connections_are_failures(server: ThreadingHTTPServer,
                                                                 rate: float | None) -> None:
    client = LoadClient("127.0.0.1", server.server_address[1], "/echo", connections=3)
    timeline: list[tuple[float, float]] = []
    try:
        latencies, failures, elapsed = client.run(lambda i: b"x" * (1000 + i), seconds=0.5, rate=rate,
                                                  timeline=timeline)
    finally:
        client.close()
    bodies = _Handler.seen
    assert len(latencies) == len(bodies) > 10
    assert sorted(len(b) for b in bodies) == list(range(1000, 1000 + len(bodies)))  # request i got bodies(i)
    # the 500s and the dropped connections, none for the connections closed after an answer
    assert failures == sum(1 for n in range(1, len(bodies) + 1) if n % 5 == 0 or n % 11 == 0)
    assert all(latency >= 0 for latency in latencies) and elapsed >= 0.5
    assert sorted(latency for _, latency in timeline) == sorted(latencies)  # each request once, when it fell due
    assert all(0 <= due < 0.5 for due, _ in timeline)
    if rate:
        assert len(bodies) == int(0.5 * rate)  # open loop: exactly the requests that fell due
        assert sorted(due for due, _ in timeline) == pytest.approx([i / rate for i in range(len(bodies))], abs=1e-6)
