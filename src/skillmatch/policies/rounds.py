"""One decision moment of a simulated center as arrays: waiting tickets x free agents, with eligibility and slots."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from skillmatch.policies.roster_view import RosterView
from skillmatch.simulation import ContactCenter, Decision, FreeAgent, Outcome


@dataclass(frozen=True)
class RoundArrays:
    """The queue (oldest first) and the free agents of one round; `eligible` is `(n_tickets, n_agents)`."""

    tickets: np.ndarray  # (n_tickets,) center ticket indices
    agents: np.ndarray  # (n_agents,) center agent indices
    free_slots: np.ndarray  # (n_agents,) int
    idle_since_s: np.ndarray  # (n_agents,)
    eligible: np.ndarray  # (n_tickets, n_agents) bool

    def pruned(self) -> RoundArrays:
        """Only tickets some free agent may take and agents who may take some ticket (the optimum is unchanged)."""
        rows, cols = self.eligible.any(axis=1), self.eligible.any(axis=0)
        return RoundArrays(self.tickets[rows], self.agents[cols], self.free_slots[cols], self.idle_since_s[cols],
                           self.eligible[np.ix_(rows, cols)])

    @property
    def empty(self) -> bool:
        """No eligible (ticket, agent) pair: nothing can be decided."""
        return not self.eligible.any()


def round_arrays(center: ContactCenter, roster: RosterView, queue: np.ndarray,
                 free_agents: Sequence[FreeAgent]) -> RoundArrays:
    """Arrays of a round, eligibility from the roster (language, certification for restricted topics)."""
    tickets = np.asarray(queue, dtype=int)
    agents = np.fromiter((f.index for f in free_agents), dtype=int, count=len(free_agents))
    slots = np.fromiter((f.free_slots for f in free_agents), dtype=int, count=len(free_agents))
    idle = np.fromiter((f.idle_since_s for f in free_agents), dtype=float, count=len(free_agents))
    tk = center.tickets
    eligible = roster.eligible(tk.topic[tickets], tk.language[tickets], agents)
    return RoundArrays(tickets, agents, slots, idle, eligible)


def serve_in_order(arrays: RoundArrays, now: float, preference: np.ndarray | None = None) -> list[Decision]:
    """Tickets in queue order, each to the eligible agent with a free slot it prefers most, ties to the longest idle.

    `preference` is `(n_tickets, n_agents)`, higher preferred (None: all equal, which is plain FIFO). An agent
    that just got a ticket goes to the back of the idle line, so capacity > 1 never floods the first agent.
    """
    slots = arrays.free_slots.copy()
    idle_line = arrays.idle_since_s.copy()
    decisions: list[Decision] = []
    for i in range(len(arrays.tickets)):
        candidates = np.flatnonzero(arrays.eligible[i] & (slots > 0))
        if len(candidates) == 0:
            continue
        if preference is not None:
            wanted = preference[i, candidates]
            candidates = candidates[wanted == wanted.max()]
        j = candidates[np.argmin(idle_line[candidates])]
        decisions.append(Decision(int(arrays.tickets[i]), int(arrays.agents[j])))
        slots[j] -= 1
        idle_line[j] = now + 1e-6 * len(decisions)
        if not slots.any():
            break
    return decisions


class RosterPolicy:
    """Base of the policies that route from the roster and the center alone: they keep the center and learn nothing."""

    claim_event = "assigned"

    def __init__(self, roster: RosterView, name: str) -> None:
        self.roster = roster
        self.name = name
        self._center: ContactCenter | None = None

    def start(self, center: ContactCenter) -> None:
        self._center = center

    def observe(self, outcomes: Sequence[Outcome]) -> None:
        """Nothing to learn from outcomes."""

    def center(self) -> ContactCenter:
        """The center `start` gave (a policy decides only once started)."""
        assert self._center is not None, "start(center) first"
        return self._center
