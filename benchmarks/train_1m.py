"""Train on about 1M simulated interactions; print wall time and peak memory (targets: < 10 min, < 6 GB).

    .venv/bin/python benchmarks/train_1m.py [--agents 200 --days 90 --data runs/bench-1m]

The simulated logs are written once to --data and reused by later runs. Training runs as the real
command (`skillmatch train`) in a child process so that its peak memory is measured alone.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

from skillmatch.simulation import SimulationConfig, simulate_history

TARGET_S = 600.0
TARGET_GB = 6.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--data", type=Path, default=Path("runs/bench-1m"))
    args = parser.parse_args()
    logs = args.data / "logs"
    if not (logs / "interactions.csv.gz").exists():
        start = time.perf_counter()
        history = simulate_history(SimulationConfig(days=args.days, n_agents=args.agents, seed=0))
        history.write(logs)
        print(f"simulated {len(history.interactions):,} interactions in {time.perf_counter() - start:.0f} s")
    out = args.data / "model"
    command = [str(Path(sys.executable).with_name("skillmatch")), "train",
               "--interactions", str(logs / "interactions.csv.gz"), "--agents", str(logs / "agents.csv"),
               "--out", str(out), "--config", "training/simulated.toml", "--overwrite"]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    rows = sum(1 for _ in __import__("gzip").open(logs / "interactions.csv.gz", "rt")) - 1
    print(f"trained on {rows:,} interactions: wall {wall:.0f} s (target < {TARGET_S:.0f} s, "
          f"{'meets' if wall < TARGET_S else 'MISSES'}), peak memory {peak_gb:.2f} GB "
          f"(target < {TARGET_GB:.0f} GB, {'meets' if peak_gb < TARGET_GB else 'MISSES'})")


if __name__ == "__main__":
    main()
