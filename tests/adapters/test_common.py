"""The roster inference shared by the adapters, on tables small enough to check by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd

from skillmatch.adapters.common import concurrency_capacity, observed_levels


def test_capacity_is_how_many_tickets_an_agent_held_at_once() -> None:
    agent = pd.Series(["a", "a", "a", "a", "b", "b"])
    start = np.array([0.0, 5.0, 6.0, 20.0, 0.0, 10.0])
    end = np.array([10.0, 15.0, 7.0, 30.0, 10.0, 20.0])  # a holds 1, 2, 3 then 1; b never overlaps itself
    capacity = concurrency_capacity(agent, start, end)
    assert capacity.to_dict() == {"a": 3, "b": 1}  # 90th percentile of (1, 2, 3, 1) is 2.7 -> 3


def test_levels_rank_agents_by_volume_in_the_earlier_half_only() -> None:
    rows = [("a", "billing")] * 12 + [("b", "billing")] * 6 + [("c", "billing")] * 2 + [("b", "returns")] * 5
    late = [("c", "billing")] * 25  # the later half of the tickets must not count
    agent = pd.Series([r[0] for r in rows + late])
    topic = pd.Series([r[1] for r in rows + late])
    time_s = np.concatenate([np.linspace(0, 40, len(rows)), np.linspace(60, 100, len(late))])
    levels = observed_levels(agent, topic, time_s)
    assert levels.to_dict() == {"a": "billing:5", "b": "returns:5;billing:3"}  # c: 2 early rows, below 5
