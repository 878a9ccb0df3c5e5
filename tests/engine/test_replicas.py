"""Two engines sharing the PostgreSQL ledger behave as one: one recorded decision per request_id, shared outcomes."""
from __future__ import annotations

import time

from skillmatch.config import PolicyConfig
from skillmatch.engine import CATCH_UP_EVERY_S, Engine

from .conftest import NOW, agents_from, tickets_from


def test_replicas_share_decisions_and_outcomes(trained, postgres_schema_url, logged, two_weeks):
    policy = PolicyConfig(restricted_topics=["fraud"])
    first, second = (Engine.load(trained[0], database_url=postgres_schema_url, policy=policy) for _ in range(2))
    try:
        tickets, agents = tickets_from(logged, 8), agents_from(two_weeks, 4)
        answer = first.assign(tickets, agents, now=NOW, request_id="shared-1")
        assert second.assign(tickets, agents, now=NOW, request_id="shared-1") == answer
        counters = second.ledger.fair_share(second._window_start(NOW))
        assert sum(c.n_assigned for c in counters.values()) == len(answer["assignments"])

        rows = logged.iloc[:5].copy()
        rows["ticket_id"] = "P" + rows["ticket_id"]
        payload = rows.drop(columns=["message_words"]).astype(object).where(rows.notna(), None).to_dict("records")
        before = len(second.model.history)
        assert first.record_outcomes(payload)["inserted"] == 5
        time.sleep(CATCH_UP_EVERY_S + 0.1)
        second.assign(tickets[:1], agents[:1], now=NOW, commit=False)
        assert len(second.model.history) == before + 5
        assert second.record_outcomes(payload)["duplicates"] == 5
    finally:
        first.close()
        second.close()
