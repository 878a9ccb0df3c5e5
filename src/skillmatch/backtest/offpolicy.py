"""Off-policy estimators of a policy's resolution rate from a log that carries propensities.

The log is a contextual bandit: each ticket t went to the logged agent with probability `propensity[t]`
under the logging policy, and the outcome `reward[t]` (resolved, 0/1) was seen for that agent only. For a
deterministic target policy, `match[t]` says whether it gives the ticket to the logged agent. With an
outcome model (`q_logged[t]` its estimate for the logged pair, `q_target[t]` for the target policy's choice):

- IPS: mean(match * reward / propensity), unbiased when propensities are right and positive;
- self-normalised IPS: sum(match * reward / propensity) / sum(match / propensity), a little biased, steadier;
- doubly robust: mean(q_target + match / propensity * (reward - q_logged)), unbiased when either the
  propensities or the outcome model are right, and of lower variance than IPS when the model is good.

A ticket the target policy never served counts as unresolved (`match` False, `q_target` 0). Each
estimator is a ratio of per-ticket sums, so the cluster bootstrap re-weights whole time blocks (days) as
the other backtest figures do. One small class per estimator, behind one interface (as Open Bandit Pipeline).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from skillmatch.backtest.stats import cluster_weights, percentile_interval
from skillmatch.errors import InputError


@dataclass(frozen=True)
class BanditFeedback:
    """Per logged ticket: reward, propensity of the logged action, the target's agreement and the outcome model's values."""

    reward: np.ndarray  # float 0/1 (or any bounded outcome)
    propensity: np.ndarray  # in (0, 1]
    match: np.ndarray  # bool: the target policy chose the logged action
    q_logged: np.ndarray  # outcome model for the logged (ticket, action)
    q_target: np.ndarray  # outcome model for the target policy's action (0 when it took none)
    block: np.ndarray  # int: bootstrap cluster (day)

    def __post_init__(self) -> None:
        n = len(self.reward)
        for name in ("propensity", "match", "q_logged", "q_target", "block"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} values, reward has {n}")
        p = np.asarray(self.propensity, dtype=float)
        if not ((p > 0) & (p <= 1)).all():
            raise InputError("propensity out of range", column="propensity", expected="values in (0, 1]",
                             got=list(p[~((p > 0) & (p <= 1))][:5]))


class OffPolicyEstimator:
    """An estimator as a ratio of per-ticket sums: value = sum(numerator) / sum(denominator)."""

    name: ClassVar[str] = ""

    def terms(self, log: BanditFeedback) -> tuple[np.ndarray, np.ndarray]:
        """Per-ticket numerator and denominator."""
        raise NotImplementedError

    def estimate(self, log: BanditFeedback) -> float:
        num, den = self.terms(log)
        return float(num.sum() / den.sum()) if den.sum() > 0 else float("nan")


class InverseProbabilityWeighting(OffPolicyEstimator):
    """IPS: the logged rewards where the target agrees with the log, each weighted by 1 / propensity."""

    name = "ips"

    def terms(self, log: BanditFeedback) -> tuple[np.ndarray, np.ndarray]:
        w = log.match / log.propensity
        return w * log.reward, np.ones(len(w))


class SelfNormalizedInverseProbabilityWeighting(OffPolicyEstimator):
    """SNIPS: IPS divided by the mean importance weight (bounded by the rewards' range)."""

    name = "snips"

    def terms(self, log: BanditFeedback) -> tuple[np.ndarray, np.ndarray]:
        w = log.match / log.propensity
        return w * log.reward, w


class DoublyRobust(OffPolicyEstimator):
    """DR: the outcome model's value of the target's choice, corrected by weighted residuals on agreeing tickets."""

    name = "dr"

    def terms(self, log: BanditFeedback) -> tuple[np.ndarray, np.ndarray]:
        w = log.match / log.propensity
        return log.q_target + w * (log.reward - log.q_logged), np.ones(len(w))


ESTIMATORS: tuple[OffPolicyEstimator, ...] = (InverseProbabilityWeighting(),
                                              SelfNormalizedInverseProbabilityWeighting(), DoublyRobust())


def estimate_with_intervals(log: BanditFeedback, n_boot: int = 400, seed: int = 0,
                            estimators: tuple[OffPolicyEstimator, ...] = ESTIMATORS) -> dict[str, dict[str, float]]:
    """Each estimator's value with a 95% percentile interval from a bootstrap clustered by `log.block`."""
    n_blocks = int(log.block.max()) + 1 if len(log.block) else 0
    draws = cluster_weights(n_blocks, n_boot, np.random.default_rng(seed))
    out = {}
    for estimator in estimators:
        num, den = estimator.terms(log)
        num_b = np.bincount(log.block, weights=num, minlength=n_blocks)
        den_b = np.bincount(log.block, weights=den, minlength=n_blocks)
        with np.errstate(invalid="ignore", divide="ignore"):
            replicates = (draws @ num_b) / (draws @ den_b)
        lo, hi = percentile_interval(replicates)
        out[estimator.name] = {"value": estimator.estimate(log), "lo": lo, "hi": hi}
    return out
