"""Ground-truth metrics of a run, and their 95% intervals from a bootstrap clustered by time block (a day by default).

Resampling whole days keeps what happens within a day together (queues, shifts, learning), so the
intervals are honest about the correlation between tickets of the same day. The inequality indices
across agents (Gini, CV) resample agents instead, the units they are computed over: resampling days
would add noise to every agent's mean and so inflate inequality, leaving the interval above the
estimate. Every policy is resampled with the same draws (common random numbers, paired), so
differences between policies get their own, tighter, intervals. Over several scenarios (seeds) a
figure is the mean of the per-scenario figures and each scenario is resampled within itself.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from skillmatch.backtest.record import RunRecord
from skillmatch.backtest.stats import cluster_weights, cv, gini, percentile_interval, weighted_quantiles

QUANTILES = (0.5, 0.9, 0.99)
REFERENCES = ("free_selection", "fifo", "greedy_best_fit")
"""Policies every other policy is compared with (paired differences)."""


@dataclass(frozen=True)
class MetricSettings:
    """What counts as a hard ticket and how many tickets an agent needs to enter the fairness figures."""

    hard_quantile: float = 0.75
    min_agent_tickets: int = 10


class PreparedRun:
    """A run reduced to per-block sums and sort orders once: the bootstrap then only re-weights blocks.

    Means are (w @ block sums) / (w @ block counts); across-agent indices come from per-agent means over
    the whole window (re-weighted by agent draws); only quantiles need the tickets themselves.
    """

    MEANS = ("served_share", "resolution_rate", "p_resolve_true", "csat", "handle_time_s", "sla",
             "growth.practice_share")

    def __init__(self, run: RunRecord, settings: MetricSettings) -> None:
        self.run = run
        self.settings = settings
        n_blocks, n_agents = run.n_blocks, run.skill.shape[1]
        self.n_agents = n_agents
        handled = run.agent >= 0
        within_sla = (run.wait_s <= run.sla_s[run.channel]).astype(float)
        values = {
            "served_share": run.served.astype(float),
            "resolution_rate": np.where(handled, run.resolved, np.nan),
            "p_resolve_true": np.where(handled, run.p_resolve, np.nan),
            "csat": run.csat, "handle_time_s": run.handle_time_s, "sla": within_sla,
            "growth.practice_share": np.where(handled, run.in_growth_topic.astype(float), np.nan),
        }
        for c, name in enumerate(run.channels):
            values[f"sla.{name}"] = np.where(run.channel == c, within_sla, np.nan)
        self.block_sums = {k: _block_sums(run.block, v, n_blocks) for k, v in values.items()}
        self.wait_order = np.argsort(run.wait_s, kind="stable")
        self.channel_orders = [self.wait_order[run.channel[self.wait_order] == c] for c in range(len(run.channels))]
        hard = run.difficulty >= np.quantile(run.difficulty, settings.hard_quantile)
        agent_n = np.bincount(run.agent[handled], minlength=n_agents).astype(float)
        self.fair_agents = agent_n >= settings.min_agent_tickets
        kept = np.maximum(agent_n[self.fair_agents], 1.0)
        self.agent_difficulty = np.bincount(run.agent[handled], weights=run.difficulty[handled],
                                            minlength=n_agents)[self.fair_agents] / kept
        self.agent_hard_share = np.bincount(run.agent[handled], weights=hard[handled].astype(float),
                                            minlength=n_agents)[self.fair_agents] / kept
        steps = np.diff(run.skill, axis=0)  # (n_blocks, n_agents, n_topics)
        growth, other = run.growth, run.allowed & ~run.growth
        self.growth_step = steps[:, growth].mean(axis=1) if growth.any() else np.full(n_blocks, np.nan)
        self.other_step = steps[:, other].mean(axis=1) if other.any() else np.full(n_blocks, np.nan)
        covered = (run.skill >= run.bar_logit[None, None, :]) & run.allowed[None]
        self.coverage = covered.sum(axis=(1, 2)).astype(float)  # (n_blocks + 1,)


def _block_sums(block: np.ndarray, values: np.ndarray, n_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per block: the sum of the non-nan values and how many there are."""
    ok = ~np.isnan(values)
    return (np.bincount(block[ok], weights=values[ok], minlength=n_blocks),
            np.bincount(block[ok], minlength=n_blocks).astype(float))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def run_metrics(prepared: PreparedRun, block_weight: np.ndarray, agent_weight: np.ndarray | None = None) -> dict[str, float]:
    """Every metric of one run, each time block counted `block_weight[b]` times and each agent `agent_weight[a]` times.

    All ones (agent_weight None) give the point estimate. Agent weights enter only the across-agent indices.
    """
    run = prepared.run
    out = {k: _ratio(block_weight @ total, block_weight @ n) for k, (total, n) in prepared.block_sums.items()}
    w = block_weight[run.block]
    qs = np.array(QUANTILES)
    order = prepared.wait_order
    for q, value in zip(QUANTILES, weighted_quantiles(run.wait_s[order], w[order], qs)):
        out[f"wait_p{round(q * 100)}_s"] = float(value)
    for c, name in enumerate(run.channels):
        order = prepared.channel_orders[c]
        for q, value in zip(QUANTILES, weighted_quantiles(run.wait_s[order], w[order], qs)):
            out[f"wait_p{round(q * 100)}_s.{name}"] = float(value)
    out.update(_fairness(prepared, np.ones(prepared.n_agents) if agent_weight is None else agent_weight))
    out.update(_growth(prepared, block_weight))
    out["speed.decisions_per_s"] = _ratio(block_weight @ run.decisions, block_weight @ run.decide_s)
    return out


