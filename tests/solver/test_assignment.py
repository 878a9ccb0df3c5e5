"""solve_round: feasibility invariants, the exact optimum against exhaustive search and a MILP, reasons, bad inputs."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import Bounds, LinearConstraint, milp

from skillmatch.solver import (
    ELIGIBLE_AGENTS_FULL,
    NO_ELIGIBLE_AGENT,
    NOT_WORTH_PLACING,
    OUTRANKED,
    UNASSIGNED,
    RoundSolution,
    claim_next,
    solve_round,
)
from skillmatch.solver import slots as slots_module

PROPERTY = settings(max_examples=200, deadline=None)
TIED_SCORES = st.sampled_from([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
FLOAT_SCORES = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)


@st.composite
def rounds(draw: st.DrawFn, max_tickets: int = 6, max_agents: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A round of up to 6 x 6: scores from a small tied set or floats, a random mask, slots 0..3."""
    n_tickets = draw(st.integers(0, max_tickets))
    n_agents = draw(st.integers(0, max_agents))
    elements = draw(st.sampled_from([TIED_SCORES, FLOAT_SCORES, st.one_of(TIED_SCORES, FLOAT_SCORES)]))
    score = draw(arrays(np.float64, (n_tickets, n_agents), elements=elements))
    eligible = draw(arrays(np.bool_, (n_tickets, n_agents)))
    free_slots = draw(arrays(np.int64, (n_agents,), elements=st.integers(0, 3)))
    return score, eligible, free_slots


def exhaustive_optimum(score: np.ndarray, eligible: np.ndarray, free_slots: np.ndarray,
                       place_all: bool) -> tuple[int, float]:
    """(tickets placed, total score) of the best feasible assignment, by trying every choice per ticket.

    Each ticket goes to any eligible agent with a slot left or stays out; the search is memoised on the
    slots left, which does not change what it finds. place_all ranks (placed, total) lexicographically,
    otherwise by total alone (placing a pair scoring <= 0 is allowed here, it just never helps).
    """
    n_tickets, n_agents = score.shape

    def rank(option: tuple[int, float]) -> tuple[int, float] | float:
        return option if place_all else option[1]

    @lru_cache(maxsize=None)
    def best(ticket: int, left: tuple[int, ...]) -> tuple[int, float]:
        if ticket == n_tickets:
            return 0, 0.0
        options = [best(ticket + 1, left)]
        for agent in range(n_agents):
            if eligible[ticket, agent] and left[agent] > 0:
                placed, total = best(ticket + 1, left[:agent] + (left[agent] - 1,) + left[agent + 1:])
                options.append((placed + 1, total + float(score[ticket, agent])))
        return max(options, key=rank)

    return best(0, tuple(int(s) for s in free_slots))


def milp_optimum(score: np.ndarray, eligible: np.ndarray, free_slots: np.ndarray,
                 place_all: bool) -> tuple[int, float]:
    """(tickets placed, total score) from a second formulation: a 0/1 program solved by scipy.optimize.milp.

    place_all is solved in two stages (most pairs first, then the best score with that many pairs), so the
    oracle does not share the solver's bonus trick.
    """
    tickets, agents = np.nonzero(eligible)
    n_pairs = tickets.size
    if n_pairs == 0:
        return 0, 0.0
    rows = np.zeros((score.shape[0], n_pairs))
    rows[tickets, np.arange(n_pairs)] = 1.0
    columns = np.zeros((score.shape[1], n_pairs))
    columns[agents, np.arange(n_pairs)] = 1.0
    constraints = [LinearConstraint(rows, 0, 1), LinearConstraint(columns, 0, free_slots)]
    pair_score = score[tickets, agents]
    options = dict(integrality=np.ones(n_pairs), bounds=Bounds(0, 1))
    if place_all:
        most = milp(-np.ones(n_pairs), constraints=constraints, **options)
        n_placed = int(round(-most.fun))
        constraints.append(LinearConstraint(np.ones((1, n_pairs)), n_placed, n_placed))
    result = milp(-pair_score, constraints=constraints, **options)
    assert result.success, result.message
    x = np.round(result.x)
    return int(x.sum()), float(pair_score @ x)


