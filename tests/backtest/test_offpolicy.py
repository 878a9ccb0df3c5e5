"""Off-policy estimators on synthetic bandit logs whose true target value is known."""
from __future__ import annotations

import numpy as np
import pytest

from skillmatch.backtest.offpolicy import (
    BanditFeedback, DoublyRobust, InverseProbabilityWeighting, SelfNormalizedInverseProbabilityWeighting,
    estimate_with_intervals,
)
from skillmatch.errors import InputError

N_ACTIONS = 4


def _bandit(n: int, seed: int, model_noise: float = 0.05) -> tuple[BanditFeedback, float]:
    """A logging policy that favours action 0, a target that picks the truly best action; the target's true value."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p_true = 1 / (1 + np.exp(-(np.outer(x, [1.0, -0.5, 0.3, 0.0]) + [0.2, 0.0, -0.3, 0.1])))  # (n, K)
    logits = np.c_[np.full(n, 1.0), np.zeros((n, N_ACTIONS - 1))]
    pi0 = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    logged = np.array([rng.choice(N_ACTIONS, p=row) for row in pi0])
    reward = (rng.random(n) < p_true[np.arange(n), logged]).astype(float)
    target = p_true.argmax(axis=1)
    q = np.clip(p_true + rng.normal(0, model_noise, p_true.shape), 0, 1)  # a decent outcome model
    feedback = BanditFeedback(reward=reward, propensity=pi0[np.arange(n), logged], match=target == logged,
                              q_logged=q[np.arange(n), logged], q_target=q[np.arange(n), target],
                              block=np.arange(n) // 50)
    return feedback, float(p_true[np.arange(n), target].mean())


@pytest.mark.parametrize("estimator", ["ips", "snips", "dr"])
def test_estimators_cover_the_true_value(estimator):
    log, truth = _bandit(4000, seed=1)
    result = estimate_with_intervals(log, n_boot=300, seed=0)[estimator]
    assert result["lo"] <= truth <= result["hi"], (result, truth)


def test_ips_and_dr_are_unbiased_and_dr_varies_less():
    ips, dr, truths = [], [], []
    for seed in range(60):
        log, truth = _bandit(600, seed=seed)
        ips.append(InverseProbabilityWeighting().estimate(log))
        dr.append(DoublyRobust().estimate(log))
        truths.append(truth)
    errors_ips, errors_dr = np.array(ips) - truths, np.array(dr) - truths
    for errors in (errors_ips, errors_dr):
        assert abs(errors.mean()) < 3 * errors.std() / np.sqrt(len(errors))  # no bias beyond noise
    assert errors_dr.std() < 0.7 * errors_ips.std()


def test_a_target_equal_to_the_log_gives_back_the_logged_mean_under_snips():
    log, _ = _bandit(500, seed=3)
    same = BanditFeedback(reward=log.reward, propensity=np.ones(500), match=np.ones(500, dtype=bool),
                          q_logged=log.q_logged, q_target=log.q_logged, block=log.block)
    for estimator in (InverseProbabilityWeighting(), SelfNormalizedInverseProbabilityWeighting(), DoublyRobust()):
        assert estimator.estimate(same) == pytest.approx(log.reward.mean())


@pytest.mark.parametrize("propensity", [0.0, -0.1, 1.5, np.nan], ids=["zero", "negative", "above-one", "nan"])
def test_propensities_outside_0_1_are_refused(propensity):
    values = np.array([0.5, propensity])
    with pytest.raises(InputError, match="propensity out of range"):
        BanditFeedback(reward=np.ones(2), propensity=values, match=np.ones(2, dtype=bool), q_logged=np.ones(2),
                       q_target=np.ones(2), block=np.zeros(2, dtype=int))
