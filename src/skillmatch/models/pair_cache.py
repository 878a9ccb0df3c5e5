"""Pair scores kept across rounds: a (ticket, agent row) pair whose inputs fall on the same side of every split scores the same.

A claim-next stream asks about the same waiting tickets and the same agents on every request; only
`now` moves (an agent's tenure and days since it last worked a topic) and outcomes arrive now and then.
A pair's score depends on its ticket row and its agent row only through which side of each split they
fall. So an agent row is identified by, per feature, the interval between the forest's thresholds on
that feature its value lies in (with nan and LightGBM's zero apart; a categorical value as it is), and
a pair's scores are kept per (ticket row, agent-row class). Two agent rows of one class reach the same
leaves with every ticket, so a kept score is the score a fresh computation gives, bit for bit (tested).
Rows are identified by the id a `RowCache` gave them; rows without one are always computed.
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from skillmatch.models.factored import _CATEGORICAL, ZERO_THRESHOLD, Forest

MAX_PAIRS = 400_000
"""Pair scores kept (`width` floats each: the models' scores, or what `finish` makes of them); when full,
everything kept is dropped and built up again."""
MAX_CLASSES = 200_000
"""Agent-row classes kept (each agent's history moves it to a new class as outcomes arrive)."""
MAX_TICKET_MASKS = 4_096
"""Ticket rows whose leaf masks are kept (8 bytes per tree each); the oldest quarter goes when full."""
_CLASS_BITS = 32


class PairScoreCache:
    """`forest.predict` of (left row, right row) pairs, reusing the scores of pairs seen before.

    With `finish` (an elementwise map of `forest.predict`'s (n_models, n) to (width, n), e.g. calibration)
    what is kept and returned are the finished values, so kept pairs skip that work too.
    """

    def __init__(self, forest: Forest, left_columns: Sequence[int], right_columns: Sequence[int],
                 max_pairs: int = MAX_PAIRS, max_classes: int = MAX_CLASSES,
                 max_ticket_masks: int = MAX_TICKET_MASKS,
                 finish: tuple[Callable[[np.ndarray], np.ndarray], int] | None = None) -> None:
        forest.check_sides(left_columns, right_columns)
        self.forest = forest
        self._finish, self.width = finish if finish is not None else (None, forest.n_models)
        self.left_columns = [int(c) for c in left_columns]
        self.right_columns = [int(c) for c in right_columns]
        self.max_pairs, self.max_classes, self.max_ticket_masks = max_pairs, max_classes, max_ticket_masks
        self._offsets, self._points, self._categorical = _split_points(forest, self.right_columns)
        self._lock = threading.Lock()
        self._classes: dict[bytes, int] = {}
        self._slot = _SlotTable(max_pairs)  # pair key -> column of _values (looked up in bulk)
        # a pair's scores are a row: gathered in one take. Reserved for max_pairs at once: untouched pages take no
        # memory, and growing by copying stalled a claim for up to 20 ms (18 MB fresh pages at 280k pairs)
        self._values = np.empty((max_pairs, self.width))
        self._filled = 0  # columns of _values in use (a key met twice in one call takes two)
        self._ticket_masks: dict[int, np.ndarray] = {}
        self._class_masks: dict[int, np.ndarray] = {}  # agent-row class id -> its masks (dropped with the classes)
        self._class_of_row: dict[int, int] = {}  # right row id -> its class id (dropped with the classes)
        self._generation = 0  # class ids are given anew after each clear: scores of older ids are not kept

    def __len__(self) -> int:
        return self._slot.count

    def predict(self, left: np.ndarray, left_ids: np.ndarray, left_row: np.ndarray, right: np.ndarray,
                right_row: np.ndarray, right_ids: np.ndarray | None = None) -> np.ndarray:
        """(width, n_pairs): `forest.predict` of pair i = (`left[left_row[i]]`, `right[right_row[i]]`), finished.

        `left_ids[r]` identifies the values of left row r across calls (-1: not identified, never kept);
        `right_ids`, if given, the same for right rows (their classes are then looked up, not worked out).
        """
        left_row, right_row = np.asarray(left_row, dtype=np.int64), np.asarray(right_row, dtype=np.int64)
        left_ids = np.asarray(left_ids, dtype=np.int64)
        if not len(left_row):
            return np.empty((self.width, 0))
        with self._lock:
            classes = self._classes_of(right, right_ids)
            generation = self._generation
            keys = (left_ids[left_row] << _CLASS_BITS) | classes[right_row]
            keys[left_ids[left_row] < 0] = -1
            slots = np.empty(len(keys), dtype=np.int64)
            self._slot.lookup(keys, slots)
            out = self._values[slots].T  # a gathered copy (width, n_pairs); the misses are filled below
        missing = np.flatnonzero(slots < 0)
        if len(missing):
            out[:, missing] = self._compute(left, left_ids, left_row[missing], right, classes, right_row[missing],
                                            generation)
            with self._lock:
                if generation == self._generation:
                    self._store(keys[missing], out[:, missing])
        return out

    def _classes_of(self, right: np.ndarray, right_ids: np.ndarray | None = None) -> np.ndarray:
        """Per right row, the id of its class: which side of every split on its features it falls (kept per
        row id: an id stands for the same values)."""
        if len(self._classes) + len(right) > self.max_classes:
            self._classes.clear()
            self._class_masks, self._class_of_row = {}, {}
            self._slot.clear()
            self._filled = 0
            self._generation += 1
        if right_ids is None:
            return self._work_out_classes(right)
        right_ids = np.asarray(right_ids, dtype=np.int64)
        known = self._class_of_row
        classes = np.fromiter(map(known.get, right_ids.tolist(), itertools.repeat(-1)), dtype=np.int64,
                              count=len(right_ids))
        todo = np.flatnonzero(classes < 0)
        if len(todo):
            classes[todo] = self._work_out_classes(np.asarray(right)[todo])
            if len(known) > self.max_classes:
                known.clear()
            known.update((i, c) for i, c in zip(right_ids[todo].tolist(), classes[todo].tolist()) if i >= 0)
        return classes

    def _work_out_classes(self, right: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(right, dtype=np.float64)
        codes = np.empty(X.shape, dtype=np.int64)
        _kernels()["codes"](X, X.view(np.int64), self._offsets, self._points, self._categorical, ZERO_THRESHOLD, codes)
        classes = self._classes
        width = codes.dtype.itemsize * codes.shape[1]  # each row's codes as one bytes key (b"" without columns)
        keys = codes.view(np.dtype((np.void, width))).ravel().tolist() if width else [b""] * len(codes)
        return np.fromiter((classes.setdefault(key, len(classes)) for key in keys), dtype=np.int64, count=len(codes))

    def class_horizons(self, right: np.ndarray, drift: np.ndarray) -> np.ndarray:
        """Per right row, how many seconds its class lasts while each feature moves by `drift` (per second;
        right's shape) from its value: until the first moving value crosses a split (inf: never).

        A numerical value keeps its class while it stays in its interval between thresholds (`x <= t` tests)
        and on its side of LightGBM's zero (|x| <= 1e-35); a moving categorical value lasts 0 seconds.
        """
        right, drift = np.asarray(right, dtype=float), np.asarray(drift, dtype=float)
        horizon = np.full(len(right), np.inf)
        for j in np.flatnonzero((drift > 0).any(axis=0)):
            moving = (drift[:, j] > 0) & ~np.isnan(right[:, j])
            if self._categorical[j]:
                horizon[moving] = 0.0
                continue
            points = np.sort(np.concatenate([self._points[self._offsets[j]:self._offsets[j + 1]],
                                             [-ZERO_THRESHOLD, ZERO_THRESHOLD]]))
            x = right[moving, j]
            at = np.searchsorted(points, x, side="left")  # the first point >= x: where its interval ends
            ahead = np.where(at < len(points), points[np.minimum(at, len(points) - 1)], np.inf)
            horizon[moving] = np.minimum(horizon[moving], (ahead - x) / drift[moving, j])
        return horizon

    def _compute(self, left: np.ndarray, left_ids: np.ndarray, left_row: np.ndarray, right: np.ndarray,
                 classes: np.ndarray, right_row: np.ndarray, generation: int) -> np.ndarray:
        """`forest.predict` of the given pairs, from the kept masks of their rows where there are any (`classes`:
        the right rows' class ids of `generation`)."""
        used_left, left_at = np.unique(left_row, return_inverse=True)
        used_right, right_at = np.unique(right_row, return_inverse=True)
        left_masks = self._left_masks(left, left_ids, used_left)
        right_masks = self._right_masks(right, classes, used_right, generation)
        scores = self.forest.predict(left_masks, left_at, right_masks, right_at)
        return scores if self._finish is None else self._finish(scores)

    def _right_masks(self, right: np.ndarray, classes: np.ndarray, rows: np.ndarray, generation: int) -> np.ndarray:
        """The masks of right rows, kept per class: rows of one class fall on the same side of every split, so
        they leave the same leaves possible (an agent's class changes only when its features cross a split)."""
        def keep(key: int, masks: np.ndarray) -> None:
            if generation == self._generation:  # class ids of an older generation name other classes now
                self._class_masks[key] = masks

        return self._masks(np.asarray(right)[rows], self.right_columns, [int(classes[r]) for r in rows],
                           lambda: self._class_masks if generation == self._generation else {}, keep)

    def _left_masks(self, left: np.ndarray, left_ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self._masks(np.asarray(left)[rows], self.left_columns,
                           [int(left_ids[r]) if left_ids[r] >= 0 else None for r in rows],
                           lambda: self._ticket_masks, self._keep_masks)

    def _masks(self, side: np.ndarray, columns: list[int], keys: list[int | None],
               kept: Callable[[], dict[int, np.ndarray]], keep: Callable[[int, np.ndarray], None]) -> np.ndarray:
        """(n_trees, len(side)): the masks of rows of one side, those kept under their key looked up (`kept()`,
        read under the lock), the others computed and given to `keep` (a None key: never kept)."""
        with self._lock:
            store = kept()
            found = [store.get(key) if key is not None else None for key in keys]
        todo = [j for j, m in enumerate(found) if m is None]
        if todo:
            fresh = self.forest.masks(side[todo], columns)
            with self._lock:
                for k, j in enumerate(todo):
                    found[j] = fresh[:, k].copy()
                    if keys[j] is not None:
                        keep(keys[j], found[j])
        return np.column_stack(found) if found else np.empty((self.forest.n_trees, 0), dtype=np.uint64)

    def _keep_masks(self, left_id: int, masks: np.ndarray) -> None:
        self._ticket_masks[left_id] = masks
        if len(self._ticket_masks) > self.max_ticket_masks:
            for old in list(self._ticket_masks)[: max(1, self.max_ticket_masks // 4)]:
                del self._ticket_masks[old]

    def _store(self, keys: np.ndarray, values: np.ndarray) -> None:
        keep = keys >= 0
        keys, values = np.ascontiguousarray(keys[keep]), values[:, keep]
        if self._filled + len(keys) > self.max_pairs:
            self._slot.clear()
            self._filled = 0
        start = self._filled
        if start + len(keys) > len(self._values):  # start is 0 here: one call brought more than max_pairs pairs
            self._values = np.empty((start + len(keys), self.width))
        self._values[start:start + len(keys)] = values.T
        self._filled = start + len(keys)
        self._slot.insert(keys, np.arange(start, start + len(keys), dtype=np.int64))


class _SlotTable:
    """Pair key (>= 0) -> slot, an open-addressing hash table in two arrays, looked up and filled in bulk.

    numba's typed dict took 50 us to look up a claim's 2200 pairs (135 us inside a claim, with its cache
    misses); this table takes 5 us. It is kept at most half full: it grows before it would be fuller.
    """

    def __init__(self, expected: int) -> None:
        self.count = 0
        self._allocate(expected)

    def _allocate(self, expected: int) -> None:
        bits = max(4, int(2 * max(expected, 1) - 1).bit_length())
        self._keys = np.full(1 << bits, -1, dtype=np.int64)
        self._slots = np.empty(1 << bits, dtype=np.int64)
        self._shift = np.uint64(64 - bits)

    def clear(self) -> None:
        self._keys.fill(-1)
        self.count = 0

    def lookup(self, keys: np.ndarray, out: np.ndarray) -> None:
        """out[i] = the slot of keys[i], -1 where there is none (or keys[i] < 0)."""
        _kernels()["lookup"](self._keys, self._slots, self._shift, keys, out)

    def insert(self, keys: np.ndarray, slots: np.ndarray) -> None:
        """Keys (>= 0) get these slots (a key given twice keeps the last)."""
        if 2 * (self.count + len(keys)) > len(self._keys):
            old_keys, old_slots = self._keys, self._slots
            kept = old_keys >= 0
            self._allocate(self.count + len(keys))
            self.count = _kernels()["insert"](self._keys, self._slots, self._shift, old_keys[kept], old_slots[kept])
        self.count += _kernels()["insert"](self._keys, self._slots, self._shift, keys, slots)


def _lookup(table_keys, table_slots, shift, keys, out):  # noqa: ANN001, ANN202 - compiled by numba (see _kernels)
    mask = len(table_keys) - 1
    for i in range(keys.shape[0]):
        key = keys[i]
        out[i] = -1
        if key < 0:
            continue
        j = np.int64((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> shift) & mask  # Fibonacci hashing
        while table_keys[j] != -1:
            if table_keys[j] == key:
                out[i] = table_slots[j]
                break
            j = (j + 1) & mask


def _insert(table_keys, table_slots, shift, keys, slots):  # noqa: ANN001, ANN202
    mask = len(table_keys) - 1
    added = 0
    for i in range(keys.shape[0]):
        key = keys[i]
        j = np.int64((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> shift) & mask
        while table_keys[j] != -1 and table_keys[j] != key:
            j = (j + 1) & mask
        if table_keys[j] == -1:
            added += 1
        table_keys[j] = key
        table_slots[j] = slots[i]
    return added


_KERNELS: dict[str, Callable[..., Any]] = {}


def _kernels() -> dict[str, Callable[..., Any]]:
    """The slot table's bulk look-up and insert and the interval codes, compiled (or loaded from disk) once."""
    if not _KERNELS:
        import numba

        jit = numba.njit(cache=True, nogil=True)
        _KERNELS.update(lookup=jit(_lookup), insert=jit(_insert), codes=jit(_interval_codes))
    return _KERNELS


def _split_points(forest: Forest, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of a side, the sorted thresholds of the numerical splits on it (column j's are
    `points[offsets[j]:offsets[j + 1]]`), and whether it is categorical."""
    thresholds, categorical = [], []
    for column in columns:
        on = forest.feature == column  # the forest's nodes are its splits (leaves are in leaf_value)
        categorical.append(bool(np.any(forest.kind[on] == _CATEGORICAL)))
        thresholds.append(np.unique(forest.threshold[on & (forest.kind != _CATEGORICAL)]))
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in thresholds])]).astype(np.int64)
    points = np.concatenate(thresholds) if thresholds else np.empty(0)
    return offsets, points.astype(np.float64), np.array(categorical, dtype=np.bool_)


def _interval_codes(X, bits, offsets, points, categorical, zero, out):  # noqa: ANN001, ANN202 - numba (_kernels)
    # Equal codes in a column: every split on it sends both values the same way. A numerical value's code
    # is the interval between consecutive thresholds it lies in (LightGBM tests `x <= t`), with nan and
    # the values LightGBM reads as zero (|x| <= 1e-35) apart; a categorical value keeps its bits.
    for j in range(X.shape[1]):
        lo0, hi0 = offsets[j], offsets[j + 1]
        for i in range(X.shape[0]):
            x = X[i, j]
            if categorical[j]:
                out[i, j] = bits[i, j]
            elif x != x:
                out[i, j] = -1
            else:
                lo, hi = lo0, hi0  # the first threshold >= x (numpy's searchsorted, side "left")
                while lo < hi:
                    mid = (lo + hi) // 2
                    if points[mid] < x:
                        lo = mid + 1
                    else:
                        hi = mid
                out[i, j] = (lo - lo0) * 2 + (1 if abs(x) <= zero else 0)


__all__ = ["MAX_CLASSES", "MAX_PAIRS", "MAX_TICKET_MASKS", "PairScoreCache"]
