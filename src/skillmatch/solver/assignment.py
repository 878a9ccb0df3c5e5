"""One routing round solved exactly: tickets to agents with capacities, and a reason code for every ticket left over.

Reason codes (wording for people happens at the edge):
- "no_eligible_agent": the mask row is all False, no agent in the round could ever take the ticket;
- "eligible_agents_full": eligible agents exist but none has a free slot;
- "not_worth_placing": only with place_all=False, every eligible agent with a free slot scores it <= 0;
- "outranked": eligible agents had free slots, but the optimum gave those slots to other tickets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skillmatch.solver.slots import UNASSIGNED, match_slots
from skillmatch.solver.validation import check_eligible, check_score, check_slots

NO_ELIGIBLE_AGENT = "no_eligible_agent"
ELIGIBLE_AGENTS_FULL = "eligible_agents_full"
NOT_WORTH_PLACING = "not_worth_placing"
OUTRANKED = "outranked"


@dataclass(frozen=True, eq=False)
class RoundSolution:
    """The answer of one round: who takes each ticket, the score it adds up to, and why the rest wait."""

    agent_of_ticket: np.ndarray
    """`(n_tickets,)` int agent column index, -1 when unassigned (read-only)."""
    total_score: float
    """Sum of `score` over the placed pairs."""
    unassigned_reason: tuple[str | None, ...]
    """Per ticket: None when placed, else one of the reason codes of this module."""

    @property
    def n_placed(self) -> int:
        """Number of tickets placed in this round."""
        return int((self.agent_of_ticket != UNASSIGNED).sum())


def solve_round(score: np.ndarray, eligible: np.ndarray, free_slots: np.ndarray, *,
                place_all: bool = True) -> RoundSolution:
    """The exact optimum of one round: each ticket at most once, agent a at most free_slots[a], only eligible pairs.

    `score` is `(n_tickets, n_agents)`, higher is better and may be negative; `eligible` is a boolean
    `(n_tickets, n_agents)` mask (language, certification: hard constraints, not costs); `free_slots` is
    `(n_agents,)` int >= 0.

    place_all=True (contact-center behaviour: work never waits while an eligible free slot exists) places
    the largest number of tickets possible and, among those placements, maximises the total score.
    place_all=False maximises the total score alone: a pair is placed only when its score is > 0.

    Exact up to floating-point rounding (ties between optima are broken arbitrarily). Raises ValueError
    on bad shapes or dtypes, NaN/inf scores and negative slots.
    """
    score = check_score(score)
    eligible = check_eligible(eligible, score.shape)
    free_slots = check_slots(free_slots, score.shape[1])
    allowed = eligible if place_all else eligible & (score > 0)
    return round_solution(score, eligible, free_slots, allowed, optimal_matching(score, allowed, free_slots, place_all))


def optimal_matching(score: np.ndarray, allowed: np.ndarray, free_slots: np.ndarray, place_all: bool) -> np.ndarray:
    """`solve_round`'s agent per ticket `(n_tickets,)` (-1 unassigned) from checked inputs, without the reason codes;
    with `place_all=False`, `allowed` must already leave out the pairs scoring <= 0."""
    if place_all:
        value = lexicographic_value(score, allowed, n_pairs=min(score.shape[0], int(free_slots.sum())))
    else:
        value = score
    return match_slots(value, allowed, free_slots, maximum_cardinality=place_all)


def lexicographic_value(score: np.ndarray, allowed: np.ndarray, n_pairs: int,
                        favoured_agent: int | None = None) -> np.ndarray:
    """Pair values `(n_tickets, n_agents)` whose maximum-value matching has the most pairs, then the best score.

    Scores of allowed pairs are rescaled to d in [0, 1] (a positive affine map, so for a fixed number of
    pairs the order of total scores is unchanged) and each pair gets a bonus M = n_pairs + 1. A matching of
    k pairs is worth k*M + sum(d) with 0 <= sum(d) <= n_pairs < M, so one more pair always outweighs any
    score difference (in score units: M > n_pairs * (max - min), the bonus of the design note), and among
    matchings with equally many pairs the higher total score wins. Keeping values in [1, 2n + 2] rather
    than in score units keeps rounding relative to the score range.

    With `favoured_agent`, a middle level is inserted: pairs of that agent (one slot) get a bonus B = n_pairs + 1
    and M grows to B + n_pairs + 1, so the order becomes: most pairs, then the favoured agent placed, then score.
    """
    allowed_scores = score[allowed]
    low, high = (float(allowed_scores.min()), float(allowed_scores.max())) if allowed_scores.size else (0.0, 0.0)
    spread = high - low
    level = n_pairs + 1.0
    top = level if favoured_agent is None else 2.0 * level
    if spread > 0:  # value = top + (score - low) / spread, in one temporary; subtract first for precision
        value = np.subtract(score, low)
        # allowed pairs are in [0, spread] already; the others (never matched) would overflow a tiny spread
        np.clip(value, 0.0, spread, out=value)
        value /= spread
        value += top
    else:
        value = np.full(score.shape, top)
    if favoured_agent is not None:
        value[:, favoured_agent] += level
    return value


def round_solution(score: np.ndarray, eligible: np.ndarray, free_slots: np.ndarray, allowed: np.ndarray,
                   agent_of_ticket: np.ndarray) -> RoundSolution:
    """Package a matching `(n_tickets,)` as a RoundSolution, with total score and reason codes."""
    placed = np.flatnonzero(agent_of_ticket != UNASSIGNED)
    total = float(score[placed, agent_of_ticket[placed]].sum())
    agent_of_ticket = agent_of_ticket.copy()
    agent_of_ticket.setflags(write=False)
    return RoundSolution(agent_of_ticket, total,
                         unassigned_reasons(eligible, free_slots, allowed, agent_of_ticket))


def unassigned_reasons(eligible: np.ndarray, free_slots: np.ndarray, allowed: np.ndarray,
                       agent_of_ticket: np.ndarray) -> tuple[str | None, ...]:
    """Reason code per ticket `(n_tickets,)`: None when placed, else the first of the module's codes that applies."""
    has_free = free_slots > 0
    codes = np.select(
        [agent_of_ticket != UNASSIGNED,
         ~eligible.any(axis=1),
         ~(eligible & has_free).any(axis=1),
         ~(allowed & has_free).any(axis=1)],
        [None, NO_ELIGIBLE_AGENT, ELIGIBLE_AGENTS_FULL, NOT_WORTH_PLACING],
        default=OUTRANKED,
    )
    return tuple(codes.tolist())
