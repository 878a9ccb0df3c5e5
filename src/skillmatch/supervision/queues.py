"""Each agent's queue as the ledger shows it: what is being handled (since when) and what waits, in order.

An agent works its routed tickets in assignment order with `capacity` parallel slots. Replaying the
agent's routed work (closed tickets free their slot when they closed) gives, for the open tickets,
which ones hold a slot now and since when, and which ones wait behind them.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from skillmatch.ledger import WorkItem


@dataclass(frozen=True)
class QueueState:
    """One agent's open work at `now_s`: tickets in a slot with their estimated start, then the waiting ones."""

    agent_id: str
    capacity: int
    in_progress: tuple[WorkItem, ...]
    started_s: tuple[float, ...]
    waiting: tuple[WorkItem, ...]

    @property
    def open(self) -> tuple[WorkItem, ...]:
        """Every open ticket, in queue order."""
        return self.in_progress + self.waiting

    @property
    def idle_slots(self) -> int:
        """Slots holding no open ticket."""
        return max(self.capacity - len(self.in_progress), 0)


def replay_queue(agent_id: str, items: Sequence[WorkItem], capacity: int) -> QueueState:
    """The open work of one agent from its routed tickets (any order; replayed by decision time).

    A closed ticket handled out of order (while every slot held an open ticket) leaves the slots as they are.
    """
    if capacity < 1:
        raise ValueError(f"capacity >= 1, got {capacity}")
    slots: list[float] = [-math.inf] * capacity  # when each slot frees; +inf: held by an open ticket
    in_progress, started, waiting = [], [], []
    for item in sorted(items, key=lambda w: w.decided_at):
        decided = item.decided_at.timestamp()
        if item.is_open:
            free = heapq.heappop(slots)
            heapq.heappush(slots, math.inf)
            if free == math.inf:
                waiting.append(item)
            else:
                in_progress.append(item)
                started.append(max(decided, free))
        elif slots[0] != math.inf:
            heapq.heapreplace(slots, item.closed_at.timestamp())  # type: ignore[union-attr]
    return QueueState(agent_id, capacity, tuple(in_progress), tuple(started), tuple(waiting))


def agent_queues(items: Iterable[WorkItem], capacity_of: Mapping[str, int], default_capacity: int = 1
                 ) -> dict[str, QueueState]:
    """Queue states of the agents with open work among `items` (capacity: the latest decision's, else the map's)."""
    by_agent: dict[str, list[WorkItem]] = {}
    for item in items:
        by_agent.setdefault(item.agent_id, []).append(item)
    out = {}
    for agent_id, mine in by_agent.items():
        if not any(w.is_open for w in mine):
            continue
        latest = max(mine, key=lambda w: w.decided_at)
        capacity = latest.capacity or capacity_of.get(agent_id) or default_capacity
        out[agent_id] = replay_queue(agent_id, mine, int(capacity))
    return out
