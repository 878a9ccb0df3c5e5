"""A round scored on the fast path answers exactly as the pandas + LightGBM reference path, before and after outcomes."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from skillmatch.engine import Engine
from skillmatch.models import factored
from skillmatch.records import Agent, Ticket
from skillmatch.records import Weights as RecordWeights

from .conftest import NOW, agents_from, tickets_from

PATHS = [
    pytest.param(True, True, marks=pytest.mark.skipif(not factored.AVAILABLE, reason="numba is not installed"),
                 id="factored"),
    pytest.param(True, False, id="arrays-lightgbm"),
]


def _score(engine: Engine, tickets: list[dict], agents: list[dict], weights: RecordWeights, fast: bool,
           factored_trees: bool):
    engine.fast_rounds, engine.factored = fast, factored_trees
    try:
        return engine._score([Ticket.model_validate(t) for t in tickets], [Agent.model_validate(a) for a in agents],
                             NOW, weights)
    finally:
        del engine.fast_rounds, engine.factored  # back to the class defaults


def _assert_same_round(fast, reference) -> None:
    for key in ("p_resolve", "handle_time_s", "csat"):
        np.testing.assert_array_equal(fast.predicted[key], reference.predicted[key], err_msg=key)
    np.testing.assert_array_equal(fast.inputs.difficulty, reference.inputs.difficulty)
    np.testing.assert_array_equal(fast.inputs.handle_ref_s, reference.inputs.handle_ref_s)
    np.testing.assert_array_equal(fast.scores.total, reference.scores.total)
    np.testing.assert_array_equal(fast.eligible, reference.eligible)


def _round(logged, two_weeks, start: int):
    tickets = tickets_from(logged, 30, start=start)
    for i, t in enumerate(tickets):
        if i % 5 == 1:
            t["created_at"] = (NOW - timedelta(seconds=900 + i)).isoformat()
        if i % 5 == 2:
            t.pop("message_words")
        if i % 5 == 3:
            t["channel"] = None
    agents = agents_from(two_weeks, 12, slots=2) + [{"agent_id": "NEW-1", "languages": ["en"], "free_slots": 1}]
    agents[0]["growth_topics"] = ["billing", "returns"]
    return tickets, agents


@pytest.mark.parametrize(("fast", "factored_trees"), PATHS)
@pytest.mark.parametrize("start", [0, 200])
def test_the_fast_path_scores_a_round_as_the_reference_path(engine, logged, two_weeks, fast, factored_trees, start):
    tickets, agents = _round(logged, two_weeks, start)
    weights = RecordWeights(growth=2.0)
    fast_round = _score(engine, tickets, agents, weights, fast, factored_trees)
    reference = _score(engine, tickets, agents, weights, False, False)
    _assert_same_round(fast_round, reference)
    assert np.isfinite(fast_round.predicted["p_resolve"][fast_round.eligible]).all()


@pytest.mark.parametrize(("fast", "factored_trees"), PATHS)
def test_assign_answers_the_same_on_both_paths(engine, logged, two_weeks, fast, factored_trees):
    tickets, agents = _round(logged, two_weeks, 40)
    engine.fast_rounds, engine.factored = fast, factored_trees
    fast_answer = engine.assign(tickets, agents, now=NOW, commit=False)
    engine.fast_rounds, engine.factored = False, False
    reference_answer = engine.assign(tickets, agents, now=NOW, commit=False)
    del engine.fast_rounds, engine.factored
    assert fast_answer == reference_answer


def test_recorded_outcomes_reach_the_next_round_on_the_fast_path(engine, logged, two_weeks):
    """What is remembered between rounds belongs to one history: new outcomes replace it."""
    tickets, agents = _round(logged, two_weeks, 0)
    agent_id = agents[1]["agent_id"]
    before = _score(engine, tickets, agents, RecordWeights(), True, factored.AVAILABLE)
    index_before = engine.model.index
    assert index_before._memo["agent_topic"]  # the round remembered agent x topic sums
    rows = logged.iloc[:40].copy()
    rows["ticket_id"] = "FAST" + rows["ticket_id"]
    rows["agent_id"] = agent_id
    rows["resolved"] = False  # a bad run
    rows["created_at"] = (NOW - timedelta(hours=3)).isoformat()
    rows["closed_at"] = (NOW - timedelta(hours=2)).isoformat()
    rows = rows.drop(columns=[c for c in ("assigned_at",) if c in rows.columns])
    payload = rows.drop(columns=["message_words"]).astype(object).where(rows.notna(), None).to_dict("records")
    assert engine.record_outcomes(payload)["inserted"] == 40
    assert engine.model.index is not index_before
    after = _score(engine, tickets, agents, RecordWeights(), True, factored.AVAILABLE)
    reference = _score(engine, tickets, agents, RecordWeights(), False, False)
    _assert_same_round(after, reference)
    a = 1
    eligible = before.eligible[:, a]
    assert eligible.any()
    changed = after.predicted["p_resolve"][eligible, a] != before.predicted["p_resolve"][eligible, a]
    assert changed.mean() > 0.5  # 40 new outcomes move most of this agent's predictions (the direction is the model's)


@pytest.mark.parametrize(("fast", "factored_trees"), PATHS)
def test_tickets_scored_before_are_scored_as_new_ones(engine, logged, two_weeks, fast, factored_trees):
    """The ticket side kept between rounds answers as a fresh computation, also after the customer's outcome arrived."""
    tickets, agents = _round(logged, two_weeks, 0)
    _score(engine, tickets, agents, RecordWeights(), fast, factored_trees)
    cache = engine.model.__dict__["_ticket_cache"]
    kept = len(cache)
    row = logged.iloc[:1].copy()
    row["ticket_id"], row["customer_id"] = "AGAIN-1", tickets[0]["customer_id"]
    row["created_at"] = (NOW - timedelta(hours=3)).isoformat()
    row["closed_at"] = (NOW - timedelta(hours=2)).isoformat()
    row = row.drop(columns=[c for c in ("assigned_at", "message_words") if c in row.columns])
    assert engine.record_outcomes(row.astype(object).where(row.notna(), None).to_dict("records"))["inserted"] == 1

    overlap = tickets[:1] + tickets[10:] + tickets_from(logged, 10, start=500)
    again = _score(engine, overlap, agents, RecordWeights(), fast, factored_trees)
    reference = _score(engine, overlap, agents, RecordWeights(), False, False)

    _assert_same_round(again, reference)
    assert kept + 10 < len(cache) < kept + len(overlap)  # new ones and the changed customer's ticket, not the rest
