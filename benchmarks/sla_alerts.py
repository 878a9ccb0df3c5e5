"""SLA-risk alerts against what really happened, on a simulated center whose agents keep personal queues.

    .venv/bin/python benchmarks/sla_alerts.py [--days 1 --agents 30 --seed 2 --history-days 14]

Simulates a free-selection history, trains a model on it, then runs `--days` more days where the
engine pushes every ticket into one agent's personal queue (repeat customers stay with their last
agent; queues hold up to capacity + 3). Every `--every` seconds between 07:30 and 21:30 the supervisor
predicts, for each routed ticket still waiting and not yet past its channel's target, the probability
that it is answered late. Prints precision and recall of the alerts at `--threshold` (default 0.5)
with 95% bootstrap intervals (resampling tickets), per prediction and per ticket (first prediction),
per channel, and beside a point-estimate baseline (handle times taken as exactly predicted).
Target: precision and recall each >= 0.7.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from skillmatch.config import PolicyConfig, load_train_config
from skillmatch.engine import Engine
from skillmatch.logs import load_logs
from skillmatch.models.publish import train_to_folder
from skillmatch.policies.personal_queues import PersonalQueues
from skillmatch.policies.sla_drill import precision_recall, score, snapshot
from skillmatch.simulation import SimulationConfig, simulate_history
from skillmatch.simulation.arrivals import DAY_S
from skillmatch.supervision import SupervisionRules, Supervisor

ROOT = Path(__file__).resolve().parents[1]
FIRST_S, LAST_S = 7.5 * 3600, 21.5 * 3600
SETTLE_S = 3 * 3600


def _interval(frame: pd.DataFrame, column: str, rng: np.random.Generator, n_boot: int = 2000) -> dict[str, object]:
    """Precision and recall of `column` against `missed`, with 95% intervals resampling whole tickets."""
    precision, recall = precision_recall(frame[column], frame["missed"])
    alert, truth = frame[column].astype(bool), frame["missed"].astype(bool)
    per_ticket = pd.DataFrame({"tp": alert & truth, "alert": alert, "missed": truth}).groupby(frame["ticket"]).sum()
    counts = rng.multinomial(len(per_ticket), np.full(len(per_ticket), 1.0 / len(per_ticket)), size=n_boot)
    tp, alerts, missed = (counts @ per_ticket[c].to_numpy(dtype=float) for c in ("tp", "alert", "missed"))
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = np.column_stack([tp / alerts, tp / missed])
    lo, hi = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    return {"precision": round(precision, 3), "precision_95": [round(lo[0], 3), round(hi[0], 3)],
            "recall": round(recall, 3), "recall_95": [round(lo[1], 3), round(hi[1], 3)]}


def _finite(value: object) -> object:
    """NaN (a channel without any miss has no recall) as null, so that the output is valid JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return None if isinstance(value, float) and np.isnan(value) else value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--agents", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--history-days", type=int, default=14)
    parser.add_argument("--every", type=float, default=600.0, help="Seconds between snapshots.")
    parser.add_argument("--threshold", type=float, default=SupervisionRules().risk_threshold)
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    parser.add_argument("--csv", type=Path, default=None, help="Also write every prediction with its truth here.")
    args = parser.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="sla-alerts-") as tmp:
        history = simulate_history(SimulationConfig(days=args.history_days, n_agents=args.agents, seed=args.seed))
        paths = history.write(Path(tmp) / "logs")
        logs = load_logs(paths["interactions"], paths["agents"])
        folder, _, _ = train_to_folder(logs, load_train_config(ROOT / "training" / "simulated.toml"),
                                       Path(tmp) / "models" / "v1", truth=history.truth)
        print(f"history and model ready in {time.time() - started:.0f} s", file=sys.stderr)
        center = copy.deepcopy(history.center)
        center.extend(days=args.days)
        engine = Engine.load(folder, database_url=f"sqlite:///{Path(tmp) / 'ledger.db'}",
                             policy=PolicyConfig(restricted_topics=["fraud"]))
        driver = PersonalQueues(engine, round_interval_s=60.0, report_interval_s=300.0)
        supervisor = Supervisor(engine, SupervisionRules(risk_threshold=args.threshold))
        predictions = []
        try:
            for day in range(args.history_days, args.history_days + args.days):
                for t in np.arange(FIRST_S, LAST_S + 1, args.every):
                    center.run(driver, day * DAY_S + t)
                    predictions.extend(snapshot(center, driver, supervisor))
                print(f"day {day}: {len(predictions)} predictions, {time.time() - started:.0f} s", file=sys.stderr)
            center.run(driver, center.now + SETTLE_S)
        finally:
            engine.close()
    frame = score(predictions, center, args.threshold)
    if args.csv is not None:
        frame.assign(hour=(frame["snapshot_s"] % DAY_S) / 3600).to_csv(args.csv, index=False)
    rng = np.random.default_rng(0)
    first = frame.sort_values("snapshot_s").drop_duplicates("ticket")
    result = {
        "days": args.days, "agents": args.agents, "seed": args.seed, "threshold": args.threshold,
        "predictions": len(frame), "tickets": int(frame["ticket"].nunique()),
        "missed_share": round(float(frame["missed"].mean()), 3), "alerts": int(frame["alert"].sum()),
        "per_prediction": _interval(frame, "alert", rng), "per_ticket_first": _interval(first, "alert", rng),
        "baseline_point_estimate": _interval(frame, "point_alert", rng),
        "by_channel": {ch: {"predictions": len(g), "missed_share": round(float(g["missed"].mean()), 3),
                            **dict(zip(("precision", "recall"),
                                       (round(v, 3) for v in precision_recall(g["alert"], g["missed"]))))}
                       for ch, g in frame.groupby("channel")},
        "wall_s": round(time.time() - started, 1),
    }
    text = json.dumps(_finite(result), indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text)
    met = result["per_prediction"]["precision"] >= 0.7 and result["per_prediction"]["recall"] >= 0.7
    print(f"target precision and recall >= 0.7 at threshold {args.threshold}: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
