"""Time to simulate a contact center: 30 days x 60 agents by default (target: under 60 s on 2 cores).

    .venv/bin/python benchmarks/simulate.py [--days 30 --agents 60 --repeats 3]

Prints each run's wall time, the median, and interactions simulated per second.
"""
from __future__ import annotations

import argparse
import statistics
import time

from skillmatch.simulation import SimulationConfig, simulate_history

TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times, rows = [], 0
    for seed in range(args.repeats):
        start = time.perf_counter()
        history = simulate_history(SimulationConfig(days=args.days, n_agents=args.agents, seed=seed))
        times.append(time.perf_counter() - start)
        rows = len(history.interactions)
        print(f"seed {seed}: {times[-1]:.1f} s, {rows} interactions, {len(history.events)} events, "
              f"utilisation {history.truth.params['utilisation']:.3f}")
    median = statistics.median(times)
    verdict = "meets" if median < TARGET_S else "MISSES"
    print(f"median {median:.1f} s for {args.days} days x {args.agents} agents "
          f"({rows / median:,.0f} interactions/s); {verdict} the {TARGET_S:.0f} s target")


if __name__ == "__main__":
    main()
