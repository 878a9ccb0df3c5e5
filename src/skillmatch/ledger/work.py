"""Supervision queries of the ledger: routed work and how it closed, time outside the queue, alert claims.

Functions here run inside a transaction the store opens (`Ledger._run`); the store's methods are the API.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from skillmatch.ledger.records import DecisionRow, UnavailablePeriod, WorkItem
from skillmatch.ledger.tables import alert_claims, decisions, outcomes, unavailability, work_items


def work_values(round_id: int, row: DecisionRow) -> dict[str, Any]:
    """The work_items row of one decision (ticket fields the decision row carried, None where absent)."""
    return {"round_id": round_id, "ticket_id": row.ticket_id, "agent_id": row.agent_id, "channel": row.channel,
            "created_at": row.created_at, "customer_id": row.customer_id,
            "priority": None if row.priority is None else int(row.priority),
            "capacity": None if row.capacity is None else int(row.capacity),
            "ticket": None if row.ticket is None else _storable(row.ticket), "decided_at": row.decided_at}


def _storable(ticket: dict[str, object]) -> dict[str, object]:
    """The ticket with non-finite numbers as None (strict JSON; a NaN extra field must not fail the round)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in ticket.items()}


def select_work(conn: Connection, since: datetime, agent_id: str | None = None) -> list[WorkItem]:
    """Tickets routed at or after `since` (the latest decision of each), oldest decision first, with outcomes."""
    stmt = (sa.select(work_items, decisions.c.topic, decisions.c.predicted, decisions.c.decision_id,
                      outcomes.c.closed_at.label("closed_at"), outcomes.c.handle_time_s.label("handle_time_s"))
            .join(decisions, sa.and_(decisions.c.round_id == work_items.c.round_id,
                                     decisions.c.ticket_id == work_items.c.ticket_id))
            .outerjoin(outcomes, outcomes.c.ticket_id == work_items.c.ticket_id)
            .where(work_items.c.decided_at >= since)
            .order_by(work_items.c.decided_at, decisions.c.decision_id))
    latest: dict[str, WorkItem] = {}
    for r in conn.execute(stmt).mappings():
        latest.pop(r["ticket_id"], None)  # a later decision (a hand-back, a re-route) supersedes an earlier one
        latest[r["ticket_id"]] = _work_item(r)
    return [w for w in latest.values() if agent_id is None or w.agent_id == agent_id]


def _work_item(r: Any) -> WorkItem:
    handle = (r["predicted"] or {}).get("handle_time_s")
    predicted = float(handle) if handle is not None and math.isfinite(float(handle)) else None
    return WorkItem(ticket_id=r["ticket_id"], agent_id=r["agent_id"], topic=r["topic"], channel=r["channel"],
                    created_at=r["created_at"] if r["created_at"] is not None else r["decided_at"],
                    customer_id=r["customer_id"], priority=r["priority"], capacity=r["capacity"],
                    decided_at=r["decided_at"], predicted_handle_s=predicted, closed_at=r["closed_at"],
                    handle_time_s=None if r["handle_time_s"] is None else float(r["handle_time_s"]),
                    ticket=r["ticket"])


def insert_unavailable(conn: Connection, period: UnavailablePeriod, recorded_at: datetime) -> int:
    """Store one period out of the queue; returns its id."""
    values = {"agent_id": period.agent_id, "start_at": period.start_at, "end_at": period.end_at,
              "reason": period.reason, "recorded_at": recorded_at}
    return int(conn.execute(unavailability.insert(), values).inserted_primary_key[0])


def select_unavailable(conn: Connection, start: datetime, end: datetime,
                       agent_ids: Sequence[str] | None = None) -> list[UnavailablePeriod]:
    """Periods that overlap [start, end), by agent then start."""
    stmt = (sa.select(unavailability).where(unavailability.c.start_at < end, unavailability.c.end_at > start)
            .order_by(unavailability.c.agent_id, unavailability.c.start_at, unavailability.c.period_id))
    if agent_ids is not None:
        stmt = stmt.where(unavailability.c.agent_id.in_(list(agent_ids)))
    return [UnavailablePeriod(agent_id=r.agent_id, start_at=r.start_at, end_at=r.end_at, reason=r.reason)
            for r in conn.execute(stmt)]


def claim(conn: Connection, insert: Any, keys: Sequence[str], owner: str, now: datetime) -> set[str]:
    """Insert claims for `keys`; the ones this call inserted (another process's claims are left alone)."""
    if not keys:
        return set()
    stmt = (insert(alert_claims).values([{"alert_key": k, "claimed_by": owner, "claimed_at": now} for k in keys])
            .on_conflict_do_nothing(index_elements=[alert_claims.c.alert_key]).returning(alert_claims.c.alert_key))
    return set(conn.execute(stmt).scalars())
