"""Load test of `skillmatch serve` on loopback, next to the in-process engine measured in the same run.

    .venv/bin/python benchmarks/api_load.py --models models/latest [--seconds 10 --clients 8 --workers 2 --rate 500]

Three phases, each bounded by --seconds:
- `/v1/assign` rounds of 50 tickets x 100 agents from one client (closed loop; 10 of the 50 tickets are
  new in each round, as waiting tickets carry over between rounds while others are placed and arrive);
- a claim-next stream on `/v1/next` from --clients connections in closed loop (each sends its next
  request when the last is answered: the most the server gives). Each request is one of 11 agents (the
  other 10 are `others`) asking with a queue of 200 tickets that moves on by one ticket per request (one
  claimed, one arrived), at a `now` that follows the clock;
- the same stream in open loop at --rate requests per second, --repeat times (each a new stream, whose
  200 tickets the server has not seen): request i is due at start + i / rate and its latency counts from
  then, so a server that falls behind pays for the queue it builds (no coordinated omission). "req/s"
  is what was answered per second. A last line gives the median p99 of the runs and how many met the
  target.
Prints req/s, p50 and p99, the in-process `Engine.assign` / `Engine.next` p50 and p99 of the same
payloads, the ratio of the medians, and (on Linux) the CPU time per request of the server's processes
and of the client, with the share of all cores the two kept busy (the headroom the latency depends on),
and the share the machine's other processes (and the kernel's interrupt work) took meanwhile ("others"):
a run they disturbed shows there, though a burst of 0.1 s adds only half a percent to a 10 s phase.
The client is one thread driving HTTP/1.1 keep-alive connections through non-blocking sockets
(`load_client.py`), so that it takes little of the 2 cores it shares with the server (0.15-0.2 ms of
CPU per claim; a thread per connection took 0.3-0.4 ms and its threads queued for the GIL, which was
counted as server latency). Decisions are not committed (`commit: false`) so that the figures are
routing, not disk flushes; pass --commit to include the ledger writes.
Targets on 2 cores: `/v1/assign` 50x100 p99 under 20 ms; `/v1/next` at least 500 req/s with p99 under 10 ms.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from engine_round import NOW, _round as random_round
from load_client import LoadClient
from skillmatch.config import PolicyConfig
from skillmatch.engine import Engine

SKILLMATCH = Path(sys.executable).with_name("skillmatch")
OTHERS = 10
QUEUE = 200
ROUND = 50
NEW_PER_ROUND = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(models: Path, ledger: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "SKILLMATCH_DATABASE_URL": ledger}
    process = subprocess.Popen([str(SKILLMATCH), "serve", "--models", str(models), "--port", str(port),
                                "--workers", str(workers), "--log-level", "warning"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not become ready within 120 s")


def _drive(base: str, path: str, bodies: Callable[[int], bytes], clients: int, seconds: float,
           rate: float | None = None) -> tuple[list[float], int, float]:
    """`clients` connections posting until `seconds` pass (request i gets `bodies(i)`); the latencies, the
    failures and the seconds until the last answer. Closed loop without `rate`; with it, request i is due
    at start + i / rate and its latency counts from then (see `load_client.LoadClient`)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    client = LoadClient(host, int(port), path, clients)
    try:
        return client.run(bodies, seconds, rate)
    finally:
        client.close()


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by a process and its live descendants (Linux /proc; None elsewhere)."""
    try:
        tick, total, todo = os.sysconf("SC_CLK_TCK"), 0.0, [pid]
        while todo:
            process = todo.pop()
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (all threads)
            for task in Path(f"/proc/{process}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        return total
    except (OSError, ValueError):
        return None


def _machine_cpu_seconds() -> float | None:
    """CPU seconds all processes of the machine used so far, over all cores (Linux /proc/stat; None elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def _client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measured(server_pid: int, drive: Callable[[], tuple[list[float], int, float]]
              ) -> tuple[list[float], int, float, float | None, float, float | None]:
    """`drive()`'s latencies, failures and elapsed seconds, then the CPU seconds the server, this client and the
    machine's other processes used meanwhile."""
    server, client, machine = _cpu_seconds(server_pid), _client_cpu_seconds(), _machine_cpu_seconds()
    latencies, failures, elapsed = drive()
    server_after, client_after, machine_after = _cpu_seconds(server_pid), _client_cpu_seconds(), _machine_cpu_seconds()
    used = server_after - server if server is not None and server_after is not None else None
    others = (machine_after - machine - used - (client_after - client)
              if used is not None and machine is not None and machine_after is not None else None)
    return latencies, failures, elapsed, used, client_after - client, others


def _in_process(call: Callable[[int], object], seconds: float) -> list[float]:
    call(0)
    out, stop = [], time.monotonic() + seconds
    for i in itertools.count(1):
        if time.monotonic() >= stop:
            break
        start = time.perf_counter()
        call(i)
        out.append(time.perf_counter() - start)
    return out


class ClaimStream:
    """Request i of a claim-next stream: agent i mod 11 asks, the queue is tickets i .. i + 199 of a pool."""

    def __init__(self, pool: list[dict], crew: list[dict], started: float, queue: int = QUEUE, name: str = "n") -> None:
        """`name` prefixes the request and ticket ids, so that streams never meet each other's (committed) ids."""
        self.pool = [{**t, "ticket_id": f"{name}-{t['ticket_id']}"} for t in pool]
        self.crew, self.started, self.queue, self.name = crew, started, queue, name
        self.encoded = [json.dumps(t) for t in self.pool]

    def window(self, i: int) -> slice:
        return _window(len(self.pool), self.queue, 1, i)

    def now(self) -> datetime:
        return NOW + timedelta(seconds=time.monotonic() - self.started)

    def call(self, i: int) -> dict:
        """The `Engine.next` keyword arguments of request i."""
        me = self.crew[i % len(self.crew)]
        return {"agent": me, "queue": self.pool[self.window(i)], "others": [a for a in self.crew if a is not me],
                "now": self.now()}

    def body(self, i: int, commit: bool) -> bytes:
        me = self.crew[i % len(self.crew)]
        head = json.dumps({"request_id": f"{self.name}-{i}", "now": self.now().isoformat(), "commit": commit, "agent": me,
                           "others": [a for a in self.crew if a is not me]})
        return (head[:-1] + ', "queue": [' + ", ".join(self.encoded[self.window(i)]) + "]}").encode()


def _window(pool: int, size: int, step: int, i: int) -> slice:
    """Request i's slice of a pool: `size` items, `step` further on than request i - 1's (wrapping around if
    the pool runs out)."""
    first = (i * step) % (pool - size)
    return slice(first, first + size)


def _ms(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True, help="a models directory or model folder")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=8, help="connections of the /v1/next phases")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second of the open-loop /v1/next phase")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the open-loop /v1/next phase")
    parser.add_argument("--commit", action="store_true", help="record decisions in the ledger")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.load(args.models, database_url=f"sqlite:///{tmp}/in-process.db", policy=PolicyConfig())
        # pools large enough that no ticket comes back within a phase (up to 300 rounds or 2000 claims a second)
        waiting, agents = random_round(rng, engine, ROUND + NEW_PER_ROUND * int(300 * args.seconds), 100)
        pool, crew = random_round(rng, engine, QUEUE + int(max(2000, 2 * args.rate) * args.seconds), OTHERS + 1)
        for a in crew:
            a["free_slots"] = 1
        now = NOW.isoformat()

        def tickets(i: int) -> list[dict]:
            return waiting[_window(len(waiting), ROUND, NEW_PER_ROUND, i)]

        def assign_body(i: int) -> bytes:
            return json.dumps({"request_id": f"a-{i}", "now": now, "tickets": tickets(i), "agents": agents,
                               "commit": args.commit}).encode()

        local = {"assign": _in_process(lambda i: engine.assign(tickets(i), agents, now=NOW, commit=False),
                                       args.seconds / 2)}
        stream = ClaimStream(pool, crew, time.monotonic())
        local["next"] = _in_process(lambda i: engine.next(**stream.call(i), commit=False), args.seconds / 2)
        engine.close()
        process, base = _start(args.models, f"sqlite:///{tmp}/served.db", args.workers)
        try:
            served = {"assign": _measured(process.pid,
                                          lambda: _drive(base, "/v1/assign", assign_body, 1, args.seconds))}
            closed = ClaimStream(pool, crew, time.monotonic(), name="closed")
            served["next"] = _measured(process.pid, lambda: _drive(
                base, "/v1/next", lambda i: closed.body(i, args.commit), args.clients, args.seconds))
            for run in range(1, args.repeat + 1):
                paced = ClaimStream(pool, crew, time.monotonic(), name=f"paced{run}")
                served[f"paced{run}"] = _measured(process.pid, lambda: _drive(
                    base, "/v1/next", lambda i: paced.body(i, args.commit), args.clients, args.seconds, rate=args.rate))
                local[f"paced{run}"] = local["next"]
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"workers={args.workers} next connections={args.clients} rate={args.rate:.0f}/s commit={args.commit} "
          f"phase={args.seconds:.0f}s cpus={os.cpu_count()}")
    print(f"{'route':<22} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'fail':>5} {'engine p50':>11} "
          f"{'engine p99':>11} {'ratio p50':>10} {'server cpu':>11} {'client cpu':>11} {'cores busy':>11} "
          f"{'others':>7} {'target':>24}")
    targets = {"assign": "p99 < 20 ms", "next": ">= 500 req/s"}
    labels = {"assign": "/v1/assign 50x100", "next": "/v1/next queue 200"}
    for run in range(1, args.repeat + 1):
        targets[f"paced{run}"] = "p99 < 10 ms at >= 500 req/s"
        labels[f"paced{run}"] = f"  at {args.rate:.0f} req/s #{run}"
    for name, (latencies, failures, elapsed, server_cpu, client_cpu, others) in served.items():
        rate = len(latencies) / elapsed
        ratio = statistics.median(latencies) / statistics.median(local[name])
        per_request = 1000.0 / max(len(latencies), 1)
        server = f"{server_cpu * per_request:>9.2f}ms" if server_cpu is not None else f"{'-':>11}"
        cores = elapsed * (os.cpu_count() or 1)
        busy = f"{100.0 * (server_cpu + client_cpu) / cores:>10.0f}%" if server_cpu is not None else f"{'-':>11}"
        other = f"{100.0 * max(others, 0.0) / cores:>6.0f}%" if others is not None else f"{'-':>7}"
        print(f"{labels[name]:<22} {rate:>7.0f} {_ms(latencies, .5):>7.1f} {_ms(latencies, .99):>7.1f} {failures:>5} "
              f"{_ms(local[name], .5):>9.1f}ms {_ms(local[name], .99):>9.1f}ms {ratio:>10.2f} {server} "
              f"{client_cpu * per_request:>9.2f}ms {busy} {other} {targets[name]:>24}")
    p99s = [_ms(served[f"paced{run}"][0], .99) for run in range(1, args.repeat + 1)]
    met = sum(p99 < 10.0 and len(served[f"paced{run}"][0]) / served[f"paced{run}"][2] >= 0.99 * args.rate
              for run, p99 in enumerate(p99s, start=1))
    print(f"open loop at {args.rate:.0f} req/s, {args.repeat} runs: median p99 {statistics.median(p99s):.1f} ms; "
          f"{met} of {args.repeat} met p99 < 10 ms with all requests answered at the rate")


if __name__ == "__main__":
    main()
