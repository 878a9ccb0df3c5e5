"""Runs continue the same paused center: identical arrivals for every policy, the scenario itself untouched."""
from __future__ import annotations

import numpy as np

from skillmatch.backtest.runner import run_policy


def test_every_policy_sees_the_same_tickets(cheap_runs):
    runs = list(cheap_runs.values())
    first = runs[0]
    assert len(first.created_s) > 500
    for run in runs[1:]:
        for field in ("created_s", "channel", "topic", "difficulty", "block"):
            np.testing.assert_array_equal(getattr(run, field), getattr(first, field), err_msg=field)
        np.testing.assert_array_equal(run.skill[0], first.skill[0])  # the same agents at the start


def test_policies_differ_in_who_handled_what(cheap_runs):
    assert not np.array_equal(cheap_runs["fifo"].agent, cheap_runs["oracle"].agent)


def test_same_policy_same_scenario_same_record(scenario, cheap_runs):
    from skillmatch.backtest import EvalSettings, parse_lineup

    again = run_policy(scenario, parse_lineup(["fifo"])[0], evaluation=EvalSettings(block_hours=4.0))
    np.testing.assert_array_equal(again.agent, cheap_runs["fifo"].agent)
    np.testing.assert_array_equal(again.wait_s, cheap_runs["fifo"].wait_s)


def test_the_scenario_center_is_not_moved_by_runs(scenario, cheap_runs):
    assert scenario.center.now == scenario.eval_start_s
    assert scenario.center.outcomes == [] and scenario.center.events == []


def test_the_window_s_tickets_are_taken_and_finished_or_counted_as_still_waiting(cheap_runs):
    for name, run in cheap_runs.items():
        assert run.served.mean() > 0.99, name
        np.testing.assert_array_equal(run.agent >= 0, run.served)  # everything taken also finished
        assert not np.isnan(run.resolved[run.served]).any()
        assert (run.wait_s >= 0).all()
        never = ~run.served  # waited until the end of the run, a day after the window
        assert (run.wait_s[never] + run.created_s[never] >= run.meta["end_s"] - 1e-6).all()


def test_agents_keep_learning_during_the_window(cheap_runs):
    run = cheap_runs["fifo"]
    practised = np.zeros(run.growth.shape, dtype=int)
    np.add.at(practised, (run.agent, run.topic), 1)
    gained = run.skill[-1] - run.skill[0]
    assert gained[practised >= 5].mean() > 0