def _fairness(prepared: PreparedRun, agent_weight: np.ndarray) -> dict[str, float]:
    """Inequality across agents of the mean true difficulty they handled, and of their share of hard tickets."""
    w = agent_weight[prepared.fair_agents]
    difficulty, hard = prepared.agent_difficulty, prepared.agent_hard_share
    return {"fairness.difficulty_gini": gini(difficulty, w), "fairness.difficulty_cv": cv(difficulty, w),
            "fairness.hard_share_gini": gini(hard, w), "fairness.hard_share_cv": cv(hard, w),
            "fairness.agents": float(w.sum())}


def _growth(prepared: PreparedRun, block_weight: np.ndarray) -> dict[str, float]:
    """True skill gained on growth topics (logit, mean over agent x topic pairs) and topic coverage."""
    coverage_gain = float(block_weight @ np.diff(prepared.coverage))
    return {"growth.skill_gain": float(block_weight @ prepared.growth_step),
            "growth.skill_gain_other": float(block_weight @ prepared.other_step),
            "coverage.start": float(prepared.coverage[0]), "coverage.end": float(prepared.coverage[0] + coverage_gain),
            "coverage.gain": coverage_gain}


def per_agent_difficulty(run: RunRecord, settings: MetricSettings = MetricSettings()) -> np.ndarray:
    """Mean true difficulty of the tickets each agent handled (agents with enough tickets), for distributions."""
    h = run.agent >= 0
    n = np.bincount(run.agent[h], minlength=run.skill.shape[1])
    total = np.bincount(run.agent[h], weights=run.difficulty[h], minlength=run.skill.shape[1])
    keep = n >= settings.min_agent_tickets
    return total[keep] / n[keep]


def coverage_by_topic(run: RunRecord) -> dict[str, dict[str, int]]:
    """Agents above the proficiency bar per topic at the start and the end of the window."""
    covered = (run.skill >= run.bar_logit[None, None, :]) & run.allowed[None]
    return {t: {"start": int(covered[0, :, k].sum()), "end": int(covered[-1, :, k].sum())}
            for k, t in enumerate(run.topics)}


Estimates = dict[str, dict[str, float]]
"""metric -> {"value", "lo", "hi"}"""


