"""In-process routing-round latency next to its floor, measured in the same run.

    .venv/bin/python benchmarks/engine_round.py --models runs/bench-1m/model [--repeats 20]

Sizes (tickets x agents): 50x100, 200x200, 500x500, agents with 1-3 free slots. The floor of a round
is one plain `lightgbm.Booster.predict` of the agent-fit model over the same pair rows plus one bare
`scipy.optimize.linear_sum_assignment` of tickets x slots. Prints median and p99 of each and the
ratio engine / floor (targets: p99 under 10 ms at 50x100, below the floor at every size). Every timed
round has tickets the engine has not seen, so nothing it keeps per ticket between rounds helps.

LightGBM's OpenMP threads wait actively (spin) after each floor predict and would take the second core
from the engine round measured right after it; the script sets OMP_WAIT_POLICY=PASSIVE (unless set), with
which the floor itself is as fast or faster on a 2-core machine.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before lightgbm loads libgomp (see the docstring)

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402

from skillmatch.config import PolicyConfig  # noqa: E402
from skillmatch.engine import Engine  # noqa: E402
from skillmatch.features import Roster  # noqa: E402
from skillmatch.records import Agent, Ticket  # noqa: E402
from skillmatch.records import Weights as RecordWeights  # noqa: E402

SIZES = ((50, 100), (200, 200), (500, 500))
TOPICS = ("billing", "returns", "technical", "account", "shipping")
NOW = datetime(2027, 1, 4, 11, tzinfo=timezone.utc)


def _round(rng: np.random.Generator, engine: Engine, n_t: int, n_a: int) -> tuple[list[dict], list[dict]]:
    known = engine.model.roster.ids
    agents = [{"agent_id": known[i] if i < len(known) else f"X{i}", "free_slots": int(rng.integers(1, 4)),
               "languages": ["en"]} for i in range(n_a)]
    tickets = [{"ticket_id": f"T{i}", "created_at": (NOW - timedelta(seconds=float(rng.integers(5, 900)))).isoformat(),
                "topic": str(rng.choice(TOPICS)), "channel": str(rng.choice(["chat", "voice", "email"])),
                "language": "en", "priority": int(rng.integers(1, 5)), "customer_id": f"C{rng.integers(1, 99999):06d}",
                "sentiment": float(rng.uniform(-0.8, 0.8)), "message_words": int(rng.integers(10, 200))}
               for i in range(n_t)]
    return tickets, agents


def _p(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.load(args.models, database_url=f"sqlite:///{tmp}/ledger.db", policy=PolicyConfig())
        print(f"{'round':>9} {'engine p50':>11} {'engine p99':>11} {'floor p50':>10} {'floor p99':>10} {'ratio p50':>10}")
        for n_t, n_a in SIZES:
            tickets, agents = _round(rng, engine, n_t, n_a)
            engine.assign(tickets, agents, now=NOW, commit=False)  # warm-up
            rnd = engine._score([Ticket.model_validate(t) for t in tickets], [Agent.model_validate(a) for a in agents], NOW,
                                RecordWeights())
            pair_t, pair_a = np.nonzero(rnd.eligible)
            features, reference = engine.model.ticket_reference(rnd.frame, np.full(n_t, NOW.timestamp()))
            ids = np.array([a["agent_id"] for a in agents], dtype=object)
            stats = engine.model.index.stats(ids[pair_a], rnd.frame["topic"].to_numpy(dtype=object)[pair_t],
                                             rnd.frame["customer_id"].to_numpy(dtype=object)[pair_t],
                                             np.full(len(pair_t), NOW.timestamp()))
            X = engine.model.builder.pair_features(features.iloc[pair_t], rnd.frame.iloc[pair_t].reset_index(drop=True),
                                                   ids[pair_a], Roster(rnd.agents), stats,
                                                   np.full(len(pair_t), NOW.timestamp()),
                                                   reference.iloc[pair_t].reset_index(drop=True))
            booster = engine.model.agent_fit.resolve_.booster_
            cost = rng.random((n_t, int(rnd.free_slots.sum())))
            fresh = [_round(rng, engine, n_t, n_a)[0] for _ in range(args.repeats)]  # new tickets: nothing cached
            engine_s, floor_s = [], []
            for round_tickets in fresh:
                start = time.perf_counter()
                engine.assign(round_tickets, agents, now=NOW, commit=False)
                engine_s.append(time.perf_counter() - start)
                start = time.perf_counter()
                booster.predict(X)
                linear_sum_assignment(cost)
                floor_s.append(time.perf_counter() - start)
            ratio = statistics.median(engine_s) / statistics.median(floor_s)
            print(f"{n_t:>4}x{n_a:<4} {_p(engine_s, .5):>9.1f}ms {_p(engine_s, .99):>9.1f}ms {_p(floor_s, .5):>8.1f}ms "
                  f"{_p(floor_s, .99):>8.1f}ms {ratio:>10.1f}")
        engine.close()


if __name__ == "__main__":
    main()
