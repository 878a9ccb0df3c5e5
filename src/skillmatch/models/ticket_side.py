"""A ticket's side of the pair scores, kept across rounds: its features as the models read them and its reference difficulty.

A claim-next stream scores the same waiting tickets again on every request. What depends on the ticket
alone (its fields, its creation time and how often its customer called in the last 7 days) gives the
same feature row and the same reference difficulty every time, so they are computed once per distinct
ticket and looked up after. The key holds every input of that computation, so a reused value is the
value a fresh computation would give (tested); anything unhashable is simply computed.
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Hashable, Sequence

import numpy as np

MAX_TICKETS = 50_000
"""Distinct tickets kept (a few hundred bytes each); the oldest quarter goes when the cache is full."""


class TicketSideCache:
    """Per ticket key, one row (the ticket's feature values followed by its reference values) and the row's id."""

    def __init__(self, max_tickets: int = MAX_TICKETS) -> None:
        self.max_tickets = max_tickets
        self._rows: dict[Hashable, tuple[int, np.ndarray]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count()

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self, keys: Sequence[Hashable | None], compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """(len(keys), width): the cached row of each key, `compute(positions)` for the others (None: never cached).

        `keys` must not be empty (the width of no rows is unknown here).
        """
        return self.rows_with_ids(keys, compute)[0]

    def rows_with_ids(self, keys: Sequence[Hashable | None],
                      compute: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """`rows`, and per row the id of its values: equal ids, equal values, for the life of the cache (-1: not kept)."""
        found: list[tuple[int, np.ndarray] | None] = []
        for key in keys:
            try:
                found.append(self._rows.get(key) if key is not None else None)
            except TypeError:  # an unhashable field value
                found.append(None)
        missing = np.array([i for i, entry in enumerate(found) if entry is None], dtype=np.int64)
        fresh = compute(missing) if len(missing) else None
        if fresh is not None:
            with self._lock:
                for j, i in enumerate(missing.tolist()):
                    found[i] = self._store(keys[i], fresh[j].copy())
        return (np.vstack([row for _, row in found]),  # type: ignore[misc]
                np.array([row_id for row_id, _ in found], dtype=np.int64))  # type: ignore[misc]

    def _store(self, key: Hashable | None, row: np.ndarray) -> tuple[int, np.ndarray]:
        if key is None:
            return -1, row
        entry = (next(self._ids), row)
        try:
            self._rows[key] = entry
        except TypeError:
            return -1, row
        if len(self._rows) > self.max_tickets:
            for old in list(self._rows)[: max(1, self.max_tickets // 4)]:  # insertion order: the oldest first
                del self._rows[old]
        return entry


__all__ = ["MAX_TICKETS", "TicketSideCache"]
