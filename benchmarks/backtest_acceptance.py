"""Backtest acceptance (issue 6): skillmatch's default preset against greedy best fit, FIFO and free selection.

    .venv/bin/python benchmarks/backtest_acceptance.py [--seeds 42,43,44 --days 30 --eval-days 10 --agents 60
                                                        --workers 2 --out runs/backtest-acceptance]

Each seed: simulate `days` of free selection, train, then run every policy for `eval_days` more days from
copies of the same center (common random numbers). Figures are means over seeds with 95% intervals
(bootstrap over days, paired across policies; Gini over agents). Criteria, judged on the estimate, with
the interval of the contrast shown:
  resolution(skillmatch) - resolution(greedy_best_fit)  >= -1 point
  Gini(skillmatch) / Gini(greedy_best_fit)               <= 0.5, and Gini(skillmatch) <= Gini(fifo)
  growth(skillmatch) / growth(greedy_best_fit)           >= 2   (true skill gain on growth topics)
  resolution(skillmatch) - resolution(free_selection)   >= +3 points
  wait p99(skillmatch) - wait p99(fifo)                  <= 0
Writes report.html and metrics.json to --out and prints a markdown table for the README.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from skillmatch.backtest import SimulatedSource, backtest, parse_lineup
from skillmatch.backtest.stats import percentile_interval

POLICIES = "free_selection,fifo,skills_rules,greedy_best_fit,skillmatch,oracle"
SM, GREEDY, FIFO, FREE = "skillmatch", "greedy_best_fit", "fifo", "free_selection"


def _contrast(summary: dict, fn, *metrics: str) -> tuple[float, float, float]:
    """A function of pooled metrics: its value and the 95% interval of its paired bootstrap replicates."""
    point = fn(*(summary["policies"][p][m]["value"] for p, m in metrics))
    with np.errstate(divide="ignore", invalid="ignore"):
        reps = fn(*(summary["replicates"][p][m] for p, m in metrics))
    lo, hi = percentile_interval(reps)
    return float(point), lo, hi


def criteria(summary: dict) -> list[tuple[str, tuple[float, float, float], str, bool]]:
    """(what, (value, lo, hi), bar, met) for each acceptance criterion."""
    res, gini, growth, p99 = "resolution_rate", "fairness.difficulty_gini", "growth.skill_gain", "wait_p99_s"
    rows = [
        ("resolution vs greedy (points)", _contrast(summary, lambda a, b: 100 * (a - b), (SM, res), (GREEDY, res)),
         ">= -1", lambda v: v >= -1.0),
        ("Gini of mean difficulty / greedy's", _contrast(summary, lambda a, b: a / b, (SM, gini), (GREEDY, gini)),
         "<= 0.5", lambda v: v <= 0.5),
        ("Gini of mean difficulty - FIFO's", _contrast(summary, lambda a, b: a - b, (SM, gini), (FIFO, gini)),
         "<= 0", lambda v: v <= 0.0),
        ("growth-topic skill gain / greedy's", _contrast(summary, lambda a, b: a / b, (SM, growth), (GREEDY, growth)),
         ">= 2", lambda v: v >= 2.0),
        ("resolution vs free selection (points)",
         _contrast(summary, lambda a, b: 100 * (a - b), (SM, res), (FREE, res)), ">= +3", lambda v: v >= 3.0),
        ("wait p99 - FIFO's (s)", _contrast(summary, lambda a, b: a - b, (SM, p99), (FIFO, p99)), "<= 0",
         lambda v: v <= 0.0),
    ]
    return [(what, est, bar, bool(ok(est[0]))) for what, est, bar, ok in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--eval-days", type=int, default=10)
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--policies", default=POLICIES)
    parser.add_argument("--out", type=Path, default=Path("runs/backtest-acceptance"))
    args = parser.parse_args()
    seeds = tuple(int(s) for s in args.seeds.split(","))
    source = SimulatedSource(days=args.days, eval_days=args.eval_days, n_agents=args.agents, seeds=seeds)
    started = time.perf_counter()
    result = backtest(source.scenarios(args.out / "scenarios", say=print), parse_lineup(args.policies.split(",")),
                      args.out, n_boot=args.bootstrap, workers=args.workers, keep_replicates=True, say=print,
                      described={"days": args.days, "eval_days": args.eval_days, "agents": args.agents,
                                 "seeds": args.seeds})
    summary = result.summary
    print(f"\n{len(seeds)} seeds x {args.eval_days} days, {args.agents} agents, {time.perf_counter() - started:.0f} s\n")
    print("| policy | resolution % | wait p99 s | difficulty Gini | growth-topic skill gain (logit) |")
    print("|---|---|---|---|---|")
    for name, est in summary["policies"].items():
        cells = [_fmt(est["resolution_rate"], 100, 1), _fmt(est["wait_p99_s"], 1, 0),
                 _fmt(est["fairness.difficulty_gini"], 1, 3), _fmt(est["growth.skill_gain"], 1, 3)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| criterion (skillmatch default) | estimate [95% interval] | bar | met |")
    print("|---|---|---|---|")
    for what, (value, lo, hi), bar, ok in criteria(summary):
        print(f"| {what} | {value:.3f} [{lo:.3f}, {hi:.3f}] | {bar} | {'yes' if ok else 'NO'} |")
    print("\nper seed (resolution %, Gini, growth):")
    for scenario, by_policy in summary["by_scenario"].items():
        print(f"  {scenario}: " + "; ".join(
            f"{name} {100 * e['resolution_rate']['value']:.1f} / {e['fairness.difficulty_gini']['value']:.3f} / "
            f"{e['growth.skill_gain']['value']:.3f}" for name, e in by_policy.items()))
    print(f"\nreport: {result.paths['report']}")


def _fmt(estimate: dict, scale: float, decimals: int) -> str:
    return (f"{estimate['value'] * scale:.{decimals}f} [{estimate['lo'] * scale:.{decimals}f}, "
            f"{estimate['hi'] * scale:.{decimals}f}]")


if __name__ == "__main__":
    main()
