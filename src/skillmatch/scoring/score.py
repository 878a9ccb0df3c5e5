"""The score matrix of a round: weighted components per (ticket, agent) pair, with each part kept for reasons."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skillmatch.config import PolicyConfig, Weights
from skillmatch.scoring import components


@dataclass(frozen=True)
class RoundInputs:
    """Everything the score needs, as arrays. Pair arrays are (n_tickets, n_agents); nan where ineligible."""

    p_resolve: np.ndarray
    handle_time_s: np.ndarray
    csat: np.ndarray
    difficulty: np.ndarray  # (n_tickets,)
    handle_ref_s: np.ndarray  # (n_tickets,)
    priority: np.ndarray  # (n_tickets,)
    waited_s: np.ndarray  # (n_tickets,)
    sla_s: np.ndarray  # (n_tickets,)
    protected: np.ndarray  # (n_tickets,) bool
    in_growth_topic: np.ndarray  # (n_tickets, n_agents) bool
    eligible: np.ndarray  # (n_tickets, n_agents) bool
    carried: np.ndarray  # (n_agents,) mean difficulty carried in the window (shrunk)
    quota_left: np.ndarray  # (n_agents,) stretch tickets the agent may still get in the window
    center_mean: float  # mean difficulty of the center's tickets
    center_sd: float


@dataclass(frozen=True)
class ScoreMatrix:
    """Total score and its weighted parts, each (n_tickets, n_agents) (urgency broadcast per ticket)."""

    total: np.ndarray
    match: np.ndarray
    fairness: np.ndarray
    growth: np.ndarray
    urgency: np.ndarray
    stretch: np.ndarray  # bool: the pair is an allowed stretch assignment


def score_round(inputs: RoundInputs, policy: PolicyConfig, weights: Weights | None = None) -> ScoreMatrix:
    """Combine match, fairness, growth and urgency; ineligible pairs get 0 (the solver masks them)."""
    w = weights or policy.weights
    eligible = inputs.eligible
    every_pair = bool(eligible.all())  # as in most claims: nothing to mask (the same values, fewer passes)
    p = inputs.p_resolve if every_pair else np.where(eligible, inputs.p_resolve, 0.0)
    handle = inputs.handle_time_s if every_pair else np.where(eligible, inputs.handle_time_s, 1.0)
    csat = inputs.csat if every_pair else np.where(eligible, inputs.csat, np.nan)
    match = w.match * components.match_value(p, handle, csat, inputs.handle_ref_s, policy.match)
    fair = w.fairness * components.fairness(inputs.difficulty, inputs.carried, inputs.center_mean, inputs.center_sd)
    stretch = components.growth(inputs.in_growth_topic, inputs.protected, p, eligible, inputs.quota_left,
                                policy.guardrails.max_loss).astype(bool)
    grow = w.growth * stretch
    urgent = np.broadcast_to(components.urgency(inputs.priority, inputs.waited_s, inputs.sla_s, policy.urgency)[:, None],
                             match.shape)
    total = match + fair + grow + urgent
    if every_pair:
        return ScoreMatrix(total=total, match=match, fairness=fair, growth=grow, urgency=np.array(urgent),
                           stretch=stretch)
    total = np.where(eligible, total, 0.0)
    zero = np.zeros_like(total)
    return ScoreMatrix(total=total, match=np.where(eligible, match, zero), fairness=np.where(eligible, fair, zero),
                       growth=np.where(eligible, grow, zero), urgency=np.where(eligible, urgent, zero),
                       stretch=stretch & eligible)
