"""Model quality at the acceptance size: 30 days x 60 agents, 3 seeds, against the simulator's truth.

    .venv/bin/python benchmarks/train_acceptance.py [--seeds 0 1 2 --days 30 --agents 60]

Prints, per seed and as the median, the held-out figures the model card shows and whether each
meets its bar: difficulty Spearman >= 0.75 and above the naive model's, mean per-ticket agent
ranking Spearman >= 0.6, resolution AUC at least 0.05 above the topic-only baseline.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from skillmatch.config import load_train_config
from skillmatch.logs import load_logs
from skillmatch.models.training import train_models
from skillmatch.simulation import SimulationConfig, simulate_history

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--agents", type=int, default=60)
    args = parser.parse_args()
    config = load_train_config(ROOT / "training" / "simulated.toml")
    rows = []
    header = f"{'seed':>4} {'difficulty':>10} {'naive':>7} {'ranking':>8} {'auc':>6} {'topic auc':>9} {'lift':>6} " \
             f"{'train s':>8}  verdict"
    print(header)
    for seed in args.seeds:
        history = simulate_history(SimulationConfig(days=args.days, n_agents=args.agents, seed=seed))
        with tempfile.TemporaryDirectory() as tmp:
            paths = history.write(Path(tmp) / "logs")
            logs = load_logs(paths["interactions"], paths["agents"])
            start = time.perf_counter()
            result = train_models(logs, config, truth=history.truth)
            seconds = time.perf_counter() - start
        t, r = result.metrics["truth"], result.metrics["resolution"]
        row = {"difficulty": t["difficulty_spearman"], "naive": t["naive_difficulty_spearman"],
               "ranking": t["agent_ranking_spearman"], "auc": r["model"]["auc"],
               "topic_auc": r["baselines"]["topic_only"]["auc"], "lift": r["auc_lift"]["topic_only"],
               "seconds": seconds}
        ok = (row["difficulty"] >= 0.75 and row["difficulty"] > row["naive"] and row["ranking"] >= 0.6
              and row["lift"] >= 0.05)
        rows.append(row)
        print(f"{seed:>4} {row['difficulty']:>10.3f} {row['naive']:>7.3f} {row['ranking']:>8.3f} {row['auc']:>6.3f} "
              f"{row['topic_auc']:>9.3f} {row['lift']:>6.3f} {seconds:>8.1f}  {'meets' if ok else 'MISSES'}")
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"{'med':>4} {med['difficulty']:>10.3f} {med['naive']:>7.3f} {med['ranking']:>8.3f} {med['auc']:>6.3f} "
          f"{med['topic_auc']:>9.3f} {med['lift']:>6.3f} {med['seconds']:>8.1f}")


if __name__ == "__main__":
    main()
