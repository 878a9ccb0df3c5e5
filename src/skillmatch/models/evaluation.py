"""Held-out evaluation: classification and regression metrics, simple baselines, ground-truth checks."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import brier_score_loss, log_loss, mean_absolute_error, roc_auc_score

CALIBRATION_BINS = 10


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: mean |observed rate - mean prediction| over equal-width bins, by weight."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.sum() * abs(y[in_bin].mean() - p[in_bin].mean())
    return float(total / len(y))


def resolution_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, log loss, Brier score and calibration error of predicted P(resolved)."""
    y = y.astype(float)
    p = np.clip(p, 1e-6, 1 - 1e-6)
    auc = float(roc_auc_score(y, p)) if 0 < y.mean() < 1 else float("nan")
    return {"auc": auc, "log_loss": float(log_loss(y, p, labels=[0, 1])), "brier": float(brier_score_loss(y, p)),
            "calibration_error": calibration_error(y, p)}


def smoothed_rates(train_keys: pd.Series, train_y: np.ndarray, eval_keys: pd.Series, strength: float = 20.0) -> np.ndarray:
    """Baseline: the training rate of each key (topic, or agent) shrunk toward the overall rate."""
    base = float(np.mean(train_y))
    grouped = pd.DataFrame({"k": train_keys.to_numpy(), "y": train_y}).groupby("k")["y"].agg(["sum", "count"])
    rate = (grouped["sum"] + strength * base) / (grouped["count"] + strength)
    return eval_keys.map(rate).fillna(base).to_numpy(dtype=float)


def median_by(train_keys: pd.Series, train_values: np.ndarray, eval_keys: pd.Series) -> np.ndarray:
    """Baseline: the training median of each key, the overall median for unseen keys."""
    medians = pd.Series(train_values).groupby(train_keys.to_numpy()).median()
    return eval_keys.map(medians).fillna(float(np.median(train_values))).to_numpy(dtype=float)


def with_lift(model: dict[str, float], baselines: dict[str, dict[str, float]]) -> dict[str, object]:
    """The model's metrics, each baseline's, and the AUC lift over each baseline."""
    return {"model": model, "baselines": baselines,
            "auc_lift": {name: model["auc"] - b["auc"] for name, b in baselines.items()}}


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute error (nan-safe on the prediction side: rows without a prediction are skipped)."""
    keep = ~np.isnan(pred)
    return float(mean_absolute_error(y[keep], pred[keep])) if keep.any() else float("nan")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation; nan when either side is constant."""
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def mean_ranking_spearman(groups: np.ndarray, predicted: np.ndarray, true: np.ndarray) -> tuple[float, int]:
    """Mean over groups (tickets) of the Spearman between predicted and true values across the group's agents."""
    frame = pd.DataFrame({"g": groups, "p": predicted, "t": true})
    values = [spearman(g["p"].to_numpy(), g["t"].to_numpy()) for _, g in frame.groupby("g", sort=False)]
    values = [v for v in values if not np.isnan(v)]
    return (float(np.mean(values)) if values else float("nan")), len(values)
