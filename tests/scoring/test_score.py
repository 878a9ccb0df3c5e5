"""A round's score matrix: each pair's score depends on that pair alone, whatever else the round holds."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from skillmatch.config import PolicyConfig
from skillmatch.scoring.score import RoundInputs, score_round


def _inputs(rng: np.random.Generator, n_t: int, n_a: int, eligible: np.ndarray) -> RoundInputs:
    predicted = lambda low, high: np.where(eligible, rng.uniform(low, high, (n_t, n_a)), np.nan)  # noqa: E731
    csat = np.where(rng.random((n_t, n_a)) < 0.7, predicted(1.0, 5.0), np.nan)
    return RoundInputs(
        p_resolve=predicted(0.0, 1.0), handle_time_s=predicted(10.0, 2000.0), csat=csat,
        difficulty=rng.random(n_t), handle_ref_s=rng.uniform(50.0, 900.0, n_t),
        priority=rng.integers(1, 5, n_t).astype(float), waited_s=rng.uniform(0.0, 9000.0, n_t),
        sla_s=rng.choice([60.0, 3600.0], n_t), protected=rng.random(n_t) < 0.2,
        in_growth_topic=rng.random((n_t, n_a)) < 0.4, eligible=eligible, carried=rng.random(n_a),
        quota_left=rng.integers(0, 3, n_a), center_mean=0.4, center_sd=0.2)


@given(seed=st.integers(0, 2**32 - 1), n_t=st.integers(1, 12), n_a=st.integers(1, 6))
@settings(max_examples=80, deadline=None)
def test_a_round_where_everyone_is_eligible_scores_as_with_an_agent_nobody_may_take(seed, n_t, n_a):
    """A fully eligible round (nothing to mask) and the same round plus an agent eligible for no ticket (masked)
    give the same scores, bit for bit, on the shared pairs; the extra agent's pairs are all zero."""
    rng = np.random.default_rng(seed)
    wide = _inputs(rng, n_t, n_a + 1, np.column_stack([np.ones((n_t, n_a), dtype=bool), np.zeros(n_t, dtype=bool)]))
    pairs = ("p_resolve", "handle_time_s", "csat", "in_growth_topic", "eligible")
    narrow = RoundInputs(**{**wide.__dict__, **{name: getattr(wide, name)[:, :n_a] for name in pairs},
                            "carried": wide.carried[:n_a], "quota_left": wide.quota_left[:n_a]})
    policy = PolicyConfig()
    full, masked = score_round(narrow, policy), score_round(wide, policy)
    for name in ("total", "match", "fairness", "growth", "urgency", "stretch"):
        got, with_extra = getattr(full, name), getattr(masked, name)
        assert got.shape == (n_t, n_a) and got.dtype == with_extra.dtype
        np.testing.assert_array_equal(got, with_extra[:, :n_a], err_msg=name)
        assert not with_extra[:, n_a].any(), name
