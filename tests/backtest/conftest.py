"""A paused two-week center (30 agents, seed 2) with its trained model, and one-day runs of the cheap policies on it."""
from __future__ import annotations

import pytest

from skillmatch.backtest import EvalSettings, Scenario, parse_lineup, run_policy

CHEAP = ("free_selection", "fifo", "skills_rules", "oracle")
BLOCK_HOURS = 4.0


@pytest.fixture(scope="session")
def scenario(two_weeks, trained) -> Scenario:
    """The two-week history paused at its end, one evaluation day ahead."""
    return Scenario.from_history(two_weeks[0], trained[0], eval_days=1)


@pytest.fixture(scope="session")
def cheap_runs(scenario):
    """One evaluation day of each policy that needs no model, cut into 4-hour bootstrap clusters."""
    return {spec.name: run_policy(scenario, spec, evaluation=EvalSettings(block_hours=BLOCK_HOURS))
            for spec in parse_lineup(CHEAP)}
