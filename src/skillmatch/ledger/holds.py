"""Ticket holds: claimed work is locked, so two agents never take the same ticket, even when requests race.

A committed decision holds its ticket for its agent until the ticket's outcome is recorded or the hold
expires. A hold taken through claim-next (`pulled`) is a lock: no other decision may take the ticket
while it lasts. A hold from an assignment round is not: a later round may re-route the ticket (the
routing service moves work on purpose). Functions here run inside a transaction the store opens.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from skillmatch.ledger.errors import TicketHeld
from skillmatch.ledger.records import TicketHold
from skillmatch.ledger.tables import ticket_holds


def take_holds(conn: Connection, insert: object, holds: Sequence[TicketHold], now: datetime) -> None:
    """Take every hold or raise TicketHeld (the caller's transaction then rolls back); tickets in sorted order.

    A ticket is free when nobody holds it, its hold expired by `now`, the holder is the same agent, or
    (for a round's push) the hold was itself pushed by a round. INSERT ... ON CONFLICT DO NOTHING then a
    conditional UPDATE: under PostgreSQL's row locks a concurrent taker waits and re-checks, so exactly
    one of two racing decisions gets the ticket.
    """
    for hold in sorted(holds, key=lambda h: h.ticket_id):
        values = {"ticket_id": hold.ticket_id, "agent_id": hold.agent_id, "pulled": hold.pulled,
                  "decided_at": now, "held_until": hold.held_until}
        # RETURNING, not rowcount: drivers report -1 for an INSERT whose primary key they fetch
        inserted = conn.execute(insert(ticket_holds).values(values)  # type: ignore[operator]
                                .on_conflict_do_nothing(index_elements=[ticket_holds.c.ticket_id])
                                .returning(ticket_holds.c.ticket_id)).first()
        if inserted is not None:
            continue
        free = sa.or_(ticket_holds.c.held_until <= now, ticket_holds.c.agent_id == hold.agent_id)
        if not hold.pulled:
            free = sa.or_(free, ticket_holds.c.pulled.is_(False))
        updated = conn.execute(ticket_holds.update().where(ticket_holds.c.ticket_id == hold.ticket_id, free)
                               .values(values).returning(ticket_holds.c.ticket_id)).first()
        if updated is None:
            holder = conn.execute(sa.select(ticket_holds.c.agent_id)
                                  .where(ticket_holds.c.ticket_id == hold.ticket_id)).scalar_one_or_none()
            raise TicketHeld(hold.ticket_id, holder or "?")


def select_holds(conn: Connection, ticket_ids: Sequence[str], now: datetime) -> dict[str, TicketHold]:
    """The holds still in force at `now` on these tickets, by ticket id."""
    found: dict[str, TicketHold] = {}
    ids = sorted(set(ticket_ids))
    for start in range(0, len(ids), 500):
        stmt = sa.select(ticket_holds).where(ticket_holds.c.ticket_id.in_(ids[start:start + 500]),
                                             ticket_holds.c.held_until > now)
        for r in conn.execute(stmt):
            found[r.ticket_id] = TicketHold(ticket_id=r.ticket_id, agent_id=r.agent_id, pulled=bool(r.pulled),
                                            held_until=r.held_until)
    return found


def select_active_holds(conn: Connection, now: datetime) -> dict[str, TicketHold]:
    """Every hold still in force at `now`, by ticket id (the work in progress of the whole center)."""
    stmt = sa.select(ticket_holds).where(ticket_holds.c.held_until > now)
    return {r.ticket_id: TicketHold(ticket_id=r.ticket_id, agent_id=r.agent_id, pulled=bool(r.pulled),
                                    held_until=r.held_until) for r in conn.execute(stmt)}


def release_holds(conn: Connection, ticket_ids: Sequence[str]) -> None:
    """Drop the holds of tickets whose outcome arrived (the work is done)."""
    ids = sorted(set(ticket_ids))
    for start in range(0, len(ids), 500):
        conn.execute(ticket_holds.delete().where(ticket_holds.c.ticket_id.in_(ids[start:start + 500])))
