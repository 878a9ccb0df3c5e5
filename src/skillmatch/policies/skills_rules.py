"""Skills rules, as rule-based ACDs route: the oldest ticket to the free agent with the highest declared skill in its topic."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skillmatch.policies.roster_view import RosterView
from skillmatch.policies.rounds import RosterPolicy, round_arrays, serve_in_order
from skillmatch.simulation import Decision, FreeAgent


class SkillsRules(RosterPolicy):
    """Tickets oldest first; each to the eligible free agent whose roster declares the highest level in the topic.

    Ties (and agents without a declared level, who rank below level 1) go to the longest idle. The levels are
    the roster's, which in practice are self-declared and outdated: that is the point of comparing with them.
    """

    def __init__(self, roster: RosterView, name: str = "skills_rules") -> None:
        super().__init__(roster, name)

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]:
        center = self.center()
        arrays = round_arrays(center, self.roster, queue, free_agents)
        level = np.nan_to_num(self.roster.declared[arrays.agents][:, center.tickets.topic[arrays.tickets]].T, nan=0.0)
        return serve_in_order(arrays, now, preference=level)
