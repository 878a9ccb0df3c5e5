"""The state of the floor at one moment: open work per agent, its SLA risk, who is away, who is overloaded."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from skillmatch.ledger import UnavailablePeriod, WorkItem
from skillmatch.scoring.availability import available_share
from skillmatch.supervision.queues import QueueState, agent_queues
from skillmatch.supervision.rules import SupervisionRules
from skillmatch.supervision.sla_risk import HandleSpread, QueueRisk, handle_spread, queue_risk


@dataclass(frozen=True)
class Overload:
    """An agent whose committed work does not fit: more than the window has left, or tickets bound to be late."""

    agent_id: str
    capacity: int
    work_s: float  # expected work left in the queue, in wall-clock seconds at the agent's capacity
    available_s: float  # time left in the window, less time out of the queue
    at_risk: int  # waiting tickets likely to miss their target (not yet past it)
    late: int  # waiting tickets already past their target
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Board:
    """Everything the supervisor's answers at `now` are computed from, read once from the ledger."""

    now: datetime
    items: list[WorkItem]
    queues: dict[str, QueueState]
    risks: dict[str, QueueRisk]
    spread: HandleSpread
    periods: dict[str, list[UnavailablePeriod]]
    away: frozenset[str]
    available: tuple[str, ...]
    overload: dict[str, Overload]
    capacity: dict[str, int]

    def open_count(self, agent_id: str) -> int:
        """Open tickets routed to the agent."""
        queue = self.queues.get(agent_id)
        return len(queue.open) if queue is not None else 0

    def spare(self, agent_id: str) -> int:
        """Slots the agent has free now (capacity less open tickets)."""
        return max(self.capacity.get(agent_id, 1) - self.open_count(agent_id), 0)

    def blocked(self, agent_id: str) -> list[tuple[float, float]]:
        """The agent's periods out of the queue, as POSIX seconds."""
        return [(p.start_at.timestamp(), p.end_at.timestamp()) for p in self.periods.get(agent_id, [])]


def build_board(now: datetime, items: list[WorkItem], periods: Sequence[UnavailablePeriod],
                roster_capacity: Mapping[str, int], fallback_residuals: np.ndarray, window_end: datetime,
                sla_of: Callable[[WorkItem], float], rules: SupervisionRules,
                available: Sequence[str] | None = None) -> Board:
    """Replay the queues, draw their risk, find who is away and who is overloaded (as known at `now`)."""
    now_s = now.timestamp()
    items = [w if w.closed_at is None or w.closed_at <= now else replace(w, closed_at=None, handle_time_s=None)
             for w in items if w.decided_at <= now]
    by_agent: dict[str, list[UnavailablePeriod]] = {}
    for p in periods:
        by_agent.setdefault(p.agent_id, []).append(p)
    away = frozenset(a for a, ps in by_agent.items() if any(p.start_at <= now < p.end_at for p in ps))
    capacity = dict(roster_capacity)
    for item in items:  # latest decision's capacity wins (what the routing service sent)
        if item.capacity:
            capacity[item.agent_id] = int(item.capacity)
    queues = agent_queues(items, capacity)
    spread = handle_spread(items, fallback_residuals, rules.min_residuals, rules.min_spread)
    risks = {a: queue_risk(q, now_s, sla_of, spread, np.random.default_rng(rules.seed), rules.samples,
                           [(p.start_at.timestamp(), p.end_at.timestamp()) for p in by_agent.get(a, [])])
             for a, q in queues.items()}
    if available is None:
        recent = now_s - rules.active_within_s
        active = {w.agent_id for w in items if w.decided_at.timestamp() >= recent
                  or (w.closed_at is not None and w.closed_at.timestamp() >= recent)}
        available = sorted(active | set(queues))
    free = tuple(a for a in dict.fromkeys(available) if a not in away)
    overload = {}
    for a, risk in risks.items():
        flag = _overload(a, queues[a].capacity, risk, by_agent.get(a, []), now, window_end, rules)
        if flag is not None:
            overload[a] = flag
    return Board(now, items, queues, risks, spread, by_agent, away, free, overload, capacity)


def _overload(agent_id: str, capacity: int, risk: QueueRisk, periods: list[UnavailablePeriod], now: datetime,
              window_end: datetime, rules: SupervisionRules) -> Overload | None:
    """The overload flag of one agent, or None when the queue fits."""
    left_s = max((window_end - now).total_seconds(), 0.0)
    share = available_share([(p.start_at.timestamp(), p.end_at.timestamp()) for p in periods], now.timestamp(),
                            now.timestamp() + left_s) if left_s > 0 else 0.0
    available_s = left_s * share
    work_s = risk.work_s / capacity
    waiting = [r for r in risk.tickets if r.state == "waiting"]
    at_risk = sum(1 for r in waiting if not r.breached and r.p_miss >= rules.risk_threshold)
    late = sum(1 for r in waiting if r.breached)
    reasons = []
    if work_s > available_s:
        reasons.append(f"{_hours(work_s)} of committed work and {_hours(available_s)} left in the window")
    if at_risk:
        reasons.append(f"{at_risk} waiting ticket{'s' if at_risk > 1 else ''} likely to miss the target")
    if not reasons:
        return None  # tickets already late alone are alerts of their own, not an overload
    if late:
        reasons.append(f"{late} waiting ticket{'s' if late > 1 else ''} already past the target")
    return Overload(agent_id, capacity, round(work_s, 1), round(available_s, 1), at_risk, late, tuple(reasons))


def window_end(window_start: datetime, hours: float) -> datetime:
    """The end of the policy window that starts at `window_start`."""
    return window_start + timedelta(hours=hours)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"
