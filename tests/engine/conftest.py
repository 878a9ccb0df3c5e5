"""An engine on the two-week model with a fresh SQLite ledger per test, and helpers to build rounds from the logs."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from skillmatch.config import Guardrails, PolicyConfig
from skillmatch.engine import Engine

NOW = datetime(2026, 9, 21, 12, 0, tzinfo=timezone.utc)


@pytest.fixture()
def policy() -> PolicyConfig:
    return PolicyConfig(restricted_topics=["fraud"], guardrails=Guardrails(quota_per_window=50))


@pytest.fixture()
def engine(trained, tmp_path, policy):
    eng = Engine.load(trained[0], database_url=f"sqlite:///{tmp_path / 'ledger.db'}", policy=policy)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def logged(two_weeks) -> pd.DataFrame:
    """The simulated interactions, to draw realistic tickets from."""
    return two_weeks[0].interactions


def tickets_from(logged: pd.DataFrame, n: int, *, start: int = 0, age_s: float = 60.0) -> list[dict]:
    """n logged tickets as a routing round would send them, created `age_s` before NOW."""
    rows = logged.iloc[start:start + n]
    out = []
    for row in rows.itertuples(index=False):
        out.append({"ticket_id": f"R{row.ticket_id}", "created_at": (NOW - timedelta(seconds=age_s)).isoformat(),
                    "topic": row.topic, "channel": row.channel, "language": row.language,
                    "priority": int(row.priority), "customer_id": row.customer_id,
                    "customer_tier": row.customer_tier, "sentiment": float(row.sentiment),
                    "message_words": int(row.message_words)})
    return out


def agents_from(two_weeks, n: int, slots: int = 2) -> list[dict]:
    roster = two_weeks[0].agents.head(n)
    return [{"agent_id": a, "free_slots": slots} for a in roster["agent_id"]]
