"""What a routing round reads from the ledger, read in one transaction and reused for a moment.

A round needs the window's fair-share and growth counters, the periods agents spend out of the queue
and the ticket holds in force. Reading them takes four queries; a claim-next stream asks hundreds of
times a second. `RoutingStateCache` keeps the last reading while nothing was written through the same
`Ledger` since, for at most `max_age_s` (what another process writes shows up within that time), and
never reuses a reading for an earlier `now` than the one it was taken at.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from skillmatch.ledger.records import FairShareCounter, TicketHold, UnavailablePeriod

if TYPE_CHECKING:
    from skillmatch.ledger.store import Ledger


@dataclass(frozen=True)
class RoutingState:
    """The ledger as a round sees it: counters of one window, periods out of the queue, holds in force at `as_of`."""

    window_start: datetime
    window_end: datetime
    as_of: datetime
    fair_share: dict[str, FairShareCounter]
    growth_used: dict[tuple[str, str], int]
    unavailable: dict[str, list[UnavailablePeriod]]
    holds: dict[str, TicketHold]

    def holds_on(self, ticket_ids: list[str], now: datetime) -> dict[str, TicketHold]:
        """The holds in force at `now` on these tickets (`now` no earlier than `as_of`: holds that had ended by
        then were not read)."""
        held = self.holds.keys() & ticket_ids  # few holds, many tickets: the set operation loops in C
        return {ticket_id: self.holds[ticket_id] for ticket_id in held if self.holds[ticket_id].held_until > now}


class RoutingStateCache:
    """The last `RoutingState` of a ledger, reused while it is current (see the module docstring)."""

    def __init__(self, ledger: Ledger, max_age_s: float) -> None:
        self.ledger = ledger
        self.max_age_s = max_age_s
        self._state: RoutingState | None = None
        self._read_at = 0.0
        self._generation = -1
        self._lock = threading.Lock()

    def get(self, window_start: datetime, window_end: datetime, now: datetime, fresh: bool = False) -> RoutingState:
        """The state of this window at `now`; `fresh` reads the ledger whatever the cache holds."""
        with self._lock:
            state = self._state
            if (not fresh and state is not None and state.window_start == window_start
                    and state.window_end == window_end and state.as_of <= now
                    and self._generation == self.ledger.generation
                    and time.monotonic() - self._read_at < self.max_age_s):
                return state
            generation = self.ledger.generation  # before reading: a write meanwhile invalidates
            read_at = time.monotonic()
            state = self.ledger.routing_state(window_start, window_end, now)
            self._state, self._read_at, self._generation = state, read_at, generation
            return state


__all__ = ["RoutingState", "RoutingStateCache"]
