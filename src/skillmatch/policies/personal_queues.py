"""Personal work queues in the simulated center: the engine pushes each new ticket into one agent's queue.

Centers that let agents keep personal queues push work beyond free capacity: a ticket is routed once
(recorded in the engine's ledger) and waits in its agent's queue until that agent has a free slot;
the agent works its queue in order. Repeat customers stay with "their" agent (the last one who served
them) while that agent is online and its queue has room. An agent who goes offline hands its queue
back, and those tickets are routed again. `move` hands one ticket to another agent (a supervisor's
hand-back), recorded as a new decision.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from skillmatch.engine import Engine
from skillmatch.simulation import ContactCenter, Decision, FreeAgent, Outcome
from skillmatch.simulation.world import CHANNELS, LANGUAGES, TIERS, TOPICS


class PersonalQueues:
    """Routes arrivals into personal queues every `round_interval_s`, up to capacity + `extra_queue` per agent.

    Outcomes go to the engine before a routing round once `report_interval_s` has passed since the last
    report (0: before every round), and whenever `flush` is called.
    """

    claim_event = "assigned"

    def __init__(self, engine: Engine, round_interval_s: float = 60.0, extra_queue: int = 3, sticky: bool = True,
                 name: str = "personal_queues", report_interval_s: float = 0.0) -> None:
        if extra_queue < 0 or round_interval_s <= 0:
            raise ValueError("extra_queue >= 0 and round_interval_s > 0")
        self.engine = engine
        self.round_interval_s = round_interval_s
        self.extra_queue = extra_queue
        self.sticky = sticky
        self.name = name
        self.report_interval_s = report_interval_s
        self.queues: dict[int, list[int]] = {}
        self.owner: dict[int, int] = {}
        self._center: ContactCenter | None = None
        self._next_round = -np.inf
        self._next_report = -np.inf
        self._pending: list[Outcome] = []

    # ------------------------------------------------------------------ the Policy protocol
    def start(self, center: ContactCenter) -> None:
        self._center = center

    def observe(self, outcomes: Sequence[Outcome]) -> None:
        self._pending.extend(outcomes)

    def decide(self, now: float, queue: np.ndarray, free_agents: Sequence[FreeAgent]) -> list[Decision]:
        center = self._require()
        for agent in [a for a in self.queues if not center.online[a]]:  # gone offline: the queue goes back
            for t in self.queues.pop(agent):
                self.owner.pop(t, None)
        if now >= self._next_round:
            unrouted = [int(t) for t in queue if int(t) not in self.owner]
            if unrouted:
                if now >= self._next_report:
                    self.flush()
                    self._next_report = now + self.report_interval_s
                self._route(now, unrouted)
                self._next_round = now + self.round_interval_s
        decisions = []
        for free in free_agents:
            mine = self.queues.get(free.index, [])
            for t in mine[:free.free_slots]:
                self.owner.pop(t)
                decisions.append(Decision(t, free.index))
            del mine[:free.free_slots]
        return decisions

    # ------------------------------------------------------------------ supervision hooks
    def flush(self) -> None:
        """Report the outcomes seen since the last report to the engine."""
        if not self._pending:
            return
        center = self._require()
        start = center.world.config.start_ts
        rows = [{**ticket_payload(center, o.ticket), "agent_id": center.world.agents.ids[o.agent],
                 "assigned_at": (start + pd.Timedelta(seconds=o.assigned_s)).isoformat(),
                 "closed_at": (start + pd.Timedelta(seconds=o.closed_s)).isoformat(),
                 "handle_time_s": o.handle_time_s, "resolved": o.resolved, "transferred": o.transferred,
                 "reopened": o.reopened, "csat": o.csat, "qa_score": o.qa_score} for o in self._pending]
        self._pending = []
        self.engine.record_outcomes(rows)

    def move(self, ticket_id: str, to_agent_id: str, now: float) -> bool:
        """Hand a waiting ticket to another agent's queue (recorded as a new decision); False if it cannot go."""
        center = self._require()
        t = int(ticket_id.lstrip("T")) - 1
        if t not in self.owner:
            return False
        to = center.world.agents.ids.index(to_agent_id)
        result = self.engine.assign([ticket_payload(center, t)], [{"agent_id": to_agent_id, "free_slots": 1}],
                                    now=self._timestamp(now), commit=True)
        if not result["assignments"]:
            return False
        self.queues[self.owner[t]].remove(t)
        self.queues.setdefault(to, []).append(t)
        self.owner[t] = to
        return True

    def branch(self, engine: Engine) -> PersonalQueues:
        """A copy of this driver's queues on another engine (for a what-if continuation of a copied center)."""
        other = copy.copy(self)
        other.engine = engine
        other.queues = {a: list(q) for a, q in self.queues.items()}
        other.owner = dict(self.owner)
        other._pending = list(self._pending)
        other._center = None
        return other

    # ------------------------------------------------------------------ internals
    def _route(self, now: float, tickets: list[int]) -> None:
        center = self._require()
        ids = center.world.agents.ids
        capacity = center.world.agents.capacity
        online = np.flatnonzero(center.online)
        room = {int(a): int(capacity[a] + self.extra_queue - center.busy[a] - len(self.queues.get(int(a), [])))
                for a in online}
        rest = []
        sticky: dict[int, list[int]] = {}
        for t in tickets:
            last = center.last_agent_of_customer.get(int(center.tickets.customer[t]), -1) if self.sticky else -1
            if last in room and room[last] > len(sticky.get(last, [])) and center.world.eligible(
                    center.tickets.topic[t:t + 1], center.tickets.language[t:t + 1], last)[0]:
                sticky.setdefault(last, []).append(t)
            else:
                rest.append(t)
        when = self._timestamp(now)
        for agent, mine in sticky.items():
            self._commit(mine, [{"agent_id": ids[agent], "free_slots": len(mine)}], when)
            room[agent] -= len(mine)
        agents = [{"agent_id": ids[a], "free_slots": r} for a, r in room.items() if r > 0]
        if rest and agents:
            self._commit(rest, agents, when)

    def _commit(self, tickets: list[int], agents: list[dict[str, Any]], when: pd.Timestamp) -> None:
        center = self._require()
        result = self.engine.assign([ticket_payload(center, t) for t in tickets], agents, now=when, commit=True)
        index = {aid: i for i, aid in enumerate(center.world.agents.ids)}
        for a in result["assignments"]:
            t, agent = int(a["ticket_id"].lstrip("T")) - 1, index[a["agent_id"]]
            self.queues.setdefault(agent, []).append(t)
            self.owner[t] = agent

    def _timestamp(self, now: float) -> pd.Timestamp:
        return self._require().world.config.start_ts + pd.Timedelta(seconds=now)

    def _require(self) -> ContactCenter:
        assert self._center is not None, "start(center) first"
        return self._center


def ticket_payload(center: ContactCenter, t: int) -> dict[str, Any]:
    """A simulated ticket as a routing service sends it (contract names)."""
    tk, start = center.tickets, center.world.config.start_ts
    created = start + pd.Timedelta(seconds=float(tk.created_s[t]))
    return {"ticket_id": f"T{t + 1:07d}", "created_at": created.isoformat(),
            "topic": TOPICS[tk.topic[t]], "channel": CHANNELS[tk.channel[t]], "language": LANGUAGES[tk.language[t]],
            "priority": int(tk.priority[t]), "customer_id": f"C{int(tk.customer[t]) + 1:06d}",
            "customer_tier": TIERS[int(tk.vip[t])], "sentiment": float(tk.sentiment[t]),
            "message_words": int(tk.message_words[t])}
