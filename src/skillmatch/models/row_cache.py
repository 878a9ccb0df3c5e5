"""One side of the pair scores, kept across rounds: a row of feature values per key, computed once and looked up after.

A claim-next stream scores the same waiting tickets with the same agents on every request. What depends
on a ticket alone (its fields, its creation time and how often its customer called in the last 7 days)
gives the same feature row and the same reference difficulty every time; an agent's row for a topic
changes only as its history does, or as time moves it across one of the forest's splits. Rows are kept
per key: the key holds every input of the computation, and a caller whose rows age passes `still_valid`,
so a reused row is one a fresh computation would give (tested); anything unhashable is simply computed.
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Hashable, Sequence

import numpy as np

MAX_ROWS = 50_000
"""Distinct keys kept (a few hundred bytes each); the oldest quarter goes when the cache is full."""
_NOT_KEPT = (-1, -1)
_IDS = itertools.count()  # one sequence for every cache: an id never stands for two rows in one process


class RowCache:
    """Per key, one row (e.g. a ticket's feature values followed by its reference values) and the row's id.

    Rows live in one array (a round's rows are gathered in one take); a dropped key's place is reused.
    """

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        self._rows: dict[Hashable, tuple[int, int]] = {}  # key -> (id, place in _arena)
        self._arena = np.empty((0, 0))
        self._free: list[int] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self, keys: Sequence[Hashable | None], compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """(len(keys), width): the cached row of each key, `compute(positions)` for the others (None: never cached).

        `keys` must not be empty (the width of no rows is unknown here).
        """
        return self.rows_with_ids(keys, compute)[0]

    def clear(self) -> None:
        """Forget every row (ids are never given again)."""
        with self._lock:
            self._free.extend(place for _, place in self._rows.values())
            self._rows.clear()

    def rows_with_ids(self, keys: Sequence[Hashable | None], compute: Callable[[np.ndarray], np.ndarray],
                      still_valid: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """`rows`, and per row the id of its values: equal ids, equal values, in the whole process (-1: not kept).

        `still_valid(kept)`: which of the kept rows `kept` (k, width) may be reused; the others are computed
        again and replace them (under a new id).
        """
        with self._lock:  # places are reused once dropped: read them and their rows together
            found = np.fromiter(itertools.chain.from_iterable(self._entries(keys)), dtype=np.int64,
                                count=2 * len(keys)).reshape(len(keys), 2)
            ids, places = found[:, 0], found[:, 1]
            known = np.flatnonzero(places >= 0)
            kept = self._arena[places[known]]
        if still_valid is not None and len(known):
            valid = np.asarray(still_valid(kept), dtype=bool)
            if not valid.all():
                places[known[~valid]] = -1
                known, kept = known[valid], kept[valid]
        missing = np.flatnonzero(places < 0)
        if not len(missing):
            return kept, ids
        fresh = np.asarray(compute(missing), dtype=float)
        out = np.empty((len(keys), fresh.shape[1]))
        out[missing] = fresh
        if len(known):
            out[known] = kept
        with self._lock:
            for j, i in enumerate(missing.tolist()):
                ids[i] = self._store(keys[i], fresh[j])
        return out, ids

    def _entries(self, keys: Sequence[Hashable | None]) -> list[tuple[int, int]]:
        """(id, place) of each key, (-1, -1) for those not kept (None and unhashable keys included)."""
        get = self._rows.get
        try:
            return list(map(get, keys, itertools.repeat(_NOT_KEPT)))  # None is never stored
        except TypeError:  # an unhashable field value somewhere: key by key
            return [self._entry(key) for key in keys]

    def _entry(self, key: Hashable | None) -> tuple[int, int]:
        try:
            return self._rows.get(key, _NOT_KEPT)
        except TypeError:
            return _NOT_KEPT

    def _store(self, key: Hashable | None, row: np.ndarray) -> int:
        """Keep `row` under `key`; its id (-1 when the key cannot be kept)."""
        if key is None:
            return -1
        try:
            hash(key)
        except TypeError:
            return -1
        if not self._free:
            self._grow(len(row))
        place = self._free.pop()
        self._arena[place] = row
        previous = self._rows.pop(key, None)
        if previous is not None:
            self._free.append(previous[1])
        entry = self._rows[key] = (next(_IDS), place)
        if len(self._rows) > self.max_rows:
            for old in list(self._rows)[: max(1, self.max_rows // 4)]:  # insertion order: the oldest first
                self._free.append(self._rows.pop(old)[1])
        return entry[0]

    def _grow(self, width: int) -> None:
        size = len(self._arena)
        grown = np.empty((max(64, 2 * size), width))
        if size:
            grown[:size] = self._arena
        self._arena = grown
        self._free.extend(range(len(grown) - 1, size - 1, -1))


__all__ = ["MAX_ROWS", "RowCache"]
