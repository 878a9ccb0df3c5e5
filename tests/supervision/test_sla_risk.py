"""Queue replay from the ledger's work, and the Monte Carlo SLA risk against closed forms on small queues."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy.stats import norm

from skillmatch.supervision.queues import agent_queues, replay_queue
from skillmatch.supervision.sla_risk import HandleSpread, handle_spread, queue_risk

from .conftest import item

T0 = datetime(2026, 9, 21, 9, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


REPLAYS = {
    "one slot: the open ticket starts when the closed one ended": (
        1, [item("X", at(0), closed=at(10)), item("A", at(5)), item("B", at(6))], ["A"], [at(10)], ["B"]),
    "two slots, all open: two in a slot from their decision, the third waits": (
        2, [item("A", at(0)), item("B", at(1)), item("C", at(2))], ["A", "B"], [at(0), at(1)], ["C"]),
    "two slots: each open ticket takes the slot that frees first": (
        2, [item("X", at(-10), closed=at(20)), item("Y", at(-5), closed=at(5)), item("A", at(0)),
            item("B", at(1)), item("C", at(2))], ["A", "B"], [at(5), at(20)], ["C"]),
    "a ticket closed out of order leaves the slots alone": (
        1, [item("A", at(0)), item("X", at(1), closed=at(3)), item("B", at(2))], ["A"], [at(0)], ["B"]),
    "order of the input does not matter": (
        1, [item("B", at(6)), item("A", at(5)), item("X", at(0), closed=at(10))], ["A"], [at(10)], ["B"]),
}


@pytest.mark.parametrize(("capacity", "items", "in_progress", "started", "waiting"), REPLAYS.values(), ids=REPLAYS)
def test_replay_finds_what_holds_a_slot_and_what_waits(capacity, items, in_progress, started, waiting):
    queue = replay_queue("A1", items, capacity)
    assert [w.ticket_id for w in queue.in_progress] == in_progress
    assert list(queue.started_s) == [t.timestamp() for t in started]
    assert [w.ticket_id for w in queue.waiting] == waiting


def test_queues_take_the_latest_decisions_capacity_and_skip_agents_without_open_work():
    items = [item("A", at(0), agent_id="A1", capacity=1), item("B", at(1), agent_id="A1", capacity=2),
             item("C", at(2), agent_id="A1", capacity=2), item("D", at(0), agent_id="A2", closed=at(4))]
    queues = agent_queues(items, {"A1": 1, "A2": 1})
    assert set(queues) == {"A1"}
    assert queues["A1"].capacity == 2 and [w.ticket_id for w in queues["A1"].in_progress] == ["A", "B"]


def _survival(x: float, log_median: float, sd: float) -> float:
    return float(norm.sf((math.log(x) - log_median) / sd)) if x > 0 else 1.0


@pytest.mark.parametrize("elapsed_s", [0.0, 300.0, 900.0])
@pytest.mark.parametrize("sla_s", [60.0, 600.0])
def test_one_slot_risk_matches_the_conditional_lognormal(elapsed_s, sla_s):
    """Behind one ticket handled for `elapsed_s`: P(miss) = S(elapsed + sla) / S(elapsed) of the lognormal."""
    now = at(30)
    busy = item("busy", now - timedelta(seconds=elapsed_s), handle_s=480.0)
    waiting = item("next", now, created=now, handle_s=480.0)
    queue = replay_queue("A1", [busy, waiting], 1)
    spread = HandleSpread(bias=0.1, sd=0.4, n=100, source="test")
    risk = queue_risk(queue, now.timestamp(), lambda w: sla_s, spread, np.random.default_rng(0), 40_000)
    log_median = math.log(480.0) + 0.1
    expected = _survival(elapsed_s + sla_s, log_median, 0.4) / _survival(elapsed_s, log_median, 0.4)
    assert risk.tickets[1].p_miss == pytest.approx(expected, abs=0.01)
    assert risk.tickets[0].state == "in_progress" and risk.tickets[1].state == "waiting"


def test_an_idle_slot_means_no_risk_and_a_late_start_means_a_miss():
    now = at(30)
    queue = replay_queue("A1", [item("busy", at(0)), item("late", at(1), created=at(-5)),
                                item("next", at(29), created=at(29))], 3)
    risk = queue_risk(queue, now.timestamp(), lambda w: 120.0, HandleSpread(0.0, 0.4, 100, "test"),
                      np.random.default_rng(0), 500)
    by_id = {r.item.ticket_id: r for r in risk.tickets}
    assert by_id["busy"].p_miss == 0.0 and not by_id["busy"].breached
    assert by_id["late"].p_miss == 1.0 and by_id["late"].breached  # started 6 min after it came, target 2 min
    assert by_id["next"].state == "in_progress" and by_id["next"].p_miss == 0.0


def test_time_out_of_the_queue_pushes_the_start_past_its_end():
    now = at(30)
    queue = replay_queue("A1", [item("busy", now), item("next", now, created=now)], 1)
    blocked = [(now.timestamp(), (now + timedelta(hours=2)).timestamp())]
    risk = queue_risk(queue, now.timestamp(), lambda w: 3600.0, HandleSpread(0.0, 0.3, 100, "test"),
                      np.random.default_rng(0), 500, blocked)
    assert risk.tickets[1].p_miss == 1.0
    assert risk.tickets[1].start_s >= blocked[0][1]
    free = queue_risk(queue, now.timestamp(), lambda w: 3600.0, HandleSpread(0.0, 0.3, 100, "test"),
                      np.random.default_rng(0), 500)
    assert free.tickets[1].p_miss < 0.05


def test_the_spread_comes_from_live_predictions_when_there_are_enough():
    rng = np.random.default_rng(1)
    closed = [item(f"C{i}", at(i), closed=at(i + 5), handle_s=100.0) for i in range(50)]
    closed = [w.__class__(**{**w.__dict__, "handle_time_s": float(100.0 * math.exp(0.2 + 0.3 * z))})
              for w, z in zip(closed, rng.standard_normal(50))]
    live = handle_spread(closed, np.zeros(0), min_n=30, min_sd=0.05)
    assert live.source == "live predictions" and live.n == 50
    assert live.bias == pytest.approx(0.2, abs=0.1) and live.sd == pytest.approx(0.3, abs=0.1)
    fallback = handle_spread(closed[:10], rng.normal(0, 0.5, 1000), min_n=30, min_sd=0.05)
    assert fallback.source == "training history" and fallback.bias == 0.0
    assert fallback.sd == pytest.approx(0.5, abs=0.05)
    floor = handle_spread([], np.zeros(100), min_n=30, min_sd=0.05)
    assert floor.sd == 0.05
