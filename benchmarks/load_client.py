"""A light HTTP/1.1 load generator: one thread, non-blocking keep-alive sockets, open or closed loop.

The server under test shares the machine's 2 cores with its load. A client of one thread per connection
(`http.client`) took 0.3-0.4 ms of CPU per claim, a tenth of what the server spends, and its threads
queued behind each other for the GIL, which showed up as server latency. Here one thread drives every
connection through `selectors`: it writes each request as it falls due, reads answers as they arrive,
and timestamps them as soon as their last byte is read.
"""
from __future__ import annotations

import selectors
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

RECV_BYTES = 1 << 16
ANSWER_TIMEOUT_S = 30.0
"""A run stops with TimeoutError when requests are in flight and nothing arrives for this long."""


@dataclass
class _Connection:
    """One keep-alive connection and the request it has in flight (if any)."""

    sock: socket.socket
    due: float = 0.0
    busy: bool = False
    out: memoryview = field(default_factory=lambda: memoryview(b""))
    received: bytearray = field(default_factory=bytearray)


class LoadClient:
    """`connections` keep-alive connections to host:port, each with at most one request in flight."""

    def __init__(self, host: str, port: int, path: str, connections: int) -> None:
        self.host, self.port = host, port
        self._head = (f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
                      "content-length: ").encode()
        self._selector = selectors.DefaultSelector()
        self._free: deque[_Connection] = deque(self._open() for _ in range(connections))

    def close(self) -> None:
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    def _open(self) -> _Connection:
        sock = socket.create_connection((self.host, self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        connection = _Connection(sock)
        self._selector.register(sock, selectors.EVENT_READ, connection)
        return connection

    def run(self, bodies: Callable[[int], bytes], seconds: float, rate: float | None = None,
            timeline: list[tuple[float, float]] | None = None) -> tuple[list[float], int, float]:
        """Send requests until `seconds` pass; the latencies, the failures and the seconds until the last answer.

        Request i gets `bodies(i)`, built when it is sent. Closed loop without `rate` (a connection sends its
        next request as soon as its last is answered); with it, request i is due at start + i / rate, waits
        for a free connection if none is, and its latency counts from when it was due (no coordinated
        omission).
        """
        latencies: list[float] = []
        failures = 0
        waiting: deque[tuple[int, float]] = deque()  # (number, due time) of requests not sent yet
        started = time.perf_counter()
        stop = started + seconds
        issued = in_flight = 0
        while True:
            now = time.perf_counter()
            if rate:
                while started + issued / rate <= min(now, stop - 1e-9):
                    waiting.append((issued, started + issued / rate))
                    issued += 1
            elif now < stop:
                for _ in range(len(self._free) - len(waiting)):
                    waiting.append((issued, now))
                    issued += 1
            while waiting and self._free:
                number, due = waiting.popleft()
                connection = self._free.popleft()
                in_flight += 1
                if self._send(connection, bodies(number), due) is False:  # the connection broke: a failure
                    latencies.append(time.perf_counter() - due)
                    if timeline is not None:
                        timeline.append((due - started, latencies[-1]))
                    failures += 1
                    in_flight -= 1
                    connection.busy = False
                    self._free.append(self._open())
            more_due = rate is not None and started + issued / rate < stop
            if not in_flight and not waiting and not more_due and (rate or now >= stop):
                break
            timeout = ANSWER_TIMEOUT_S
            if more_due:
                timeout = min(timeout, max(0.0, started + issued / rate - time.perf_counter()))
            events = self._selector.select(timeout)
            if not events and in_flight and not more_due:
                raise TimeoutError(f"{in_flight} requests got no answer within {ANSWER_TIMEOUT_S:.0f} s")
            for key, mask in events:
                connection = key.data
                answered = self._write(connection) if mask & selectors.EVENT_WRITE else None
                if answered is None and mask & selectors.EVENT_READ:
                    answered = self._read(connection)
                if answered is None:
                    continue
                latencies.append(time.perf_counter() - connection.due)
                if timeline is not None:
                    timeline.append((connection.due - started, latencies[-1]))
                failures += not answered
                in_flight -= 1
                connection.busy = False
                self._free.append(connection if connection.sock.fileno() >= 0 else self._open())
        return latencies, failures, time.perf_counter() - started

    def _send(self, connection: _Connection, body: bytes, due: float) -> bool | None:
        """Start writing a request; False when the connection broke (see `_write`)."""
        connection.due, connection.busy = due, True
        connection.received.clear()
        connection.out = memoryview(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        return self._write(connection)

    def _write(self, connection: _Connection) -> bool | None:
        """Write what the socket takes of the request; None, or False when the connection broke (it is closed)."""
        try:
            written = connection.sock.send(connection.out)
        except BlockingIOError:
            written = 0
        except OSError:
            self._drop(connection)
            return False
        connection.out = connection.out[written:]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if len(connection.out) else 0)
        self._selector.modify(connection.sock, events, connection)
        return None

    def _drop(self, connection: _Connection) -> None:
        self._selector.unregister(connection.sock)
        connection.sock.close()

    def _read(self, connection: _Connection) -> bool | None:
        """None while the answer is incomplete; then whether it was a 200. A connection the server closed is
        closed here too (and counts as a failure if a request was in flight)."""
        try:
            chunk = connection.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return None
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(connection)
            if not connection.busy:  # an idle connection the server let go: replace it
                self._free.remove(connection)
                self._free.append(self._open())
                return None
            return False
        connection.received += chunk
        end = connection.received.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(connection.received[:end]).decode("latin-1").lower().split("\r\n")
        length = next((int(line.split(":", 1)[1]) for line in head[1:] if line.startswith("content-length:")), 0)
        if len(connection.received) < end + 4 + length:
            return None
        if any(line.replace(" ", "") == "connection:close" for line in head[1:]):
            self._drop(connection)
        return head[0].split(" ", 2)[1] == "200"
