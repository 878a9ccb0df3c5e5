"""Supervision fixtures: the API and engine fixtures on the two-week model, and work items built by hand."""
from __future__ import annotations

from datetime import datetime, timedelta

from skillmatch.ledger import WorkItem

from ..api.conftest import NOW, agents_from, client, logged, models_dir, round_body, settings, tickets_from
from ..engine.conftest import engine, policy

__all__ = ["NOW", "agents_from", "client", "engine", "item", "logged", "models_dir", "policy", "round_body",
           "settings", "tickets_from"]


def item(ticket_id: str, decided: datetime, *, agent_id: str = "A1", channel: str | None = "chat",
         created: datetime | None = None, closed: datetime | None = None, handle_s: float = 600.0,
         customer_id: str | None = None, capacity: int | None = 1) -> WorkItem:
    """A routed ticket as the ledger gives it back (closed when `closed` is given)."""
    return WorkItem(ticket_id=ticket_id, agent_id=agent_id, topic="billing", channel=channel,
                    created_at=created or decided - timedelta(seconds=10), customer_id=customer_id, priority=3,
                    capacity=capacity, decided_at=decided, predicted_handle_s=handle_s, closed_at=closed,
                    handle_time_s=None if closed is None else handle_s)
