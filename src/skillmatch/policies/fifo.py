"""FIFO: the oldest waiting ticket goes to the longest-idle eligible agent (capacity-only routing, the usual default)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skillmatch.policies.roster_view import RosterView
from skillmatch.policies.rounds import round_arrays, serve_in_order
from skillmatch.simulation import ContactCenter, Decision, FreeAgent, Outcome


class FIFO:
    """Oldest ticket first, to the agent idle the longest among those who speak its language and may take its topic."""

    claim_event = "assigned"

    def __init__(self, roster: RosterView, name: str = "fifo") -> None:
        self.roster = roster
        self.name = name
        self._center: ContactCenter | None = None

    def start(self, center: ContactCenter) -> None:
        self._center = center

    def observe(self, outcomes: Sequence[Outcome]) -> None:
        """FIFO learns nothing from outcomes."""

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]:
        assert self._center is not None, "start(center) first"
        return serve_in_order(round_arrays(self._center, self.roster, queue, free_agents), now)
