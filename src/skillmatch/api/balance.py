"""Keep a multi-worker server's keep-alive connections spread evenly over its worker processes.

A routing service holds a few keep-alive connections and sends every request down one of them, so a
worker's share of the load is its share of the connections. The kernel places each new connection on a
worker by a hash of the client's port (see `skillmatch.api.workers`): 8 connections over 2 workers split
4/4 only about a quarter of the time, and at 6/2 one worker does three times the other's work and
queues while the other idles. So each worker counts its active connections (those that sent a request in
the last `window_s`) and publishes the count in a directory the workers share; a worker holding more than
its fair share (the total over the workers, rounded up) answers one request with `Connection: close`.
The client opens a new connection, which the kernel places again, and the answer itself is never lost.
After closing one, a worker waits `cooldown_s` so that the counts catch up before it closes another.
"""
from __future__ import annotations

import math
import os
import struct
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

ENV_BALANCE_DIR = "SKILLMATCH_BALANCE_DIR"
ENV_WORKERS = "SKILLMATCH_WORKERS"
WINDOW_S = 2.0
"""A connection counts as active while it sent a request within this many seconds."""
CHECK_S = 0.25
"""How often a worker publishes its count and reads the others'."""
COOLDOWN_S = 1.0
"""A worker closes at most one connection per this many seconds (longer than two checks of every worker)."""
_RECORD = struct.Struct("<dq")  # (monotonic seconds of the count, active connections)


class WorkerLoads:
    """The active-connection counts of a server's workers: one small file per worker process in a shared directory.

    A count older than `window_s` reads as 0 (its worker saw no request since, or is gone).
    """

    def __init__(self, directory: Path, window_s: float = WINDOW_S) -> None:
        self.directory = Path(directory)
        self.window_s = window_s
        self._path = self.directory / f"{os.getpid()}.count"
        self._fd: int | None = None

    def publish(self, connections: int, now: float) -> None:
        """Write this worker's count (taken at monotonic time `now`)."""
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self._fd, _RECORD.pack(now, connections), 0)

    def others(self, now: float) -> int:
        """The active connections of the other workers, as they last published them."""
        total = 0
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return 0
        for entry in entries:
            if entry.path == str(self._path) or not entry.name.endswith(".count"):
                continue
            try:
                with open(entry.path, "rb") as f:
                    at, count = _RECORD.unpack(f.read(_RECORD.size))
            except (OSError, struct.error):
                continue  # a worker that is just starting or gone
            if 0 <= now - at <= self.window_s:
                total += max(count, 0)
        return total

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._path.unlink(missing_ok=True)


class ConnectionBalancer:
    """Decides, per request, whether its connection should be closed after the answer (see the module docstring)."""

    def __init__(self, loads: WorkerLoads, workers: int, cooldown_s: float = COOLDOWN_S, check_s: float = CHECK_S,
                 clock: Callable[[], float] = time.monotonic,
                 on_count: Callable[[int], None] | None = None) -> None:
        self.loads, self.workers = loads, workers
        self.cooldown_s, self.check_s, self.clock = cooldown_s, check_s, clock
        self.on_count = on_count
        self._seen: dict[Hashable, float] = {}  # connection -> when it last sent a request
        self._next_check = 0.0
        self._quiet_until = 0.0
        self._over = False

    @classmethod
    def from_env(cls) -> ConnectionBalancer | None:
        """The balancer of a worker of `skillmatch serve --workers N` (N > 1), None elsewhere."""
        directory, workers = os.environ.get(ENV_BALANCE_DIR), os.environ.get(ENV_WORKERS, "")
        if not directory or not workers.isdigit() or int(workers) < 2 or not Path(directory).is_dir():
            return None
        return cls(WorkerLoads(Path(directory)), int(workers))

    @property
    def connections(self) -> int:
        """This worker's connections that sent a request lately (the silent ones are dropped at each check)."""
        return len(self._seen)

    def close_after(self, connection: Hashable) -> bool:
        """Note a request on `connection`; True when this worker should close it after answering."""
        now = self.clock()
        self._seen[connection] = now
        if now >= self._next_check:
            self._check(now)
        if not self._over or now < self._quiet_until:
            return False
        self._over = False
        self._quiet_until = now + self.cooldown_s
        del self._seen[connection]
        return True

    def _check(self, now: float) -> None:
        self._next_check = now + self.check_s
        window = self.loads.window_s
        for connection in [c for c, at in self._seen.items() if now - at > window]:
            del self._seen[connection]
        mine = len(self._seen)
        self.loads.publish(mine, now)
        fair = math.ceil((mine + self.loads.others(now)) / self.workers)
        self._over = mine > fair
        if self.on_count is not None:
            self.on_count(mine)

    def close(self) -> None:
        self.loads.close()


class BalanceMiddleware:
    """Adds `Connection: close` to the answer of a request whose connection `balancer` wants closed (pure ASGI)."""

    def __init__(self, app: Callable[..., Any], balancer: ConnectionBalancer) -> None:
        self.app, self.balancer = app, balancer

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or client is None or not self.balancer.close_after(tuple(client)):
            await self.app(scope, receive, send)
            return

        async def send_closing(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"connection" for name, _ in headers):
                    message["headers"] = [*headers, (b"connection", b"close")]
            await send(message)

        await self.app(scope, receive, send_closing)


__all__ = ["BalanceMiddleware", "ConnectionBalancer", "ENV_BALANCE_DIR", "ENV_WORKERS", "WorkerLoads"]
