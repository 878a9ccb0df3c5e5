"""What a round reads from the ledger, on SQLite and PostgreSQL: one reading, reused only while it is current."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from skillmatch.ledger import FairShareCounter, Ledger, TicketHeld, TicketHold, UnavailablePeriod
from skillmatch.ledger.snapshot import RoutingStateCache

from .test_store import NOW, ROUND_COUNTERS, WINDOW, _record

WINDOW_END = WINDOW + timedelta(hours=24)


def _hold(ticket_id: str, agent_id: str, minutes: float) -> TicketHold:
    return TicketHold(ticket_id=ticket_id, agent_id=agent_id, pulled=True, held_until=NOW + timedelta(minutes=minutes))


def test_one_reading_holds_counters_absences_and_holds_in_force(ledger: Ledger) -> None:
    ledger.record_round("r-1", "h", {}, "v", NOW, [], WINDOW, holds=[_hold("T1", "A7", 30), _hold("T2", "A9", 1)])
    _record(ledger, "r-2")
    ledger.record_unavailable(UnavailablePeriod(agent_id="A7", start_at=NOW, end_at=NOW + timedelta(hours=2),
                                                reason="training"))
    ledger.record_unavailable(UnavailablePeriod(agent_id="A9", start_at=WINDOW_END + timedelta(hours=1),
                                                end_at=WINDOW_END + timedelta(hours=2), reason="next day"))

    state = ledger.routing_state(WINDOW, WINDOW_END, NOW + timedelta(minutes=5))

    assert state.fair_share == ROUND_COUNTERS
    assert state.growth_used == {("A7", "technical"): 1}
    assert [p.reason for p in state.unavailable["A7"]] == ["training"] and "A9" not in state.unavailable
    assert set(state.holds) == {"T1"}  # T2's hold ended before `now`
    assert set(state.holds_on(["T1", "T2", "T3"], NOW + timedelta(minutes=10))) == {"T1"}
    assert state.holds_on(["T1"], NOW + timedelta(minutes=31)) == {}


def test_a_reading_is_reused_until_this_ledger_writes(ledger: Ledger) -> None:
    cache = RoutingStateCache(ledger, max_age_s=60.0)
    first = cache.get(WINDOW, WINDOW_END, NOW)
    assert cache.get(WINDOW, WINDOW_END, NOW + timedelta(seconds=1)) is first
    assert first.fair_share == {}

    _record(ledger, "r-1")

    after = cache.get(WINDOW, WINDOW_END, NOW + timedelta(seconds=2))
    assert after is not first and after.fair_share == ROUND_COUNTERS


@pytest.mark.parametrize("ask", [
    pytest.param(lambda cache: cache.get(WINDOW, WINDOW_END, NOW - timedelta(seconds=1)), id="an-earlier-now"),
    pytest.param(lambda cache: cache.get(WINDOW + timedelta(days=1), WINDOW_END + timedelta(days=1), NOW),
                 id="another-window"),
    pytest.param(lambda cache: cache.get(WINDOW, WINDOW_END, NOW, fresh=True), id="fresh"),
])
def test_a_reading_is_not_reused_for_another_moment_or_when_asked_fresh(ledger: Ledger, ask) -> None:
    cache = RoutingStateCache(ledger, max_age_s=60.0)
    first = cache.get(WINDOW, WINDOW_END, NOW)
    assert ask(cache) is not first


def test_another_process_writes_show_up_within_the_max_age(ledger_url: str) -> None:
    with Ledger.connect(ledger_url) as mine, Ledger.connect(ledger_url) as theirs:
        cache = RoutingStateCache(mine, max_age_s=0.3)
        assert cache.get(WINDOW, WINDOW_END, NOW).fair_share == {}
        _record(theirs, "r-1")
        time.sleep(0.35)
        assert cache.get(WINDOW, WINDOW_END, NOW).fair_share["A9"] == FairShareCounter(
            n_assigned=1, difficulty_sum=0.5, hard_n=0)


def test_a_failed_write_keeps_the_reading(ledger: Ledger) -> None:
    cache = RoutingStateCache(ledger, max_age_s=60.0)
    ledger.record_round("r-1", "h", {}, "v", NOW, [], WINDOW, holds=[_hold("T1", "A7", 30)])
    first = cache.get(WINDOW, WINDOW_END, NOW)
    generation = ledger.generation
    with pytest.raises(TicketHeld):
        ledger.record_round("r-2", "h", {}, "v", NOW, [], WINDOW, holds=[_hold("T1", "A9", 30)])
    assert ledger.generation == generation
    assert cache.get(WINDOW, WINDOW_END, NOW) is first