def summarize(scenarios: Sequence[Mapping[str, RunRecord]], n_boot: int = 400, seed: int = 0,
              settings: MetricSettings = MetricSettings(), keep_replicates: bool = False) -> dict[str, object]:
    """Point estimates with 95% cluster-bootstrap intervals: per policy (mean over scenarios), per scenario, and paired differences.

    With `keep_replicates`, `summary["replicates"][policy][metric]` holds the pooled bootstrap replicates
    (paired across policies) for contrasts of one's own, such as ratios.
    """
    rng = np.random.default_rng(seed)
    names = list(scenarios[0])
    prepared = [{name: PreparedRun(runs[name], settings) for name in names} for runs in scenarios]
    n_blocks = [next(iter(runs.values())).n_blocks for runs in scenarios]
    point = [{name: run_metrics(p[name], np.ones(n)) for name in names} for p, n in zip(prepared, n_blocks)]
    metrics = list(point[0][names[0]])
    draws = [cluster_weights(n, n_boot, rng) for n in n_blocks]
    agent_draws = [cluster_weights(next(iter(p.values())).n_agents, n_boot, rng) for p in prepared]
    reps = np.full((len(scenarios), len(names), len(metrics), n_boot), np.nan)
    for b in range(n_boot):
        for s, p in enumerate(prepared):
            for i, name in enumerate(names):
                values = run_metrics(p[name], draws[s][b], agent_draws[s][b])
                reps[s, i, :, b] = [values[m] for m in metrics]
    points = np.array([[[pt[name][m] for m in metrics] for name in names] for pt in point])  # (S, P, M)
    pooled_point, pooled_reps = _nanmean(points, 0), _nanmean(reps, 0)  # (P, M), (P, M, B)

    def estimates(values: np.ndarray, replicates: np.ndarray) -> Estimates:
        return {m: _estimate(values[k], replicates[k]) for k, m in enumerate(metrics)}

    summary: dict[str, object] = {
        "bootstrap": {"replicates": n_boot, "cluster": f"blocks of {scenarios[0][names[0]].block_s / 3600:g} h",
                      "cluster_for_inequality_indices": "agents",
                      "clusters_per_scenario": n_blocks, "level": 0.95, "method": "percentile, paired across policies"},
        "scenarios": [next(iter(runs.values())).scenario for runs in scenarios],
        "policies": {name: estimates(pooled_point[i], pooled_reps[i]) for i, name in enumerate(names)},
        "by_scenario": {next(iter(runs.values())).scenario: {name: estimates(points[s, i], reps[s, i])
                                                               for i, name in enumerate(names)}
                        for s, runs in enumerate(scenarios)},
        "differences": {},
    }
    differences: dict[str, Estimates] = {}
    for ref in REFERENCES:
        if ref not in names:
            continue
        r = names.index(ref)
        for i, name in enumerate(names):
            if i != r:
                differences[f"{name} - {ref}"] = estimates(pooled_point[i] - pooled_point[r],
                                                           pooled_reps[i] - pooled_reps[r])
    summary["differences"] = differences
    if "free_selection" in names and "oracle" in names:
        summary["gain_captured"] = _gain_captured(names, metrics, pooled_point, pooled_reps)
    if keep_replicates:
        summary["replicates"] = {name: {m: pooled_reps[i, k] for k, m in enumerate(metrics)}
                                 for i, name in enumerate(names)}
    summary["coverage_by_topic"] = {next(iter(runs.values())).scenario: {name: coverage_by_topic(runs[name])
                                                                          for name in names}
                                    for runs in scenarios}
    return summary


def _gain_captured(names: list[str], metrics: list[str], point: np.ndarray, reps: np.ndarray) -> Estimates:
    """Share of the oracle's resolution gain over free selection that each policy attains."""
    k = metrics.index("resolution_rate")
    free, oracle = names.index("free_selection"), names.index("oracle")
    out = {}
    for i, name in enumerate(names):
        with np.errstate(divide="ignore", invalid="ignore"):
            value = (point[i, k] - point[free, k]) / (point[oracle, k] - point[free, k])
            replicates = (reps[i, k] - reps[free, k]) / (reps[oracle, k] - reps[free, k])
        out[name] = _estimate(float(value), replicates)
    return out


def _estimate(value: float, replicates: np.ndarray) -> dict[str, float]:
    lo, hi = percentile_interval(replicates)
    return {"value": float(value), "lo": lo, "hi": hi}


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    """Mean ignoring nan, nan (without a warning) where every value is nan."""
    count = (~np.isnan(a)).sum(axis=axis)
    total = np.nansum(a, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
