"""claim_next: the agent's ticket is part of an optimal joint round, never one the others should take."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skillmatch.solver import (
    BETTER_SUITED_AGENTS_TAKE_THE_REST,
    NO_ELIGIBLE_TICKET,
    ClaimChoice,
    claim_next,
    solve_round,
)

PROPERTY = settings(max_examples=200, deadline=None)
TIED_SCORES = st.sampled_from([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
FLOAT_SCORES = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)


@st.composite
def queues(draw: st.DrawFn, max_tickets: int = 6, max_agents: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A queue of up to 6 tickets, the claiming agent in column 0 and up to 5 others with 0..3 slots."""
    n_tickets = draw(st.integers(0, max_tickets))
    n_agents = draw(st.integers(1, max_agents))
    elements = draw(st.sampled_from([TIED_SCORES, FLOAT_SCORES, st.one_of(TIED_SCORES, FLOAT_SCORES)]))
    score = draw(arrays(np.float64, (n_tickets, n_agents), elements=elements))
    eligible = draw(arrays(np.bool_, (n_tickets, n_agents)))
    others_free_slots = draw(arrays(np.int64, (n_agents - 1,), elements=st.integers(0, 3)))
    return score, eligible, others_free_slots


def joint_value(score: np.ndarray, eligible: np.ndarray, others_free_slots: np.ndarray) -> tuple[int, float]:
    """(placed, total) of the optimal joint round: the claiming agent with one slot, the others with theirs."""
    solution = solve_round(score, eligible, np.concatenate([[1], others_free_slots]))
    return solution.n_placed, solution.total_score


def value_when_taking(ticket: int, score: np.ndarray, eligible: np.ndarray,
                      others_free_slots: np.ndarray) -> tuple[int, float]:
    """(placed, total) when the agent takes `ticket` and the others get their optimum on the rest of the queue."""
    rest = np.arange(score.shape[0]) != ticket
    others = solve_round(score[rest, 1:], eligible[rest, 1:], others_free_slots)
    return 1 + others.n_placed, float(score[ticket, 0]) + others.total_score


def same_value(a: tuple[int, float], b: tuple[int, float]) -> bool:
    """Equal numbers of placed tickets and totals equal within float rounding."""
    return a[0] == b[0] and math.isclose(a[1], b[1], rel_tol=1e-9, abs_tol=1e-9)


@PROPERTY
@given(queues())
def test_claimed_ticket_never_robs_the_others(queue):
    score, eligible, others_free_slots = queue
    choice = claim_next(score, eligible, others_free_slots)
    joint = joint_value(score, eligible, others_free_slots)
    achieving = [t for t in np.flatnonzero(eligible[:, 0])
                 if same_value(value_when_taking(t, score, eligible, others_free_slots), joint)]
    if choice.ticket is not None:
        assert eligible[choice.ticket, 0]
        assert choice.reason is None
        # own score + what the others still achieve without that ticket == the joint optimum
        assert choice.ticket in achieving
    elif not eligible[:, 0].any():
        assert choice.reason == NO_ELIGIBLE_TICKET
    else:
        # nothing only when no optimal joint round gives the agent a ticket (ties go to the agent)
        assert choice.reason == BETTER_SUITED_AGENTS_TAKE_THE_REST
        assert achieving == []


def optimal_joint_assignments(score: np.ndarray, eligible: np.ndarray,
                              others_free_slots: np.ndarray) -> list[tuple[int, ...]]:
    """Every optimal joint assignment (agent per ticket, -1 for none), found by listing all feasible ones."""
    free_slots = np.concatenate([[1], others_free_slots])
    choices = [[-1, *np.flatnonzero(row).tolist()] for row in eligible]
    feasible = [a for a in itertools.product(*choices)
                if (np.bincount([x for x in a if x >= 0], minlength=len(free_slots)) <= free_slots).all()]
    values = [(sum(x >= 0 for x in a), sum(float(score[t, x]) for t, x in enumerate(a) if x >= 0)) for a in feasible]
    best = max(values)
    return [a for a, v in zip(feasible, values) if same_value(v, best)]


@PROPERTY
@given(queues(max_tickets=5, max_agents=4))
def test_claimed_ticket_is_the_agents_in_some_optimum_listed_by_brute_force(queue):
    score, eligible, others_free_slots = queue
    choice = claim_next(score, eligible, others_free_slots)
    optima = optimal_joint_assignments(score, eligible, others_free_slots)
    if choice.ticket is not None:
        # some optimum gives it to the agent: it is never a ticket every optimum hands to another agent
        assert any(a[choice.ticket] == 0 for a in optima)
    elif choice.reason == BETTER_SUITED_AGENTS_TAKE_THE_REST:
        assert not any(0 in a for a in optima)


@PROPERTY
@given(queues())
def test_without_others_the_best_eligible_ticket_is_taken(queue):
    score, eligible, _ = queue
    choice = claim_next(score[:, :1], eligible[:, :1], np.zeros(0, dtype=np.int64))
    if eligible[:, 0].any():
        assert choice.ticket is not None and eligible[choice.ticket, 0]
        assert score[choice.ticket, 0] == score[eligible[:, 0], 0].max()
    else:
        assert choice == ClaimChoice(None, NO_ELIGIBLE_TICKET)


