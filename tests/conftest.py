"""Shared fixtures: simulated histories are built once per session and reused read-only."""
from __future__ import annotations

import pytest

from skillmatch.simulation import SimulatedHistory, SimulationConfig, simulate_history


@pytest.fixture(scope="session")
def week_history() -> SimulatedHistory:
    """A 7-day, 30-agent simulated center under free selection (seed 1)."""
    return simulate_history(SimulationConfig(days=7, n_agents=30, seed=1))


@pytest.fixture(scope="session")
def week_history_files(week_history: SimulatedHistory, tmp_path_factory: pytest.TempPathFactory):
    """The week history written to disk as contract logs."""
    return week_history.write(tmp_path_factory.mktemp("week") / "logs")
