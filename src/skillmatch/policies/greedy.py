"""Greedy best fit, as vendors' predictive routing works: each round, the best predicted outcome, nothing else."""
from __future__ import annotations

from skillmatch.engine import Engine
from skillmatch.policies.roster_view import RosterView
from skillmatch.policies.skillmatch import SkillmatchPolicy

GREEDY_WEIGHTS = {"match": 1.0, "fairness": 0.0, "growth": 0.0}


class GreedyBestFit(SkillmatchPolicy):
    """The engine with fairness and growth weighted 0: the optimal assignment of each round on predicted match only.

    Urgency stays (waiting against the channel's target), as any production router keeps the queue moving;
    the match value is the engine's (resolution, satisfaction, handle time) from the same trained model.
    """

    def __init__(self, engine: Engine, round_interval_s: float = 30.0, name: str = "greedy_best_fit",
                 roster: RosterView | None = None, report_interval_s: float = 0.0) -> None:
        super().__init__(engine, weights=GREEDY_WEIGHTS, round_interval_s=round_interval_s, name=name, roster=roster,
                         report_interval_s=report_interval_s)
