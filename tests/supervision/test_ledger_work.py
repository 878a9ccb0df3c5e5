"""The ledger's supervision tables, on SQLite and PostgreSQL: routed work, time out of the queue, alert claims."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from skillmatch.ledger import DecisionRow, Ledger, OutcomeRow, UnavailablePeriod

T0 = datetime(2026, 9, 21, 9, 0, tzinfo=timezone.utc)
VERSION = "v-test"


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    url = (f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_schema_url"))
    with Ledger.connect(url) as opened:
        yield opened


def _decision(ticket_id: str, agent_id: str, decided: datetime, request_id: str | None, **extra) -> DecisionRow:
    return DecisionRow(request_id=request_id, ticket_id=ticket_id, agent_id=agent_id, topic="billing", score=0.5,
                       components={"match": 0.5}, predicted={"p_resolve": 0.8, "handle_time_s": 420.0},
                       difficulty=0.3, hard=False, stretch=False, reasons=[], model_version=VERSION,
                       decided_at=decided, **extra)


def _round(ledger: Ledger, request_id: str, decided: datetime, rows: list[DecisionRow]) -> None:
    ledger.record_round(request_id, request_id, {"model_version": VERSION}, VERSION, decided, rows, T0)


def test_work_items_carry_the_ticket_and_close_with_the_outcome(ledger: Ledger):
    ticket = {"ticket_id": "T1", "created_at": T0.isoformat(), "topic": "billing", "language": "es",
              "message_words": float("nan")}
    _round(ledger, "r1", T0, [_decision("T1", "A1", T0, "r1", channel="chat", created_at=T0 - timedelta(minutes=1),
                                        customer_id="C1", priority=2, capacity=2, ticket=ticket),
                              _decision("T2", "A1", T0, "r1")])
    work = {w.ticket_id: w for w in ledger.work_since(T0 - timedelta(hours=1))}
    assert set(work) == {"T1", "T2"} and all(w.is_open for w in work.values())
    t1 = work["T1"]
    assert (t1.channel, t1.customer_id, t1.priority, t1.capacity) == ("chat", "C1", 2, 2)
    assert t1.created_at == T0 - timedelta(minutes=1) and t1.predicted_handle_s == 420.0
    assert t1.ticket == {**ticket, "message_words": None}  # NaN is not JSON: stored as null
    assert work["T2"].created_at == T0 and work["T2"].channel is None  # older callers: the decision time
    ledger.record_outcomes([OutcomeRow(ticket_id="T1", agent_id="A1", topic="billing", customer_id="C1",
                                       created_at=T0, closed_at=T0 + timedelta(minutes=9), resolved=True,
                                       handle_time_s=400.0)])
    closed = {w.ticket_id: w for w in ledger.work_since(T0 - timedelta(hours=1))}["T1"]
    assert not closed.is_open and closed.closed_at == T0 + timedelta(minutes=9) and closed.handle_time_s == 400.0


def test_a_later_decision_for_the_same_ticket_supersedes_the_earlier(ledger: Ledger):
    _round(ledger, "r1", T0, [_decision("T1", "A1", T0, "r1")])
    _round(ledger, "r2", T0 + timedelta(minutes=5), [_decision("T1", "A2", T0 + timedelta(minutes=5), "r2")])
    work = ledger.work_since(T0 - timedelta(hours=1))
    assert [(w.ticket_id, w.agent_id) for w in work] == [("T1", "A2")]
    assert ledger.work_since(T0 - timedelta(hours=1), agent_id="A1") == []
    assert ledger.work_since(T0 + timedelta(minutes=1)) == work


def test_unavailable_periods_are_found_by_overlap(ledger: Ledger):
    ledger.record_unavailable(UnavailablePeriod("A1", T0, T0 + timedelta(hours=2), "training"))
    ledger.record_unavailable(UnavailablePeriod("A2", T0 + timedelta(hours=3), T0 + timedelta(hours=4), "campaign"))
    found = ledger.unavailable(T0 + timedelta(hours=1), T0 + timedelta(hours=3, minutes=1))
    assert [(p.agent_id, p.reason) for p in found] == [("A1", "training"), ("A2", "campaign")]
    assert ledger.unavailable(T0 + timedelta(hours=2), T0 + timedelta(hours=3)) == []
    assert [p.agent_id for p in ledger.unavailable(T0, T0 + timedelta(days=1), ["A2"])] == ["A2"]
    with pytest.raises(ValueError, match="ends after it starts"):
        ledger.record_unavailable(UnavailablePeriod("A1", T0, T0, "training"))


def test_an_alert_is_claimed_by_one_process_only(ledger: Ledger):
    assert ledger.claim_alerts(["a", "b"], "one") == {"a", "b"}
    assert ledger.claim_alerts(["b", "c"], "two") == {"c"}
    assert ledger.claim_alerts([], "two") == set()
