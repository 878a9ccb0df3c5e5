"""Claim next: the one ticket an agent should take now, never one a better-suited free agent should take instead."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from skillmatch.solver.assignment import lexicographic_value, optimal_matching
from skillmatch.solver.slots import match_slots
from skillmatch.solver.validation import check_eligible, check_score, check_slots

NO_ELIGIBLE_TICKET = "no_eligible_ticket"
BETTER_SUITED_AGENTS_TAKE_THE_REST = "better_suited_agents_take_the_rest"
CLAIMING_AGENT = 0
TIE_REL_TOL = 1e-9


@dataclass(frozen=True)
class ClaimChoice:
    """The ticket row the claiming agent should take, or None with a reason code."""

    ticket: int | None
    reason: str | None


def claim_next(score: np.ndarray, eligible: np.ndarray, others_free_slots: np.ndarray) -> ClaimChoice:
    """The ticket the claiming agent (column 0) receives in an optimal joint round with the other free agents.

    `score` and `eligible` are `(n_tickets, n_agents)`: column 0 is the claiming agent, who has one free slot
    for this claim; columns 1.. are the other free agents, `others_free_slots` `(n_agents - 1,)` their slots.

    Definition. Let J be an optimal joint assignment of the queue to {the agent with 1 slot} U others, as
    `solve_round(..., place_all=True)` defines it (most tickets placed, then highest total score).
    - Among optimal J, one in which the agent receives a ticket is preferred (ties broken toward the
      agent), and the agent receives its ticket in that J.
    - If no optimal J gives the agent a ticket although it has eligible ones, it receives nothing
      (reason "better_suited_agents_take_the_rest"): every ticket it could take is better placed with
      another free agent right now. (The definition's fallback, "the best eligible ticket J leaves
      unassigned", never applies: J places the most tickets, so while the agent's slot is unused in J
      every ticket eligible for it is placed with someone else.)
    - With no eligible ticket the reason is "no_eligible_ticket".

    Never robs: the returned ticket t is one that J does not give to another agent, and
    score[t, 0] + (optimum of the others on the queue without t) == value of J: taking t leaves the others
    exactly the joint optimum minus the agent's own contribution. With no other agents this is simply the
    agent's best-scoring eligible ticket (lowest row on ties). Score ties are judged within float rounding:
    totals within 1e-9 relative, or 1e-9 of the larger of 1 and the largest score.
    """
    score = check_score(score)
    eligible = check_eligible(eligible, score.shape)
    n_agents = score.shape[1]
    if n_agents == 0:
        raise ValueError("score must have the claiming agent in column 0, got 0 agent columns")
    others_free_slots = check_slots(others_free_slots, n_agents - 1, name="others_free_slots")
    mine = eligible[:, CLAIMING_AGENT]
    if not mine.any():
        return ClaimChoice(None, NO_ELIGIBLE_TICKET)
    if n_agents == 1:
        candidates = np.flatnonzero(mine)
        return ClaimChoice(int(candidates[np.argmax(score[candidates, CLAIMING_AGENT])]), None)
    free_slots = np.concatenate([[1], others_free_slots])
    joint = optimal_matching(score, eligible, free_slots, place_all=True)
    mine_in_joint = np.flatnonzero(joint == CLAIMING_AGENT)
    if mine_in_joint.size:
        return ClaimChoice(int(mine_in_joint[0]), None)
    joint_placed = np.flatnonzero(joint >= 0)
    joint_total = float(score[joint_placed, joint[joint_placed]].sum())
    # The agent could be placed: some optimum of equally many pairs covers it (transversal-matroid
    # exchange), so the best such assignment has as many pairs as J; it is an optimum iff its score ties J's.
    n_pairs = min(score.shape[0], int(free_slots.sum()))
    value = lexicographic_value(score, eligible, n_pairs, favoured_agent=CLAIMING_AGENT)
    favoured = match_slots(value, eligible, free_slots, maximum_cardinality=True)
    mine_in_favoured = np.flatnonzero(favoured == CLAIMING_AGENT)
    placed = np.flatnonzero(favoured >= 0)
    favoured_total = float(score[placed, favoured[placed]].sum())
    scale = max(float(np.abs(score[eligible]).max()), 1.0)  # scores far below 1 differ by rounding too
    if (mine_in_favoured.size and placed.size == joint_placed.size
            and math.isclose(favoured_total, joint_total, rel_tol=TIE_REL_TOL, abs_tol=TIE_REL_TOL * scale)):
        return ClaimChoice(int(mine_in_favoured[0]), None)
    return ClaimChoice(None, BETTER_SUITED_AGENTS_TAKE_THE_REST)
