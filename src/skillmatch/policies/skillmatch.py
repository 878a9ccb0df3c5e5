"""The engine as a policy of the simulated center: a routing round every `round_interval_s` while work waits."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from skillmatch.engine import Engine
from skillmatch.policies.roster_view import RosterView
from skillmatch.policies.rounds import round_arrays
from skillmatch.simulation import ContactCenter, Decision, FreeAgent, Outcome
from skillmatch.simulation.world import CHANNELS, LANGUAGES, TIERS, TOPICS


class SkillmatchPolicy:
    """Pushes assignments decided by the engine; reports outcomes back to it in batches.

    Outcomes go to the engine before a round once `report_interval_s` of simulated time has passed since
    the last report (0: before every round). With a `roster`, a round sends the engine only the tickets
    some free agent may take and the agents who may take one of them (the optimum is the same), and no
    round is spent when there is no eligible pair.
    """

    claim_event = "assigned"

    def __init__(self, engine: Engine, weights: Mapping[str, float] | None = None, round_interval_s: float = 30.0,
                 name: str = "skillmatch", roster: RosterView | None = None, report_interval_s: float = 0.0) -> None:
        self.engine = engine
        self.weights = dict(weights or {})
        self.round_interval_s = round_interval_s
        self.report_interval_s = report_interval_s
        self.name = name
        self.roster = roster
        self._center: ContactCenter | None = None
        self._ids: list[str] = []
        self._next_round = -np.inf
        self._next_report = -np.inf
        self._pending: list[Outcome] = []

    def start(self, center: ContactCenter) -> None:
        if center is not self._center or len(self._ids) != len(center.tickets):
            self._ids = center.tickets.ids
        self._center = center

    def observe(self, outcomes: Sequence[Outcome]) -> None:
        self._pending.extend(outcomes)

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]:
        center = self._center
        assert center is not None, "start(center) first"
        if now < self._next_round:
            return []
        if self.roster is not None:
            arrays = round_arrays(center, self.roster, queue, free_agents).pruned()
            if arrays.empty:
                return []
            keep = set(arrays.agents.tolist())
            queue, free_agents = arrays.tickets, [f for f in free_agents if f.index in keep]
        self._next_round = now + self.round_interval_s
        if now >= self._next_report:
            self.flush()
            self._next_report = now + self.report_interval_s
        start = center.world.config.start_ts
        ids = self._ids
        agent_ids = center.world.agents.ids
        tickets = [self._ticket(center, int(t), ids[int(t)], start) for t in queue]
        agents = [{"agent_id": agent_ids[f.index], "free_slots": f.free_slots} for f in free_agents]
        result = self.engine.assign(tickets, agents, now=start + pd.Timedelta(seconds=now), weights=self.weights,
                                    commit=True)
        ticket_of = {ids[int(t)]: int(t) for t in queue}
        agent_of = {agent_ids[f.index]: f.index for f in free_agents}
        return [Decision(ticket_of[a["ticket_id"]], agent_of[a["agent_id"]]) for a in result["assignments"]]

    def flush(self) -> None:
        """Report the outcomes seen since the last report to the engine (its ledger and live history)."""
        if not self._pending or self._center is None:
            return
        center, rows = self._center, []
        start = center.world.config.start_ts
        for o in self._pending:
            ticket = self._ticket(center, o.ticket, self._ids[o.ticket], start)
            # seconds since the start as floats can land a microsecond before the ticket's logged creation
            assigned = max(start + pd.Timedelta(seconds=o.assigned_s), pd.Timestamp(ticket["created_at"]))
            closed = max(start + pd.Timedelta(seconds=o.closed_s), assigned)
            rows.append({**ticket, "agent_id": center.world.agents.ids[o.agent],
                         "assigned_at": assigned.isoformat(), "closed_at": closed.isoformat(),
                         "handle_time_s": o.handle_time_s, "resolved": o.resolved, "transferred": o.transferred,
                         "reopened": o.reopened, "csat": o.csat, "qa_score": o.qa_score})
        self._pending = []
        self.engine.record_outcomes(rows)

    @staticmethod
    def _ticket(center: ContactCenter, t: int, ticket_id: str, start: pd.Timestamp) -> dict[str, Any]:
        tk = center.tickets
        return {"ticket_id": ticket_id, "created_at": (start + pd.Timedelta(seconds=float(tk.created_s[t]))).isoformat(),
                "topic": TOPICS[tk.topic[t]], "channel": CHANNELS[tk.channel[t]], "language": LANGUAGES[tk.language[t]],
                "priority": int(tk.priority[t]), "customer_id": f"C{int(tk.customer[t]) + 1:06d}",
                "customer_tier": TIERS[int(tk.vip[t])], "sentiment": float(tk.sentiment[t]),
                "message_words": int(tk.message_words[t])}
