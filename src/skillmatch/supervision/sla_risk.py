"""SLA risk: the probability that an open ticket is answered after its channel's time target.

A ticket is answered when its agent starts on it. The agent works its queue in assignment order with
`capacity` parallel slots (`queues.py`); handle times are lognormal around the predicted value, with
the bias and spread of log(actual / predicted) over the live history's closed tickets. A seeded Monte
Carlo draws the remaining time of the tickets in a slot (conditioned on the time already spent on
them), then the start of each waiting ticket when the first slot frees. Time the agent spends outside
the queue (training, campaigns) pushes a start past the end of that period.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from skillmatch.ledger import WorkItem
from skillmatch.supervision.queues import QueueState

DEFAULT_HANDLE_S = 600.0
"""Handle time assumed for a ticket routed without a prediction (before the median of the queue's is known)."""


@dataclass(frozen=True)
class HandleSpread:
    """log(actual handle time / predicted) ~ Normal(bias, sd); `source` says where it was estimated."""

    bias: float
    sd: float
    n: int
    source: str


@dataclass(frozen=True)
class TicketRisk:
    """One open ticket's state in its agent's queue and its probability of missing the target."""

    item: WorkItem
    state: str  # "in_progress" (holds a slot) or "waiting"
    position: int  # 0 = first in the agent's queue
    sla_s: float
    deadline_s: float
    p_miss: float
    start_s: float  # estimated (in a slot) or median predicted start (waiting)
    ahead_work_s: float  # expected work ahead of it in the queue (slot-seconds)
    breached: bool  # already past the target: waiting after its deadline, or started after it


def handle_spread(items: Sequence[WorkItem], fallback_residuals: np.ndarray, min_n: int, min_sd: float
                  ) -> HandleSpread:
    """Bias and spread of log(actual / predicted) handle time over closed tickets; fallback: the training history's."""
    resid = np.array([math.log(w.handle_time_s / w.predicted_handle_s) for w in items
                      if not w.is_open and w.handle_time_s and w.predicted_handle_s
                      and w.handle_time_s > 0 and w.predicted_handle_s > 0], dtype=float)
    if len(resid) >= min_n:
        return HandleSpread(float(np.mean(resid)), max(float(np.std(resid, ddof=1)), min_sd), len(resid),
                            "live predictions")
    fallback = np.asarray(fallback_residuals, dtype=float)
    fallback = fallback[np.isfinite(fallback)]
    if len(fallback) >= min_n:
        return HandleSpread(0.0, max(float(np.std(fallback, ddof=1)), min_sd), len(fallback), "training history")
    return HandleSpread(0.0, max(0.5, min_sd), 0, "default")


@dataclass(frozen=True)
class QueueRisk:
    """The risk of each open ticket of one queue, and the expected work left in it (slot-seconds)."""

    tickets: list[TicketRisk]
    work_s: float


def queue_risk(queue: QueueState, now_s: float, sla_of: Callable[[WorkItem], float], spread: HandleSpread,
               rng: np.random.Generator, samples: int, blocked: Sequence[tuple[float, float]] = ()) -> QueueRisk:
    """Risk of every open ticket of one agent's queue at `now_s`; `blocked` are the agent's periods out of the queue."""
    medians = np.array([w.predicted_handle_s for w in queue.open if w.predicted_handle_s], dtype=float)
    fill = float(np.median(medians)) if len(medians) else DEFAULT_HANDLE_S
    log_median = {id(w): math.log(w.predicted_handle_s or fill) + spread.bias for w in queue.open}
    mean_factor = math.exp(spread.sd ** 2 / 2)
    slots = np.full((samples, queue.capacity), now_s)
    out: list[TicketRisk] = []
    for k, (item, started) in enumerate(zip(queue.in_progress, queue.started_s)):
        elapsed = max(now_s - started, 0.0)
        slots[:, k] = now_s + _remaining(log_median[id(item)], spread.sd, elapsed, rng, samples)
        sla = sla_of(item)
        deadline = item.created_at.timestamp() + sla
        late = started > deadline
        out.append(TicketRisk(item, "in_progress", k, sla, deadline, float(late), started, 0.0, late))
    ahead = sum(float(np.mean(slots[:, k] - now_s)) for k in range(len(queue.in_progress)))
    rows = np.arange(samples)
    for j, item in enumerate(queue.waiting):
        first = np.argmin(slots, axis=1)
        start = _outside(slots[rows, first], blocked)
        sla = sla_of(item)
        deadline = item.created_at.timestamp() + sla
        median = log_median[id(item)]
        out.append(TicketRisk(item, "waiting", len(queue.in_progress) + j, sla, deadline,
                              float(np.mean(start > deadline)), float(np.median(start)), ahead, now_s > deadline))
        slots[rows, first] = start + np.exp(median + spread.sd * rng.standard_normal(samples))
        ahead += math.exp(median) * mean_factor
    return QueueRisk(out, ahead)


def _remaining(log_median: float, sd: float, elapsed_s: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """Draws of the time left on a ticket already handled for `elapsed_s`: lognormal conditioned on exceeding it."""
    floor = ndtr((math.log(elapsed_s) - log_median) / sd) if elapsed_s > 0 else 0.0
    u = floor + (1.0 - floor) * rng.random(n)
    total = np.exp(log_median + sd * ndtri(np.clip(u, 1e-12, 1.0 - 1e-12)))
    return np.maximum(total - elapsed_s, 0.0)


def _outside(start: np.ndarray, blocked: Sequence[tuple[float, float]]) -> np.ndarray:
    """Starts that fall in a period out of the queue move to its end (periods sorted; chained ones followed)."""
    for a, b in sorted(blocked):
        start = np.where((start >= a) & (start < b), b, start)
    return start