def _queue(rows: list[list[float | None]]) -> tuple[np.ndarray, np.ndarray]:
    """Scores and mask from a table where None marks an ineligible pair."""
    eligible = np.array([[value is not None for value in row] for row in rows], dtype=bool)
    score = np.array([[value or 0.0 for value in row] for row in rows], dtype=float)
    return score, eligible


CLAIM_CASES = [
    pytest.param([[5.0, 10.0], [4.0, None]], [1], ClaimChoice(1, None),
                 id="leaves-the-ticket-only-the-other-takes-well"),
    pytest.param([[5.0, 10.0], [4.0, None]], [0], ClaimChoice(0, None), id="other-agent-has-no-slot"),
    pytest.param([[1.0, 5.0]], [1], ClaimChoice(None, BETTER_SUITED_AGENTS_TAKE_THE_REST),
                 id="better-suited-free-agent-takes-it"),
    pytest.param([[1.0, 5.0], [1.0, 4.0]], [2], ClaimChoice(None, BETTER_SUITED_AGENTS_TAKE_THE_REST),
                 id="other-has-room-for-all"),
    pytest.param([[1.0, 5.0], [1.0, 4.0]], [1], ClaimChoice(1, None), id="takes-what-the-other-cannot"),
    pytest.param([[3.0, 3.0]], [1], ClaimChoice(0, None), id="tie-goes-to-the-claiming-agent"),
    pytest.param([[2.0, 1.0], [1.0, 2.0]], [1], ClaimChoice(0, None), id="tie-between-two-optima-goes-to-agent"),
    # ties where the solver's own optimum leaves the agent out: the tie-break must find the other optimum
    pytest.param([[1.0, None, 2.0], [None, 0.0, 1.0]], [2, 1], ClaimChoice(0, None),
                 id="tie-hidden-behind-another-optimum"),
    pytest.param([[1.0, 1.0, 2.0], [1.0, 0.0, 2.0]], [2, 1], ClaimChoice(0, None),
                 id="tie-hidden-behind-another-optimum-2"),
    pytest.param([[None, 9.0], [1.0, None], [2.0, 1.0]], [1], ClaimChoice(2, None),
                 id="ineligible-best-ticket-never-chosen"),
    pytest.param([[None, 1.0]], [1], ClaimChoice(None, NO_ELIGIBLE_TICKET), id="nothing-eligible"),
    pytest.param([[-5.0, None], [-1.0, None]], [0], ClaimChoice(1, None), id="least-bad-when-all-negative"),
]


@pytest.mark.parametrize(("rows", "others_free_slots", "expected"), CLAIM_CASES)
def test_claim_examples(rows, others_free_slots, expected):
    score, eligible = _queue(rows)
    assert claim_next(score, eligible, np.array(others_free_slots, dtype=np.int64)) == expected


@pytest.mark.parametrize(("rows", "expected"), [
    pytest.param([[1.0], [7.0], [7.0], [3.0]], 1, id="best-lowest-row-on-ties"),
    pytest.param([[9.0], [2.0]], 0, id="best-first"),
], )
def test_without_others_examples(rows, expected):
    score, eligible = _queue(rows)
    assert claim_next(score, eligible, np.zeros(0, dtype=np.int64)) == ClaimChoice(expected, None)


def test_empty_queue():
    assert claim_next(np.zeros((0, 3)), np.zeros((0, 3), dtype=bool), np.array([1, 1])) == \
        ClaimChoice(None, NO_ELIGIBLE_TICKET)


@pytest.mark.parametrize(("score", "eligible", "others", "message"), [
    pytest.param(np.zeros((2, 0)), np.zeros((2, 0), dtype=bool), np.zeros(0, dtype=np.int64),
                 r"claiming agent in column 0", id="no-agent-column"),
    pytest.param(np.zeros((2, 3)), np.ones((2, 3), dtype=bool), np.array([1]),
                 r"others_free_slots.*\(2,\), got shape \(1,\)", id="others-wrong-length"),
    pytest.param(np.full((2, 2), np.nan), np.ones((2, 2), dtype=bool), np.array([1]), r"finite", id="nan"),
    pytest.param(np.zeros((2, 2)), np.ones((2, 2), dtype=bool), np.array([-2]),
                 r"others_free_slots must be >= 0", id="negative-slots"),
])
def test_bad_inputs_raise_value_error(score, eligible, others, message):
    with pytest.raises(ValueError, match=message):
        claim_next(score, eligible, others)


def test_totals_apart_by_less_than_rounding_are_a_tie_that_goes_to_the_agent():
    """Found by the property test above: a 5e-179 lead is no reason to withhold the ticket."""
    choice = claim_next(np.array([[0.0, 5.08288496e-179]]), np.array([[True, True]]), np.array([1]))
    assert choice == ClaimChoice(0, None)