def assert_feasible(solution: RoundSolution, score: np.ndarray, eligible: np.ndarray, free_slots: np.ndarray) -> None:
    """Each ticket at most once (one entry per ticket), only eligible pairs, no agent over its slots."""
    agent = solution.agent_of_ticket
    assert agent.shape == (score.shape[0],)
    assert np.issubdtype(agent.dtype, np.integer)
    assert ((agent >= UNASSIGNED) & (agent < score.shape[1])).all()
    placed = np.flatnonzero(agent != UNASSIGNED)
    assert eligible[placed, agent[placed]].all()
    assert (np.bincount(agent[placed], minlength=score.shape[1]) <= free_slots).all()
    assert solution.total_score == pytest.approx(score[placed, agent[placed]].sum(), abs=1e-9)
    assert [reason is None for reason in solution.unassigned_reason] == list(agent != UNASSIGNED)


@PROPERTY
@given(rounds(), st.booleans())
def test_solution_is_feasible_and_inputs_untouched(problem, place_all):
    score, eligible, free_slots = problem
    copies = score.copy(), eligible.copy(), free_slots.copy()
    solution = solve_round(score, eligible, free_slots, place_all=place_all)
    assert_feasible(solution, score, eligible, free_slots)
    for before, after in zip(copies, (score, eligible, free_slots)):
        np.testing.assert_array_equal(before, after)
    assert not solution.agent_of_ticket.flags.writeable


@PROPERTY
@given(rounds())
def test_place_all_places_most_tickets_then_best_score(problem):
    score, eligible, free_slots = problem
    solution = solve_round(score, eligible, free_slots)
    n_placed, total = exhaustive_optimum(score, eligible, free_slots, place_all=True)
    assert solution.n_placed == n_placed
    assert solution.total_score == pytest.approx(total, abs=1e-9)


@PROPERTY
@given(rounds())
def test_score_only_matches_exhaustive_total_and_places_only_positive_pairs(problem):
    score, eligible, free_slots = problem
    solution = solve_round(score, eligible, free_slots, place_all=False)
    _, total = exhaustive_optimum(score, eligible, free_slots, place_all=False)
    assert solution.total_score == pytest.approx(total, abs=1e-9)
    placed = np.flatnonzero(solution.agent_of_ticket != UNASSIGNED)
    assert (score[placed, solution.agent_of_ticket[placed]] > 0).all()


@PROPERTY
@given(rounds())
def test_every_ticket_placed_when_capacity_and_eligibility_allow(problem):
    score, eligible, free_slots = problem
    solution = solve_round(score, eligible, free_slots)
    if exhaustive_optimum(score, eligible, free_slots, place_all=True)[0] == score.shape[0]:
        assert solution.n_placed == score.shape[0]
    # and never a ticket left out while one of its eligible agents still has a slot
    used = np.bincount(solution.agent_of_ticket[solution.agent_of_ticket >= 0], minlength=score.shape[1])
    has_room = used < free_slots
    for ticket in np.flatnonzero(solution.agent_of_ticket == UNASSIGNED):
        assert not (eligible[ticket] & has_room).any()


@PROPERTY
@given(rounds(), st.booleans())
def test_reasons_follow_their_definitions(problem, place_all):
    score, eligible, free_slots = problem
    solution = solve_round(score, eligible, free_slots, place_all=place_all)
    used = np.bincount(solution.agent_of_ticket[solution.agent_of_ticket >= 0], minlength=score.shape[1])
    for ticket, reason in enumerate(solution.unassigned_reason):
        open_eligible = eligible[ticket] & (free_slots > 0)
        worth = open_eligible & ((score[ticket] > 0) | place_all)
        expected = (None if solution.agent_of_ticket[ticket] != UNASSIGNED
                    else NO_ELIGIBLE_AGENT if not eligible[ticket].any()
                    else ELIGIBLE_AGENTS_FULL if not open_eligible.any()
                    else NOT_WORTH_PLACING if not worth.any()
                    else OUTRANKED)
        assert reason == expected
        if reason == OUTRANKED:  # the slots it could use all went to other tickets
            assert (used[worth] == free_slots[worth]).all()


