"""The parts of a routing score, each a pure array function over a round's (n_tickets, n_agents) pairs.

`score = w_match * match + w_fairness * fairness + w_growth * growth + urgency` (see `score.py`).
"""
from __future__ import annotations

import numpy as np

from skillmatch.config import Guardrails, MatchValue, Urgency

FAIRNESS_PRIOR_TICKETS = 5.0
"""Pseudo-tickets at the center's mean difficulty: an agent's first tickets barely move its fairness."""


def match_value(p_resolve: np.ndarray, handle_time_s: np.ndarray, csat: np.ndarray, handle_ref_s: np.ndarray,
                value: MatchValue) -> np.ndarray:
    """Business value of each pair's predicted outcome, (n_tickets, n_agents).

    Resolution counts in probability; satisfaction as (csat - 3) / 2 in [-1, 1] where predicted (0
    otherwise); handle time as -log(predicted / the ticket's reference handle time), so being faster
    than a typical agent on this ticket counts, not being fast on easy tickets.
    """
    satisfaction = np.where(np.isnan(csat), 0.0, (csat - 3.0) / 2.0)
    speed = -np.log(np.maximum(handle_time_s, 1.0) / np.maximum(handle_ref_s, 1.0)[:, None])
    return value.resolve * p_resolve + value.csat * satisfaction + value.handle_time * np.clip(speed, -2.0, 2.0)


def urgency(priority: np.ndarray, waited_s: np.ndarray, sla_s: np.ndarray, weights: Urgency) -> np.ndarray:
    """Per ticket, (n_tickets,): priority plus waiting against the channel's target, growing without bound.

    log1p of waited / target keeps growing, so no ticket starves; a ticket past its target gets a
    further step so that it outranks fresh tickets of equal match. Aging: a ticket that has waited
    longer than `max_wait_s`, whatever its channel's target, gets `aging` (large against match
    differences) plus as much again per log1p of the overrun, so the backlog of slow channels is not
    skipped for ever by newer work on fast ones, and aged tickets come roughly oldest first.
    """
    waited = np.maximum(waited_s, 0.0)
    ratio = waited / sla_s
    overrun = np.maximum(waited - weights.max_wait_s, 0.0) / weights.max_wait_s
    return (weights.priority * (4.0 - np.clip(priority, 1, 4)) + weights.waiting * np.log1p(ratio)
            + weights.breach * (ratio > 1.0)
            + weights.aging * (waited > weights.max_wait_s) * (1.0 + np.log1p(overrun)))


def carried_mean(difficulty_sum: np.ndarray, n_assigned: np.ndarray, center_mean: float) -> np.ndarray:
    """Each agent's mean difficulty carried in the window, shrunk toward the center's mean, (n_agents,)."""
    return (difficulty_sum + FAIRNESS_PRIOR_TICKETS * center_mean) / (n_assigned + FAIRNESS_PRIOR_TICKETS)


def fairness(difficulty: np.ndarray, carried: np.ndarray, center_mean: float, center_sd: float) -> np.ndarray:
    """Pushes hard tickets toward agents below their fair share of difficulty and away from those above.

    The fair share is the center's mix: each agent should carry tickets as hard, on average, as
    everyone's. Comparing mixes rather than totals pro-rates by time online and capacity and does
    not punish fast agents for the volume they clear. Positive when (ticket harder than average)
    meets (agent carrying easier than average) or the reverse; in [-1, 1], (n_tickets, n_agents).
    """
    scale = max(center_sd, 1e-3) ** 2
    raw = -np.outer(difficulty - center_mean, carried - center_mean) / scale
    return np.clip(raw, -1.0, 1.0)


def protected(tier: np.ndarray, sentiment: np.ndarray, priority: np.ndarray, rails: Guardrails) -> np.ndarray:
    """Customers who never get a stretch assignment: protected tiers, very negative sentiment, top priority."""
    tiers = {t.lower() for t in rails.protected_tiers}
    values = np.asarray(tier, dtype=object).tolist()
    of_tier = {t: t is not None and str(t).lower() in tiers for t in dict.fromkeys(values)}  # per distinct tier
    in_tier = np.fromiter(map(of_tier.__getitem__, values), dtype=bool, count=len(values))
    upset = np.where(np.isnan(sentiment), False, sentiment < rails.protected_sentiment_below)
    return in_tier | upset | (priority <= rails.protected_priority_at_most)


def growth(in_growth_topic: np.ndarray, is_protected: np.ndarray, p_resolve: np.ndarray, eligible: np.ndarray,
           quota_left: np.ndarray, max_loss: float) -> np.ndarray:
    """1 where a pair is an allowed stretch assignment, else 0, (n_tickets, n_agents).

    Allowed: the ticket's topic is one of the agent's growth topics, the customer is not
    protected, the agent has quota left in the window, and the predicted P(resolved) is within
    `max_loss` of the best eligible alternative for that ticket (customers don't pay for training).
    """
    best = np.where(eligible, p_resolve, -np.inf).max(axis=1, initial=-np.inf)
    within = p_resolve >= best[:, None] - max_loss
    allowed = in_growth_topic & ~is_protected[:, None] & (quota_left > 0)[None, :] & within & eligible
    return allowed.astype(float)
