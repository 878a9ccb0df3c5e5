"""An engine policy in a replay reports outcomes the contract accepts, whatever float seconds do to the times."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from skillmatch.backtest.replay.policies import ReplayedEnginePolicy
from skillmatch.logs import validate_interactions
from skillmatch.simulation import Outcome

START = pd.Timestamp("2026-09-01T00:00:03.123Z")  # a replay's clock starts at a logged time, milliseconds and all


class _Recorder:
    """Stands in for the engine: keeps the outcome rows it is given, validated as the engine validates them."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def record_outcomes(self, rows: list[dict]) -> None:
        validate_interactions(pd.DataFrame(rows), "outcomes")
        self.rows.extend(rows)


def test_tickets_taken_the_moment_they_arrived_are_not_reported_as_taken_before_it():
    rng = np.random.default_rng(0)
    created = [START + pd.Timedelta(milliseconds=int(ms)) for ms in rng.integers(0, 30 * 86_400_000, 300)]
    requests = [{"ticket_id": f"T{i}", "created_at": c.isoformat(), "topic": "billing", "channel": "chat",
                 "language": "en", "priority": 3} for i, c in enumerate(created)]
    center = SimpleNamespace(world=SimpleNamespace(config=SimpleNamespace(start_ts=START),
                                                   agents=SimpleNamespace(ids=["A1"])),
                             tickets=SimpleNamespace(requests=requests))
    engine = _Recorder()
    policy = ReplayedEnginePolicy(engine, report_interval_s=0.0)  # type: ignore[arg-type]
    policy._center, policy._ids = center, [r["ticket_id"] for r in requests]  # what start(center) sets
    seconds = [c.timestamp() - START.timestamp() for c in created]  # as the replay counts time
    policy.observe([Outcome(ticket=i, agent=0, assigned_s=s, closed_s=s, handle_time_s=1e-3, resolved=True,
                            transferred=False, reopened=False, csat=None, qa_score=None, p_resolve=0.9, skill=0.0)
                    for i, s in enumerate(seconds)])
    policy.flush()
    assert len(engine.rows) == len(created)
    for row, c in zip(engine.rows, created):
        assert pd.Timestamp(row["assigned_at"]) >= c
        assert pd.Timestamp(row["closed_at"]) >= pd.Timestamp(row["assigned_at"])
