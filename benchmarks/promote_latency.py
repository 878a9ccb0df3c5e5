"""Latency of a claim-next stream across a hot reload: a second model version is promoted in the middle of it.

    .venv/bin/python benchmarks/promote_latency.py --models models/latest [--seconds 16 --rate 500 --workers 2]

Copies the model folder into a temporary models directory as v1, serves it (`skillmatch serve` on
loopback) and drives the `api_load.py` claim stream (a queue of 200, 11 agents, one ticket new per
request) at --rate requests per second in open loop. At the middle of the run a copy of the folder is
promoted as v2: each worker loads it in the background and swaps it in between requests. Prints, per
half second from a second before the promote, the requests answered, their p50, p99 and max latency and
how many took over 10 ms, then the same over the whole stretch before and after the promote, the
failures (none is the hot-reload promise) and the folder answering at the end.

What it shows: loading a model costs CPU the workers would otherwise serve with, and the first claims of
a model swapped in meet a queue of which it has computed nothing unless it was warmed on the last rounds
served (`Engine.warm_up`). Compare two versions of the code by running it with `PYTHONPATH=<its src>`.
"""
from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from api_load import OTHERS, QUEUE, ClaimStream, _start
from engine_round import _round as random_round
from load_client import LoadClient
from skillmatch.config import PolicyConfig
from skillmatch.engine import Engine
from skillmatch.models.folder import promote, resolve

CONNECTIONS = 8
SETTLE_S = 3.0
"""The first seconds of the stream (caches filling, connections spreading over the workers) are not reported."""
SLOW_MS = 10.0


def _row(label: str, latencies_s: list[float]) -> str:
    if not latencies_s:
        return f"{label:>16} {0:>6}"
    ms = np.asarray(latencies_s) * 1000.0
    return (f"{label:>16} {len(ms):>6} {np.median(ms):>7.1f} {np.quantile(ms, 0.99):>7.1f} {ms.max():>7.1f} "
            f"{int((ms > SLOW_MS).sum()):>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True, help="a models directory or model folder")
    parser.add_argument("--seconds", type=float, default=16.0, help="length of the stream (the promote at half)")
    parser.add_argument("--rate", type=float, default=500.0, help="claims per second")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.seconds <= 2 * SETTLE_S:
        raise SystemExit(f"--seconds must be over {2 * SETTLE_S:.0f}")
    source = resolve(args.models)
    with tempfile.TemporaryDirectory() as tmp:
        models_dir = Path(tmp) / "models"
        models_dir.mkdir()
        for name in ("v1", "v2"):  # the same model twice: what is measured is the reload, not the version
            shutil.copytree(source, models_dir / name)
        promote(models_dir, "v1")
        os.sync()  # the copies on disk now: promote's fsync of the directory would otherwise flush them mid-stream
        engine = Engine.load(models_dir, database_url=f"sqlite:///{tmp}/pool.db", policy=PolicyConfig())
        pool, crew = random_round(np.random.default_rng(0), engine, QUEUE + int(args.seconds * args.rate) + 10,
                                  OTHERS + 1)
        engine.close()
        del engine
        for agent in crew:
            agent["free_slots"] = 1
        gc.collect()
        gc.freeze()  # this client's own collections would count as latency
        process, base = _start(models_dir, f"sqlite:///{tmp}/served.db", args.workers)
        try:
            host, port = base.removeprefix("http://").rsplit(":", 1)
            client = LoadClient(host, int(port), "/v1/next", CONNECTIONS)
            stream = ClaimStream(pool, crew, time.monotonic(), name="promote")
            promote_at = args.seconds / 2
            due_promote = time.perf_counter() + promote_at

            promoting: list[threading.Thread] = []

            def body(i: int) -> bytes:
                if not promoting and time.perf_counter() >= due_promote:
                    # in a thread: its fsync of the models directory must not hold up this client's requests
                    # (a `skillmatch models promote` process would take a core for a second here, as a second
                    # of any other work on this machine would: that is not what is measured)
                    promoting.append(threading.Thread(target=promote, args=(models_dir, "v2")))
                    promoting[0].start()
                return stream.body(i, False)

            timeline: list[tuple[float, float]] = []
            _, failures, _ = client.run(body, args.seconds, rate=args.rate, timeline=timeline)
            client.close()
            if not promoting:
                raise SystemExit("the stream ended before the promote")
            promoting[0].join()
            answering = {Path(httpx.get(f"{base}/v1/model").json()["path"]).name for _ in range(4 * args.workers)}
        finally:
            process.terminate()
            process.wait(timeout=60)
    print(f"workers={args.workers} rate={args.rate:.0f}/s connections={CONNECTIONS} queue={QUEUE} "
          f"agents={OTHERS + 1} promote at {promote_at:.1f}s of {args.seconds:.0f}s")
    print(f"{'from promote (s)':>16} {'n':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'>10 ms':>8}")
    for start in np.arange(-1.0, args.seconds - promote_at, 0.5):
        window = [lat for due, lat in timeline if start <= due - promote_at < start + 0.5]
        print(_row(f"{start:+.1f}", window))
    print(_row("before", [lat for due, lat in timeline if SETTLE_S <= due < promote_at]))
    print(_row("after", [lat for due, lat in timeline if due >= promote_at]))
    print(f"failures: {failures}   folders answering at the end: {', '.join(sorted(answering))}"
          f"{'' if answering == {'v2'} else ' (NOT only v2: the reload did not finish)'}")


if __name__ == "__main__":
    sys.exit(main())
