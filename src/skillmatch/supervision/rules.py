"""What a supervisor's view is told: the risk threshold, the simulation size, the mentor bar, the affinity cost."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SupervisionRules:
    """Settings of SLA risk, overload, hand-back and mentor matching (defaults suit a mid-sized center)."""

    risk_threshold: float = 0.5
    """An open ticket is at risk when its predicted probability of missing the channel's target reaches this."""
    samples: int = 400
    """Monte Carlo draws of the agents' handle times per queue (seeded: the same ledger gives the same risk)."""
    seed: int = 0
    lookback_hours: float = 24.0
    """Work routed longer ago than this is not open work any more (an outcome that never came)."""
    min_residuals: int = 30
    """Closed tickets needed to take the handle-time spread from live predictions; fewer: the training history."""
    min_spread: float = 0.05
    """Floor of the log handle-time spread (a perfect history must not make the queue certain)."""
    active_within_s: float = 3600.0
    """Without a list of available agents, those with work routed or closed this recently count as available."""
    affinity_cost: float = 0.25
    """Score cost of moving a repeat customer away from the agent who served them (in routing-score units)."""
    min_misses_saved: float = 0.1
    """A hand-back is suggested only when it saves at least this many expected misses, net (estimates are noisy)."""
    arrival_window_s: float = 3600.0
    """A hand-back target's own arrivals are counted over this much recent time (their rate prices its free slot)."""
    mentor_min_outcomes: int = 40
    """Outcomes in a topic a mentor needs in the live history."""
    mentor_min_proficiency: float = 0.03
    """The proficiency bar: a mentor's resolution above a typical agent's on the same tickets, lower bound."""
    mentor_z: float = 1.0
    """How many standard errors below the estimate the lower bound lies (stability)."""
    mentor_max_decline: float = 0.05
    """A mentor whose proficiency fell more than this over the trend period is not stable."""
    mentors_per_topic: int = 3
    trend_days: float = 7.0
    """A trend compares the last this many days with the time before."""
    min_trend_outcomes: int = 10
    """Outcomes needed on each side of the trend's cut before a trend is stated."""

    def __post_init__(self) -> None:
        if not 0.0 < self.risk_threshold < 1.0:
            raise ValueError(f"risk_threshold in (0, 1), got {self.risk_threshold}")
        for name in ("samples", "min_residuals", "mentor_min_outcomes", "mentors_per_topic", "min_trend_outcomes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} >= 1, got {getattr(self, name)}")
        for name in ("lookback_hours", "active_within_s", "trend_days", "min_spread", "arrival_window_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} > 0, got {getattr(self, name)}")
        if min(self.affinity_cost, self.mentor_z, self.mentor_max_decline, self.min_misses_saved) < 0:
            raise ValueError("affinity_cost, mentor_z, mentor_max_decline and min_misses_saved >= 0")
