"""The hand-back planner on small queues: what it moves, the affinity cost of repeat customers, free slots."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from skillmatch.supervision.handback import displaced_misses, plan_hand_back
from skillmatch.supervision.queues import replay_queue
from skillmatch.supervision.sla_risk import HandleSpread, queue_risk

from .conftest import item

NOW = datetime(2026, 9, 21, 10, 0, tzinfo=timezone.utc)
SLA = {"chat": 120.0, "sms": 1800.0, "email": 14400.0}


def _queue(*channels: str, handle_s: tuple[float, ...] = ()):
    """Capacity 1: a ticket handled for a minute (10 min predicted), then waiting tickets of these channels."""
    items = [item("busy", NOW - timedelta(minutes=1))]
    items += [item(f"W{i + 1}", NOW + timedelta(seconds=i), created=NOW, channel=ch,
                   handle_s=handle_s[i] if handle_s else 600.0) for i, ch in enumerate(channels)]
    return replay_queue("A1", items, 1)


def _risk(queue):
    return queue_risk(queue, NOW.timestamp() + 5, lambda w: SLA[w.channel], HandleSpread(0.0, 0.3, 100, "test"),
                      np.random.default_rng(0), 300)


def test_the_repeat_customer_stays_when_another_ticket_can_go_instead():
    queue = _queue("email", "sms", handle_s=(2400.0, 600.0))  # W1 (long email, repeat customer) ahead of W2 (sms)
    score = np.array([[0.80, 0.75], [0.80, 0.70]])
    eligible = np.ones((2, 2), dtype=bool)
    repeat = np.array([True, False])
    plan = plan_hand_back(queue, _risk, score, eligible, ["B"], np.array([1]), repeat, 0.5, affinity_cost=0.25)
    assert [(m.ticket_id, m.to_agent_id, m.repeat_customer) for m in plan.moves] == [("W2", "B", False)]
    assert plan.kept == ("W1",)
    assert plan.expected_misses_after < plan.expected_misses_before
    without_affinity = plan_hand_back(queue, _risk, score, eligible, ["B"], np.array([1]), repeat, 0.5,
                                      affinity_cost=0.0)
    assert [m.ticket_id for m in without_affinity.moves] == ["W1"]  # it loses least by score alone
    assert without_affinity.kept == ("W2",) and without_affinity.expected_misses_after < 0.5


def test_a_move_that_saves_nothing_is_not_suggested():
    queue = _queue("email", "chat")  # moving W1 leaves W2 behind the busy slot, late anyway: only W2 may go
    plan = plan_hand_back(queue, _risk, np.full((2, 2), 0.8), np.ones((2, 2), bool), ["B"], np.array([1]),
                          np.zeros(2, bool), 0.5, 0.0)
    assert [m.ticket_id for m in plan.moves] == ["W2"]
    assert plan.moves[0].misses_saved > 0.9


def test_a_target_busy_with_its_own_arrivals_gets_nothing():
    queue = _queue("chat")
    def plan(rate_per_s: float):
        return plan_hand_back(queue, _risk, np.full((1, 2), 0.8), np.ones((1, 2), bool), ["B"], np.array([1]),
                              np.zeros(1, bool), 0.5, 0.0,
                              displaced=lambda i, b, left: displaced_misses(rate_per_s, 600, left))

    assert plan(1 / 60).moves == ()  # ten of its own arrivals expected while the moved ticket holds the slot
    assert [m.to_agent_id for m in plan(1 / 7200).moves] == ["B"]


def test_displaced_misses_is_the_poisson_overflow():
    assert displaced_misses(0.0, 600, 1) == 0.0
    assert displaced_misses(1 / 600, 600, 1) == pytest.approx(1.0)  # one arrival expected, no other free slot
    assert displaced_misses(1 / 600, 600, 2) == pytest.approx(math.exp(-1.0))  # E[(N - 1)+], N ~ Poisson(1)


def test_moves_fit_the_free_slots_and_are_placed_jointly():
    queue = _queue("chat", "chat", "chat")
    score = np.array([[0.8, 0.70, 0.60], [0.8, 0.72, 0.50], [0.8, 0.71, 0.55]])
    eligible = np.ones((3, 3), dtype=bool)
    plan = plan_hand_back(queue, _risk, score, eligible, ["B", "C"], np.array([1, 1]), np.zeros(3, bool), 0.5, 0.25)
    targets = [m.to_agent_id for m in plan.moves]
    assert sorted(targets) == ["B", "C"] and len(plan.moves) == 2
    assert len(plan.kept) == 1


def test_nothing_moves_without_a_free_eligible_agent():
    queue = _queue("chat", "chat")
    plan = plan_hand_back(queue, _risk, np.full((2, 2), 0.8), np.array([[True, False], [True, False]]), ["B"],
                          np.array([2]), np.zeros(2, bool), 0.5, 0.25)
    assert plan.moves == () and plan.kept == ("W1", "W2")
    assert plan.expected_misses_after == plan.expected_misses_before > 1.5


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="shapes"):
        plan_hand_back(_queue("chat"), _risk, np.zeros((1, 3)), np.ones((1, 3), bool), ["B"], np.array([1]),
                       np.zeros(1, bool), 0.5, 0.25)
