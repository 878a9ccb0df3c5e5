"""Hand-back: which of an overloaded agent's waiting tickets go to whom, so that the rest start in time.

While waiting tickets of the queue are at risk (likely to miss their target, not past it yet), one
ticket at or ahead of the last of them may leave the queue for another agent with a free slot. A move
counts only when it saves more expected misses than it costs, by a margin: the misses it takes out of
this queue (the ticket's own, and the tickets behind it starting sooner) against the misses it pushes
onto the target's own next arrivals, which find that slot taken (`displaced`). Among the moves that
pay, the one that loses least by moving is made: the best routing score at the target against the
score here, less an affinity cost when the customer is this agent's repeat customer. The tickets chosen
are then placed on the targets together by the engine's solver (the exact optimum of that small round).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from skillmatch.solver import solve_round
from skillmatch.supervision.queues import QueueState
from skillmatch.supervision.sla_risk import QueueRisk, TicketRisk

Displaced = Callable[[int, int, int], float]
"""(ticket row, target column, target's free slots left) -> expected misses among the target's own arrivals."""


@dataclass(frozen=True)
class Move:
    """One ticket to hand back, and the agent to give it to (None: no free agent may take it now)."""

    ticket_id: str
    customer_id: str | None
    to_agent_id: str | None
    repeat_customer: bool
    p_miss_if_kept: float
    score_here: float
    score_there: float | None
    misses_saved: float = 0.0  # expected, net of the misses pushed onto the target's next arrivals
    already_late: bool = False


@dataclass(frozen=True)
class HandBackPlan:
    """The moves for one agent and the expected missed targets among its waiting tickets, before and after."""

    agent_id: str
    moves: tuple[Move, ...]
    kept: tuple[str, ...]
    expected_misses_before: float
    expected_misses_after: float


def plan_hand_back(queue: QueueState, risk: Callable[[QueueState], QueueRisk], score: np.ndarray,
                   eligible: np.ndarray, targets: Sequence[str], spare: np.ndarray, repeat: np.ndarray,
                   threshold: float, affinity_cost: float, displaced: Displaced | None = None,
                   min_saved: float = 0.0) -> HandBackPlan:
    """Plan the hand-back of `queue`'s waiting tickets.

    `score` and `eligible` are (n_waiting, 1 + n_targets): column 0 is this agent, then `targets`, whose
    free slots are `spare` (n_targets,); `repeat` (n_waiting,) marks this agent's repeat customers;
    `displaced` prices a target's slot (default: free, nothing of its own arrives meanwhile); a move must save
    more than `min_saved` expected misses, net.
    """
    waiting = list(queue.waiting)
    n, m = len(waiting), len(targets)
    if score.shape != (n, 1 + m) or eligible.shape != (n, 1 + m) or spare.shape != (m,) or repeat.shape != (n,):
        raise ValueError(f"shapes: score/eligible ({n}, {1 + m}), spare ({m},), repeat ({n},); got {score.shape}, "
                         f"{eligible.shape}, {spare.shape}, {repeat.shape}")
    price = displaced or (lambda i, b, left: 0.0)

    def expected(rows: list[int]) -> tuple[list[TicketRisk], float]:
        risks = _waiting_risk(risk(replace(queue, waiting=tuple(waiting[i] for i in rows))))
        return risks, sum(r.p_miss for r in risks)

    first, before = expected(list(range(n)))
    late = {i for i, r in enumerate(first) if r.breached}
    kept, left = list(range(n)), spare.astype(int).copy()
    chosen: list[tuple[int, float]] = []
    while True:
        current, base = expected(kept)
        at_risk = [pos for pos, r in enumerate(current) if r.p_miss >= threshold and not r.breached]
        if not at_risk:
            break
        best: tuple[float, int, int, float] | None = None
        for i in kept[:at_risk[-1] + 1]:
            columns = np.flatnonzero(eligible[i, 1:] & (left > 0))
            if not len(columns):
                continue
            saved = base - expected([k for k in kept if k != i])[1] - float(i in late)  # late stays late
            for b in columns:
                net = saved - price(i, int(b), int(left[b]))
                if net <= min_saved:
                    continue
                gain = float(score[i, 1 + b] - score[i, 0] - affinity_cost * repeat[i])
                if best is None or gain > best[0]:
                    best = (gain, i, int(b), net)
        if best is None:
            break
        _, i, b, net = best
        chosen.append((i, net))
        kept.remove(i)
        left[b] -= 1
    after = expected(kept)[1]
    to = _place([i for i, _ in chosen], score[:, 1:], eligible[:, 1:], spare)
    moves = tuple(Move(ticket_id=waiting[i].ticket_id, customer_id=waiting[i].customer_id,
                       to_agent_id=targets[b] if b >= 0 else None, repeat_customer=bool(repeat[i]),
                       p_miss_if_kept=round(first[i].p_miss, 4), score_here=round(float(score[i, 0]), 4),
                       score_there=round(float(score[i, 1 + b]), 4) if b >= 0 else None,
                       misses_saved=round(net, 3), already_late=i in late)
                  for (i, net), b in zip(chosen, to))
    return HandBackPlan(queue.agent_id, moves, tuple(waiting[i].ticket_id for i in kept), round(before, 3),
                        round(after, 3))


def displaced_misses(rate_per_s: float, handle_s: float, free_left: int) -> float:
    """Expected arrivals that find no free slot while a moved ticket holds one for `handle_s`.

    Arrivals of tickets whose target is shorter than the hold come at `rate_per_s` (Poisson); the first
    `free_left - 1` still find a free slot; each one after that would wait, and miss.
    """
    mu = max(rate_per_s, 0.0) * max(handle_s, 0.0)
    k = max(free_left - 1, 0)
    n = np.arange(k)
    pmf = np.exp(-mu + n * np.log(mu) - np.array([np.sum(np.log(np.arange(1, j + 1))) for j in n])) if mu > 0 \
        else (n == 0).astype(float)
    return float(mu - k + np.sum((k - n) * pmf))


def _waiting_risk(risks: QueueRisk) -> list[TicketRisk]:
    return [r for r in risks.tickets if r.state == "waiting"]


def _place(chosen: list[int], score: np.ndarray, eligible: np.ndarray, spare: np.ndarray) -> list[int]:
    """The chosen tickets on the targets jointly (the solver's exact optimum); -1 where none can take one."""
    if not chosen:
        return []
    solution = solve_round(score[chosen], eligible[chosen], spare.astype(int), place_all=True)
    return [int(a) for a in solution.agent_of_ticket]
