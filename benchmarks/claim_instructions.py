"""Machine instructions per claim through the whole app, counted by valgrind: a figure that does not move with the machine.

    .venv/bin/python benchmarks/claim_instructions.py --models models/latest [--claims 60 --warm 260]

Wall-clock figures on a shared 2-core machine move by 10-40% between runs minutes apart, more than most
single changes gain; the number of instructions a claim executes does not. The script runs itself under
`valgrind --tool=callgrind` with counting off (string hashing seeded, the claims' `now` 5 ms apart
whatever the speed of the run, so that two runs of the same code execute the same work), sends
`--warm` claims of the `api_load.py` stream (a queue of 200, 11 agents, the queue moving by one ticket
per claim) through the FastAPI app in process (ASGI calls: request parsing, the route, the engine and
the response, no sockets), turns counting on for `--claims` more and prints instructions per claim.
Compare two versions of the code in one go by running it twice, the other with `PYTHONPATH=<its src>`.
Instructions are not time (cache misses are not counted), so confirm a gain with `api_load.py`.
Takes about a minute; needs valgrind (Debian's package).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

CHILD = "--counted-child"


def _claims(models: Path, warm: int, claims: int, database: str) -> None:
    """The child under valgrind: warm the app up, then count `claims` claims (callgrind_control toggles counting)."""
    import numpy as np

    from api_load import OTHERS, QUEUE, ClaimStream
    from engine_round import NOW
    from engine_round import _round as random_round
    from skillmatch.api.app import create_app
    from skillmatch.api.settings import ApiSettings
    from skillmatch.config import PolicyConfig
    from skillmatch.engine import Engine

    engine = Engine.load(models, database_url=database, policy=PolicyConfig())
    pool, crew = random_round(np.random.default_rng(0), engine, QUEUE + warm + claims + 10, OTHERS + 1)
    for agent in crew:
        agent["free_slots"] = 1
    stream = ClaimStream(pool, crew, time.monotonic())
    clock = itertools.count()
    stream.now = lambda: NOW + timedelta(milliseconds=5 * next(clock))  # a claim every 5 ms, however slow the run
    bodies = [stream.body(i, False) for i in range(warm + claims)]
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
            subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True, capture_output=True)
            for body in bodies[warm:]:
                await post(body, state)
            subprocess.run(["callgrind_control", "--instr=off", str(os.getpid())], check=True, capture_output=True)

    asyncio.run(run())
    engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True, help="a models directory or model folder")
    parser.add_argument("--warm", type=int, default=260, help="claims before counting (fills the caches)")
    parser.add_argument("--claims", type=int, default=60, help="claims counted")
    parser.add_argument(CHILD, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/ledger.db"
        if args.counted_child:
            _claims(args.models, args.warm, args.claims, database)
            return
        for tool in ("valgrind", "callgrind_control"):
            if shutil.which(tool) is None:
                raise SystemExit(f"{tool} not found: install valgrind (Debian: apt-get install valgrind)")
        out = Path(tmp) / "callgrind.out"
        started = time.monotonic()
        done = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                               sys.executable, __file__, "--models", str(args.models), "--warm", str(args.warm),
                               "--claims", str(args.claims), CHILD],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": _path(), "PYTHONHASHSEED": "0"})
        counted = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or counted is None:
            raise SystemExit(f"the counted run failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    total = int(counted.group(1))
    print(f"claims counted={args.claims} after {args.warm} warm-up  queue=200 agents=11  "
          f"run {time.monotonic() - started:.0f}s")
    print(f"instructions per claim: {total / args.claims / 1e6:.2f} M")


def _path() -> str:
    """The child's import path: this directory (for api_load and engine_round) before the caller's PYTHONPATH."""
    here = str(Path(__file__).resolve().parent)
    return os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)


if __name__ == "__main__":
    main()
