"""The oracle: each round, the assignment that maximises the TRUE chance of resolution (the simulator's truth).

Not a deployable policy: it reads the hidden skill of every agent at this moment and each ticket's true
difficulty. It marks how much resolution a per-round router could attain at all, so a report can say
what share of the attainable gain over free selection a real policy captures.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skillmatch.config import Urgency
from skillmatch.policies.roster_view import RosterView
from skillmatch.policies.rounds import RosterPolicy, round_arrays
from skillmatch.scoring.components import urgency
from skillmatch.simulation import ContactCenter, Decision, FreeAgent
from skillmatch.simulation.world import CHANNEL_SLA_S, p_resolve
from skillmatch.solver import solve_round


class Oracle(RosterPolicy):
    """Per round: place as many tickets as possible, maximising true P(resolved) plus the engine's urgency term.

    With `round_interval_s`, rounds come at most that often, as the engine's do in a backtest: batching
    lets a round match more tickets with more agents, so the oracle must batch alike to bound the engine.
    """

    claim_event = "assigned"

    def __init__(self, roster: RosterView, urgency_weights: Urgency | None = None, round_interval_s: float = 0.0,
                 name: str = "oracle") -> None:
        super().__init__(roster, name)  # it reads the truth directly: outcomes add nothing
        self.urgency_weights = urgency_weights or Urgency()
        self.round_interval_s = round_interval_s
        self._next_round = -np.inf

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]:
        center = self.center()
        if now < self._next_round:
            return []
        arrays = round_arrays(center, self.roster, queue, free_agents).pruned()
        if arrays.empty:
            return []
        self._next_round = now + self.round_interval_s
        truth = self.true_p_resolve(center, arrays.tickets, arrays.agents)
        tk = center.tickets
        urgent = urgency(tk.priority[arrays.tickets].astype(float), now - tk.created_s[arrays.tickets],
                         CHANNEL_SLA_S[tk.channel[arrays.tickets]], self.urgency_weights)
        solution = solve_round(truth + urgent[:, None], arrays.eligible, arrays.free_slots, place_all=True)
        placed = np.flatnonzero(solution.agent_of_ticket >= 0)
        return [Decision(int(arrays.tickets[i]), int(arrays.agents[solution.agent_of_ticket[i]])) for i in placed]

    @staticmethod
    def true_p_resolve(center: ContactCenter, tickets: np.ndarray, agents: np.ndarray) -> np.ndarray:
        """`(n_tickets, n_agents)` true P(resolved) now: current skill, true difficulty, customer affinity."""
        tk = center.tickets
        topic = np.broadcast_to(tk.topic[tickets][:, None], (len(tickets), len(agents)))
        agent = np.broadcast_to(agents[None, :], topic.shape)
        skill = center.world.agents.skill(center.exposure[agent, topic], agent, topic)
        last = np.array([center.last_agent_of_customer.get(int(c), -1) for c in tk.customer[tickets]])
        affinity = (last[:, None] == agents[None, :]).astype(float)
        return p_resolve(skill, tk.difficulty_logit[tickets][:, None], affinity)
