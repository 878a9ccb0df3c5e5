"""Inequality measures and weighted quantiles on inputs whose answers are known."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillmatch.backtest.stats import cluster_weights, cv, gini, percentile_interval, weighted_quantiles


@pytest.mark.parametrize(("values", "expected"), [
    pytest.param([1.0, 1.0, 1.0, 1.0], 0.0, id="all-equal"),
    pytest.param([0.0, 0.0, 0.0, 1.0], 0.75, id="one-holds-all-of-4"),
    pytest.param([1.0, 2.0, 3.0, 4.0], 0.25, id="1-to-4"),
    pytest.param([2.0, 4.0], 1.0 / 6.0, id="two-values"),
    pytest.param([5.0], 0.0, id="single"),
])
def test_gini_of_known_inputs(values, expected):
    assert gini(np.array(values)) == pytest.approx(expected)
    assert gini(np.array(values[::-1])) == pytest.approx(expected)  # order does not matter


@pytest.mark.parametrize("values", [pytest.param([], id="empty"), pytest.param([0.0, 0.0], id="all-zero")])
def test_gini_is_nan_when_undefined(values):
    assert np.isnan(gini(np.array(values)))


def test_gini_refuses_negative_values():
    with pytest.raises(ValueError, match="non-negative"):
        gini(np.array([-1.0, 2.0]))


@pytest.mark.parametrize(("values", "expected"), [
    pytest.param([3.0, 3.0, 3.0], 0.0, id="all-equal"),
    pytest.param([1.0, 3.0], 0.5, id="1-and-3"),
    pytest.param([2.0, 4.0, 6.0, 8.0], np.sqrt(5.0) / 5.0, id="2-4-6-8"),
])
def test_cv_of_known_inputs(values, expected):
    assert cv(np.array(values)) == pytest.approx(expected)


@pytest.mark.parametrize("values", [pytest.param([], id="empty"), pytest.param([0.0, 0.0], id="zero-mean")])
def test_cv_is_nan_when_undefined(values):
    assert np.isnan(cv(np.array(values)))


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40), st.floats(0.0, 1.0))
def test_weighted_quantile_with_unit_weights_is_numpys_inverted_cdf(values, q):
    x = np.sort(np.array(values))
    got = weighted_quantiles(x, np.ones(len(x)), np.array([q]))[0]
    assert got == np.quantile(x, q, method="inverted_cdf")


def test_weighted_quantile_counts_repeated_values():
    values = np.array([1.0, 2.0, 3.0])
    assert weighted_quantiles(values, np.array([0.0, 3.0, 1.0]), np.array([0.5]))[0] == 2.0
    assert weighted_quantiles(values, np.array([3.0, 0.0, 1.0]), np.array([0.9]))[0] == 3.0
    assert np.isnan(weighted_quantiles(values, np.zeros(3), np.array([0.5]))[0])


def test_cluster_weights_draw_as_many_clusters_as_there_are():
    draws = cluster_weights(7, 50, np.random.default_rng(0))
    assert draws.shape == (50, 7) and (draws.sum(axis=1) == 7).all()


def test_percentile_interval_ignores_nan_and_orders_bounds():
    lo, hi = percentile_interval(np.r_[np.arange(100.0), np.nan])
    assert lo < 50 < hi and lo == pytest.approx(2.475) and hi == pytest.approx(96.525)
    assert all(np.isnan(percentile_interval(np.array([np.nan]))))
