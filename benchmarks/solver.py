"""Time to solve one routing round next to bare scipy linear_sum_assignment (target: 500 x 500 under 100 ms).

    .venv/bin/python benchmarks/solver.py [--repeats 30 --seed 0]

Each size is tickets x agents with capacities 1-3, 70% of pairs eligible and uniform random scores.
The baseline is linear_sum_assignment alone on a random dense (tickets x total slots) matrix: the same
ticket count and slot count without masks, "stay unassigned" columns or reasons. Prints median and p99
of each after one warm-up run, and their ratio.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

from skillmatch.solver import solve_round

SIZES = ((50, 100), (200, 200), (500, 500))
TARGET_S = 0.100


def timed(run, repeats: int) -> np.ndarray:
    """Wall times in seconds `(repeats,)` of `run()` after one warm-up call."""
    run()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        run()
        times[i] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{'round':>9} {'slots':>5} {'solve_round median':>18} {'p99':>8} "
          f"{'bare lsa median':>15} {'p99':>8} {'ratio':>6}")
    for n_tickets, n_agents in SIZES:
        score = rng.random((n_tickets, n_agents))
        eligible = rng.random((n_tickets, n_agents)) < 0.7
        free_slots = rng.integers(1, 4, size=n_agents)
        bare = rng.random((n_tickets, int(free_slots.sum())))
        ours = timed(lambda: solve_round(score, eligible, free_slots), args.repeats)
        base = timed(lambda: linear_sum_assignment(bare), args.repeats)
        median, base_median = np.median(ours), np.median(base)
        print(f"{n_tickets:>4}x{n_agents:<4} {int(free_slots.sum()):>5} {median * 1e3:>15.2f} ms "
              f"{np.percentile(ours, 99) * 1e3:>5.2f} ms {base_median * 1e3:>12.2f} ms "
              f"{np.percentile(base, 99) * 1e3:>5.2f} ms {median / base_median:>6.2f}")
    verdict = "meets" if median < TARGET_S else "MISSES"
    print(f"500x500 median {median * 1e3:.1f} ms: {verdict} the {TARGET_S * 1e3:.0f} ms target")


if __name__ == "__main__":
    main()
