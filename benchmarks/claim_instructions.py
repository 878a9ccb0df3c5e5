"""Machine instructions per claim through the whole app, counted by valgrind: a figure that does not move with the machine.

    .venv/bin/python benchmarks/claim_instructions.py --models models/latest [--claims 60 --warm 260 --server]

Wall-clock figures on a shared 2-core machine move by 10-40% between runs minutes apart, more than most
single changes gain; the number of instructions a claim executes does not. The script runs the app under
`valgrind --tool=callgrind` with counting off (string hashing seeded, the claims' `now` 5 ms apart
whatever the speed of the run, so that two runs of the same code execute the same work), sends `--warm`
claims of the `api_load.py` stream (a queue of 200, 11 agents, the queue moving by one ticket per
claim), turns counting on for `--claims` more and prints instructions per claim. By default the FastAPI
app runs in process (ASGI calls: request parsing, the route, the engine and the response, no sockets);
with `--server` it is a real `skillmatch serve` process (1 worker) on loopback, so the count includes
the HTTP parser, the event loop and the socket calls, and the client stays outside valgrind.
Compare two versions of the code in one go by running it twice, the other with `PYTHONPATH=<its src>`.
Instructions are not time (cache misses are not counted), so confirm a gain with `api_load.py`.
Takes about a minute; needs valgrind (Debian's package).
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

CHILD = "--counted-child"
SKILLMATCH = Path(sys.executable).with_name("skillmatch")


def _bodies(models: Path, n: int, database: str) -> list[bytes]:
    """The first `n` request bodies of the claim stream, their `now` 5 ms apart."""
    import numpy as np

    from api_load import OTHERS, QUEUE, ClaimStream
    from engine_round import NOW
    from engine_round import _round as random_round
    from skillmatch.config import PolicyConfig
    from skillmatch.engine import Engine

    engine = Engine.load(models, database_url=database, policy=PolicyConfig())
    pool, crew = random_round(np.random.default_rng(0), engine, QUEUE + n + 10, OTHERS + 1)
    engine.close()
    for agent in crew:
        agent["free_slots"] = 1
    stream = ClaimStream(pool, crew, time.monotonic())
    clock = itertools.count()
    stream.now = lambda: NOW + timedelta(milliseconds=5 * next(clock))  # a claim every 5 ms, however slow the run
    return [stream.body(i, False) for i in range(n)]


def _counting(pid: int, on: bool) -> None:
    subprocess.run(["callgrind_control", f"--instr={'on' if on else 'off'}", str(pid)], check=True,
                   capture_output=True)


def _in_process(models: Path, warm: int, claims: int, database: str) -> None:
    """The child under valgrind: the app in process, warmed up, then `claims` claims counted."""
    from skillmatch.api.app import create_app
    from skillmatch.api.settings import ApiSettings
    from skillmatch.config import PolicyConfig
    from skillmatch.engine import Engine

    bodies = _bodies(models, warm + claims, database)
    engine = Engine.load(models, database_url=database, policy=PolicyConfig())
    app = create_app(ApiSettings(models_dir=models, database_url=database), engine)

    async def post(body: bytes, state: dict) -> None:
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict] = []

        async def receive() -> dict:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v1/next", "raw_path": b"/v1/next", "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": state}
        await app(scope, receive, send)
        if sent[0]["status"] != 200:
            raise SystemExit(f"a claim was answered {sent[0]['status']}: {sent[1].get('body', b'')[:300]!r}")

    async def run() -> None:
        async with app.router.lifespan_context(app) as state:
            state = dict(state or {})
            for body in bodies[:warm]:
                await post(body, state)
            _counting(os.getpid(), True)
            for body in bodies[warm:]:
                await post(body, state)
            _counting(os.getpid(), False)

    asyncio.run(run())
    engine.close()


def _served(models: Path, warm: int, claims: int, tmp: str, out: Path) -> str:
    """`skillmatch serve` under valgrind, driven from here: the valgrind log of the run."""
    import httpx

    bodies = _bodies(models, warm + claims, f"sqlite:///{tmp}/streams.db")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", str(SKILLMATCH), "serve",
         "--models", str(models), "--port", str(port), "--workers", "1", "--log-level", "warning"],
        env={**os.environ, "SKILLMATCH_DATABASE_URL": f"sqlite:///{tmp}/ledger.db", "PYTHONHASHSEED": "0"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=60).status_code == 200:
                    break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server under valgrind did not start:\n{server.communicate()[1][-3000:]}")
                time.sleep(1)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

        def post(body: bytes) -> None:
            connection.request("POST", "/v1/next", body=body, headers={"content-type": "application/json"})
            response = connection.getresponse()
            text = response.read()
            if response.status != 200:
                raise SystemExit(f"a claim was answered {response.status}: {text[:300]!r}")

        for body in bodies[:warm]:
            post(body)
        _counting(server.pid, True)
        for body in bodies[warm:]:
            post(body)
        _counting(server.pid, False)
        connection.close()
    finally:
        server.terminate()
    return server.communicate(timeout=300)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True, help="a models directory or model folder")
    parser.add_argument("--warm", type=int, default=260, help="claims before counting (fills the caches)")
    parser.add_argument("--claims", type=int, default=60, help="claims counted")
    parser.add_argument("--server", action="store_true", help="count a `skillmatch serve` process on loopback")
    parser.add_argument(CHILD, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.counted_child:
            _in_process(args.models, args.warm, args.claims, f"sqlite:///{tmp}/ledger.db")
            return
        for tool in ("valgrind", "callgrind_control"):
            if shutil.which(tool) is None:
                raise SystemExit(f"{tool} not found: install valgrind (Debian: apt-get install valgrind)")
        out = Path(tmp) / "callgrind.out"
        started = time.monotonic()
        if args.server:
            log = _served(args.models, args.warm, args.claims, tmp, out)
        else:
            done = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                                   sys.executable, __file__, "--models", str(args.models), "--warm", str(args.warm),
                                   "--claims", str(args.claims), CHILD],
                                  capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": _path(), "PYTHONHASHSEED": "0"})
            log = done.stderr if done.returncode == 0 else ""
            if not log:
                raise SystemExit(f"the counted run failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        counted = re.findall(r"Collected : (\d+)", log)
        if not counted:
            raise SystemExit(f"valgrind reported no count:\n{log[-3000:]}")
    print(f"{'served by `skillmatch serve`' if args.server else 'app in process'}: claims counted={args.claims} "
          f"after {args.warm} warm-up  queue=200 agents=11  run {time.monotonic() - started:.0f}s")
    print(f"instructions per claim: {int(counted[-1]) / args.claims / 1e6:.2f} M")


def _path() -> str:
    """The child's import path: this directory (for api_load and engine_round) before the caller's PYTHONPATH."""
    here = str(Path(__file__).resolve().parent)
    return os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)


if __name__ == "__main__":
    main()
