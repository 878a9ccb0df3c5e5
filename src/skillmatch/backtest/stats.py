"""Inequality measures, weighted summaries and the cluster bootstrap the backtest's intervals come from."""
from __future__ import annotations

import numpy as np


def gini(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Gini coefficient of non-negative values, each counted `weights` times (0: all equal); nan when empty or all 0.

    With unit weights: sum over pairs |x_i - x_j| / (2 n^2 mean), so one of n holding everything gives (n-1)/n.
    """
    x = np.asarray(values, dtype=float)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    keep = w > 0
    x, w = x[keep], w[keep]
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    total_w, total = w.sum(), np.dot(w, x)
    if len(x) == 0 or total <= 0:
        return float("nan")
    if x[0] < 0:
        raise ValueError(f"gini needs non-negative values, got a minimum of {x[0]}")
    before = np.cumsum(w) - w
    after = total_w - before - w
    pair_sum = 2.0 * np.dot(w * x, before - after)  # sum over ordered pairs of w_i w_j |x_i - x_j|
    return float(pair_sum / (2.0 * total_w * total))


def cv(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Coefficient of variation (population sd over mean), each value counted `weights` times; nan when empty or mean 0."""
    x = np.asarray(values, dtype=float)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    if w.sum() <= 0:
        return float("nan")
    mean = np.dot(w, x) / w.sum()
    if mean == 0:
        return float("nan")
    return float(np.sqrt(np.dot(w, (x - mean) ** 2) / w.sum()) / abs(mean))


def weighted_quantiles(sorted_values: np.ndarray, sorted_weights: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Inverted-CDF quantiles of values (already sorted) repeated by integer-like weights; nan when the weights sum to 0.

    With all weights 1 this equals `np.quantile(values, qs, method="inverted_cdf")`, so a bootstrap
    replicate (weights = how often each cluster was drawn) and the point estimate use one definition.
    """
    cum = np.cumsum(sorted_weights)
    total = cum[-1] if len(cum) else 0.0
    if total <= 0:
        return np.full(len(qs), np.nan)
    idx = np.searchsorted(cum, np.asarray(qs) * total - 1e-9 * total, side="left")
    return sorted_values[np.minimum(idx, len(sorted_values) - 1)]


def cluster_weights(n_clusters: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """`(n_boot, n_clusters)` draw counts of a cluster bootstrap: each replicate draws n_clusters clusters with replacement."""
    if n_clusters <= 0:
        return np.zeros((n_boot, 0))
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot).astype(float)


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central `level` interval of bootstrap replicates (nan replicates ignored; nan if none are left)."""
    r = np.asarray(replicates, dtype=float)
    r = r[~np.isnan(r)]
    if len(r) == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(r, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
