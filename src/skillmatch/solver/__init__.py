"""The solver: the exact optimum of a routing round, and claim-next for one agent, on plain numpy arrays."""
from skillmatch.solver.assignment import (
    ELIGIBLE_AGENTS_FULL,
    NO_ELIGIBLE_AGENT,
    NOT_WORTH_PLACING,
    OUTRANKED,
    RoundSolution,
    solve_round,
)
from skillmatch.solver.claim_next import (
    BETTER_SUITED_AGENTS_TAKE_THE_REST,
    NO_ELIGIBLE_TICKET,
    ClaimChoice,
    claim_next,
)
from skillmatch.solver.slots import UNASSIGNED

__all__ = [
    "BETTER_SUITED_AGENTS_TAKE_THE_REST",
    "ELIGIBLE_AGENTS_FULL",
    "NO_ELIGIBLE_AGENT",
    "NO_ELIGIBLE_TICKET",
    "NOT_WORTH_PLACING",
    "OUTRANKED",
    "UNASSIGNED",
    "ClaimChoice",
    "RoundSolution",
    "claim_next",
    "solve_round",
]
