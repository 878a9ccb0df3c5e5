"""FIFO: the oldest waiting ticket goes to the longest-idle eligible agent (capacity-only routing, the usual default)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skillmatch.policies.roster_view import RosterView
from skillmatch.policies.rounds import RosterPolicy, round_arrays, serve_in_order
from skillmatch.simulation import Decision, FreeAgent


class FIFO(RosterPolicy):
    """Oldest ticket first, to the agent idle the longest among those who speak its language and may take its topic."""

    def __init__(self, roster: RosterView, name: str = "fifo") -> None:
        super().__init__(roster, name)

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]:
        return serve_in_order(round_arrays(self.center(), self.roster, queue, free_agents), now)