def _round(rows: list[list[float | None]], free_slots: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A round from a table of scores where None marks an ineligible pair."""
    eligible = np.array([[value is not None for value in row] for row in rows], dtype=bool).reshape(len(rows), -1)
    score = np.array([[value or 0.0 for value in row] for row in rows], dtype=float).reshape(len(rows), -1)
    return score, eligible, np.array(free_slots, dtype=np.int64)


REASON_CASES = [
    pytest.param([[None, None]], [1, 1], True, (NO_ELIGIBLE_AGENT,), id="no-agent-speaks-the-language"),
    pytest.param([[1.0, None]], [0, 1], True, (ELIGIBLE_AGENTS_FULL,), id="only-eligible-agent-is-full"),
    pytest.param([[1.0, 2.0]], [0, 0], True, (ELIGIBLE_AGENTS_FULL,), id="everyone-full"),
    pytest.param([[2.0, None], [1.0, None]], [1, 1], True, (None, OUTRANKED), id="lower-score-waits"),
    pytest.param([[-3.0, None]], [1, 0], True, (None,), id="negative-score-placed-when-placing-all"),
    pytest.param([[-3.0, None]], [1, 0], False, (NOT_WORTH_PLACING,), id="negative-score-waits-when-scoring-only"),
    pytest.param([[0.0]], [1], False, (NOT_WORTH_PLACING,), id="zero-score-is-not-worth-placing"),
    pytest.param([[5.0, None], [4.0, None]], [1, 0], False, (None, OUTRANKED), id="worth-it-but-slot-taken"),
    pytest.param([[5.0, None], [-1.0, 4.0]], [1, 0], False, (None, NOT_WORTH_PLACING),
                 id="good-agent-full-free-one-not-worth-it"),
    pytest.param([[1.0, None, None], [None, None, 2.0]], [1, 3, 0], True, (None, ELIGIBLE_AGENTS_FULL),
                 id="full-although-others-free"),
]


@pytest.mark.parametrize(("rows", "free_slots", "place_all", "reasons"), REASON_CASES)
def test_unassigned_reasons(rows, free_slots, place_all, reasons):
    assert solve_round(*_round(rows, free_slots), place_all=place_all).unassigned_reason == reasons


def test_place_all_prefers_more_tickets_over_a_higher_score():
    # t0 fits a0 best, but only a0 can take t1: placing both costs score and is still preferred
    score, eligible, free_slots = _round([[10.0, -100.0], [1.0, None]], [1, 1])
    both = solve_round(score, eligible, free_slots)
    assert both.agent_of_ticket.tolist() == [1, 0] and both.total_score == -99.0
    best_only = solve_round(score, eligible, free_slots, place_all=False)
    assert best_only.agent_of_ticket.tolist() == [0, UNASSIGNED] and best_only.total_score == 10.0


@pytest.mark.parametrize("n", [2, 3, 6, 12, 40])
@pytest.mark.parametrize(("low", "high"), [(0.0, 1.0), (-1000.0, 1000.0), (5.0, 5.001)], ids=["unit", "wide", "narrow"])
def test_more_tickets_win_even_against_the_largest_score_gap(n, low, high):
    # a chain: ticket i fits agent i at the lowest score (all n placed) or agent i-1 at the highest
    # (only n-1 placed); the bonus per pair must beat a gap of (n-1) * (high - low)
    score = np.full((n, n), low)
    eligible = np.eye(n, dtype=bool)
    rows = np.arange(1, n)
    score[rows, rows - 1] = high
    eligible[rows, rows - 1] = True
    solution = solve_round(score, eligible, np.ones(n, dtype=np.int64))
    assert solution.agent_of_ticket.tolist() == list(range(n))
    best_only = solve_round(score, eligible, np.ones(n, dtype=np.int64), place_all=False)
    if low <= 0:
        assert best_only.agent_of_ticket.tolist() == [UNASSIGNED, *range(n - 1)]


def test_agent_with_capacity_takes_several_tickets():
    score, eligible, free_slots = _round([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 0.5]], [1, 3])
    solution = solve_round(score, eligible, free_slots)
    assert solution.agent_of_ticket.tolist() == [1, 1, 1, 0]
    assert solution.total_score == 19.0


def test_scores_far_from_zero_keep_their_small_differences():
    # a bonus in score units (n * range + 1) on top of 1e9 would sit near float resolution; rescaling does not
    score, eligible, free_slots = _round([[1e9, 1e9 + 1e-3], [1e9 + 2e-3, 1e9]], [1, 1])
    solution = solve_round(score, eligible, free_slots)
    assert solution.agent_of_ticket.tolist() == [1, 0]


EMPTY_CASES = [
    pytest.param((0, 0), [], id="nothing"),
    pytest.param((0, 3), [1, 2, 0], id="no-tickets"),
    pytest.param((3, 0), [], id="no-agents"),
    pytest.param((3, 2), [0, 0], id="no-free-slots"),
]


@pytest.mark.parametrize(("shape", "free_slots"), EMPTY_CASES)
@pytest.mark.parametrize("place_all", [True, False], ids=["place-all", "score-only"])
def test_empty_rounds_do_not_call_scipy(shape, free_slots, place_all, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("linear_sum_assignment called on an empty round")

    monkeypatch.setattr(slots_module, "linear_sum_assignment", refuse)
    solution = solve_round(np.ones(shape), np.ones(shape, dtype=bool), np.array(free_slots, dtype=np.int64),
                           place_all=place_all)
    assert solution.agent_of_ticket.tolist() == [UNASSIGNED] * shape[0]
    assert solution.total_score == 0.0
    expected = NO_ELIGIBLE_AGENT if shape[1] == 0 else ELIGIBLE_AGENTS_FULL
    assert solution.unassigned_reason == (expected,) * shape[0]


def test_all_ineligible_does_not_call_scipy(monkeypatch):
    monkeypatch.setattr(slots_module, "linear_sum_assignment", lambda *a: pytest.fail("scipy called"))
    solution = solve_round(np.ones((2, 2)), np.zeros((2, 2), dtype=bool), np.array([1, 1]))
    assert solution.unassigned_reason == (NO_ELIGIBLE_AGENT, NO_ELIGIBLE_AGENT)


GOOD = (np.ones((2, 3)), np.ones((2, 3), dtype=bool), np.array([1, 1, 1]))
BAD_INPUTS = [
    pytest.param({"score": np.array([[1.0, np.nan, 0.0], [0.0, 0.0, 0.0]])}, r"finite.*ticket 0, agent 1", id="nan"),
    pytest.param({"score": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, np.inf]])}, r"finite.*ticket 1, agent 2", id="inf"),
    pytest.param({"score": np.full((2, 3), -np.inf)}, r"6 NaN/inf", id="minus-inf-everywhere"),
    pytest.param({"score": np.ones(3)}, r"2-D.*got shape \(3,\)", id="score-1d"),
    pytest.param({"score": np.array([["a"] * 3] * 2)}, r"real numbers", id="score-strings"),
    pytest.param({"eligible": np.ones((2, 3))}, r"boolean mask.*float64", id="eligible-not-bool"),
    pytest.param({"eligible": np.ones((3, 2), dtype=bool)}, r"shape of score \(2, 3\), got \(3, 2\)",
                 id="eligible-wrong-shape"),
    pytest.param({"free_slots": np.array([1, 1])}, r"one entry per agent \(3,\), got shape \(2,\)",
                 id="slots-wrong-length"),
    pytest.param({"free_slots": np.array([1, -1, 1])}, r">= 0, got -1 for agent 1", id="slots-negative"),
    pytest.param({"free_slots": np.array([1.0, 1.5, 1.0])}, r"integers, got dtype float64", id="slots-float"),
]


@pytest.mark.parametrize(("override", "message"), BAD_INPUTS)
def test_bad_inputs_raise_value_error(override, message):
    arguments = dict(zip(("score", "eligible", "free_slots"), GOOD)) | override
    with pytest.raises(ValueError, match=message):
        solve_round(**arguments)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("place_all", [True, False], ids=["place-all", "score-only"])
@pytest.mark.parametrize(("scale", "offset"), [(1.0, 0.0), (1e3, -400.0)], ids=["unit", "shifted"])
def test_agrees_with_milp_on_30x20(seed, place_all, scale, offset):
    rng = np.random.default_rng(seed)
    score = rng.normal(size=(30, 20)) * scale + offset
    if seed % 3 == 0:  # coarse scores: many tied optima
        score = np.round(score / scale * 2) * scale
    eligible = rng.random((30, 20)) < (0.15 if seed % 2 else 0.7)
    free_slots = rng.integers(0, 4, size=20) if seed % 4 else rng.integers(0, 2, size=20)
    solution = solve_round(score, eligible, free_slots, place_all=place_all)
    assert_feasible(solution, score, eligible, free_slots)
    n_placed, total = milp_optimum(score, eligible, free_slots, place_all)
    if place_all:
        assert solution.n_placed == n_placed
    assert solution.total_score == pytest.approx(total, rel=1e-7, abs=1e-6 * scale)


@pytest.mark.parametrize("place_all", [True, False])
def test_a_tiny_score_spread_solves_without_overflow(place_all):
    """Allowed scores a subnormal apart beside far larger scores of pairs not allowed: the same optimum, no overflow."""
    tiny = 5e-324
    score = np.array([[tiny, 9.0, -9.0], [2 * tiny, -9.0, 9.0]])
    eligible = np.array([[True, False, False], [True, False, False]])
    with np.errstate(all="raise"):
        solution = solve_round(score, eligible, np.array([2, 1, 1]), place_all=place_all)
        claim = claim_next(score, eligible, np.array([1, 1]))
    assert solution.agent_of_ticket.tolist() == [0, 0]
    assert claim.ticket == 1
