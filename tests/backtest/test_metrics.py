"""Metrics with 95% intervals: intervals hold their point estimate, paired differences are consistent."""
from __future__ import annotations

import numpy as np
import pytest

from skillmatch.backtest import summarize


@pytest.fixture(scope="module")
def summary(cheap_runs):
    return summarize([cheap_runs], n_boot=120, seed=1)


def test_every_interval_contains_its_point_estimate(summary):
    checked = 0
    for name, estimates in summary["policies"].items():
        for metric, e in estimates.items():
            if np.isnan(e["value"]) or np.isnan(e["lo"]):
                continue
            assert e["lo"] - 1e-9 <= e["value"] <= e["hi"] + 1e-9, (name, metric, e)
            checked += 1
    assert checked > 100


def test_headline_metrics_are_present_and_plausible(summary):
    fifo = summary["policies"]["fifo"]
    for key in ("resolution_rate", "csat", "handle_time_s", "wait_p50_s", "wait_p90_s", "wait_p99_s",
                "sla.voice", "wait_p99_s.email", "fairness.difficulty_gini", "fairness.difficulty_cv",
                "fairness.hard_share_gini", "fairness.hard_share_cv", "growth.skill_gain", "coverage.start",
                "coverage.end", "speed.decisions_per_s"):
        assert key in fifo, key
    assert 0.5 < fifo["resolution_rate"]["value"] < 1.0
    assert 1.0 <= fifo["csat"]["value"] <= 5.0
    assert fifo["wait_p50_s"]["value"] <= fifo["wait_p90_s"]["value"] <= fifo["wait_p99_s"]["value"]
    assert fifo["speed.decisions_per_s"]["value"] > 0
    assert fifo["coverage.end"]["value"] == fifo["coverage.start"]["value"] + fifo["coverage.gain"]["value"]


def test_paired_differences_match_the_point_estimates(summary):
    diff = summary["differences"]["oracle - free_selection"]["resolution_rate"]
    pol = summary["policies"]
    assert diff["value"] == pytest.approx(pol["oracle"]["resolution_rate"]["value"]
                                          - pol["free_selection"]["resolution_rate"]["value"])
    assert diff["lo"] <= diff["value"] <= diff["hi"]


def test_gain_captured_is_0_for_free_selection_and_1_for_the_oracle(summary):
    gain = summary["gain_captured"]
    assert gain["free_selection"]["value"] == 0.0 and gain["oracle"]["value"] == 1.0


def test_the_bootstrap_says_how_it_clustered(summary):
    assert summary["bootstrap"]["cluster"] == "blocks of 4 h"
    assert summary["bootstrap"]["clusters_per_scenario"] == [6]


def test_two_scenarios_average_and_keep_their_own_figures(cheap_runs):
    both = summarize([cheap_runs, cheap_runs], n_boot=60, seed=2)
    one = summarize([cheap_runs], n_boot=60, seed=2)
    assert both["policies"]["fifo"]["resolution_rate"]["value"] == pytest.approx(
        one["policies"]["fifo"]["resolution_rate"]["value"])
