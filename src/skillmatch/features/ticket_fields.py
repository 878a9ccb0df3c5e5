"""The ticket fields a routing round reads, one list per field, read once per ticket object.

A claim stream scores nearly the same queue on every request, and the HTTP API gives a ticket sent again
as the same (immutable) `Ticket` object (`skillmatch.api.bodies`). `TicketFieldReader` keeps each ticket's
values by object (when the caller says it sends the same objects again), so a round reads only its new
tickets' fields and builds its columns in one transposition.
"""
from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from skillmatch.records import Ticket

MAX_TICKETS = 20_000
"""Ticket objects remembered (with their values); the oldest quarter is forgotten when there are more."""
_TOKENS = itertools.count()  # one sequence for every reader: a token never stands for two tickets in one process


class TicketFieldReader:
    """Columns of `names` (None where a ticket did not send an extra field) and creation times of a round's tickets."""

    def __init__(self, names: Sequence[str], max_tickets: int = MAX_TICKETS) -> None:
        self.names = list(dict.fromkeys(names))
        self.max_tickets = max_tickets
        self._declared = [name for name in self.names if name in Ticket.model_fields]
        self._extra = [name for name in self.names if name not in Ticket.model_fields]
        self._sources = [(name, name in Ticket.model_fields) for name in self.names]
        self._kept: dict[int, tuple[Ticket, tuple[Any, ...]]] = {}  # id(ticket) -> (the ticket, its values)

    def __len__(self) -> int:
        """Ticket objects remembered."""
        return len(self._kept)

    def read(self, tickets: Sequence[Ticket], remember: bool = True) -> tuple[dict[str, list[Any]], np.ndarray]:
        """({name: one value per ticket}, creation times in POSIX seconds).

        `remember`: keep these ticket objects' values for later rounds (when the caller sends the same objects
        again; a caller that builds new tickets on every call would only fill the memory).
        """
        return self.read_with_tokens(tickets, remember)[:2]

    def read_with_tokens(self, tickets: Sequence[Ticket], remember: bool = True
                         ) -> tuple[dict[str, list[Any]], np.ndarray, np.ndarray | None]:
        """`read`, and with `remember` a token per ticket: equal tokens, equal tickets, in the whole process
        (a remembered ticket keeps its token; one forgotten and met again gets a new one)."""
        if not remember:
            return (*self._columns(tickets), None)
        kept = self._kept
        if len(kept) > self.max_tickets:
            for key in list(itertools.islice(kept, len(kept) // 4)):  # insertion order: the oldest first
                kept.pop(key, None)
        found = list(map(kept.get, map(id, tickets)))  # kept tickets stay alive: their ids are not reused
        if None in found:
            for i in [i for i, entry in enumerate(found) if entry is None]:
                found[i] = kept[id(tickets[i])] = (tickets[i], (*self._values(tickets[i]), next(_TOKENS)))
        if not found:
            return {name: [] for name in self.names}, np.empty(0), np.empty(0, dtype=np.int64)
        *columns, created, tokens = zip(*map(operator.itemgetter(1), found))
        return (dict(zip(self.names, map(list, columns))), np.array(created, dtype=float),
                np.array(tokens, dtype=np.int64))

    def _values(self, ticket: Ticket) -> tuple[Any, ...]:
        """One ticket's values of `names`, then its creation time."""
        fields = ticket.__dict__  # a pydantic model's declared fields (one look-up each, not getattr)
        extra = ticket.model_extra or {}
        return (*[fields[name] if declared else extra.get(name) for name, declared in self._sources],
                ticket.created_at.timestamp())

    def _columns(self, tickets: Sequence[Ticket]) -> tuple[dict[str, list[Any]], np.ndarray]:
        """`read` without remembering: field by field over the tickets (faster than ticket by ticket)."""
        rows = [t.__dict__ for t in tickets]
        columns = {name: [row[name] for row in rows] for name in self._declared}
        extras = [t.model_extra or {} for t in tickets] if self._extra else []
        columns.update({name: [extra.get(name) for extra in extras] for name in self._extra})
        created = np.fromiter((t.created_at.timestamp() for t in tickets), dtype=float, count=len(tickets))
        return {name: columns[name] for name in self.names}, created


__all__ = ["MAX_TICKETS", "TicketFieldReader"]
