"""Rows kept across rounds (the ticket side, agent rows): computed once per distinct key, never for a key it cannot keep."""
from __future__ import annotations

import numpy as np

from skillmatch.models.row_cache import RowCache


class Counting:
    """A compute function that records which positions it was asked for; row = (position, key's number)."""

    def __init__(self, keys: list) -> None:
        self.keys = keys
        self.asked: list[list[int]] = []

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        self.asked.append(positions.tolist())
        return np.array([[float(i), float(hash(str(self.keys[i])) % 1000)] for i in positions])


def test_each_distinct_ticket_is_computed_once() -> None:
    cache = RowCache()
    first_keys = [("a", 1), ("b", 2), ("c", 3)]
    first = Counting(first_keys)
    rows = cache.rows(first_keys, first)
    assert first.asked == [[0, 1, 2]] and rows.shape == (3, 2)

    later_keys = [("c", 3), ("d", 4), ("a", 1)]
    later = Counting(later_keys)
    again = cache.rows(later_keys, later)

    assert later.asked == [[1]]  # only the new ticket
    np.testing.assert_array_equal(again[0], rows[2])
    np.testing.assert_array_equal(again[2], rows[0])
    assert len(cache) == 4


def test_keys_it_cannot_keep_are_computed_every_time() -> None:
    cache = RowCache()
    keys = [("a", ["unhashable", "list"]), None, ("b", 1)]
    for _ in range(2):
        compute = Counting(keys)
        cache.rows(keys, compute)
    assert compute.asked == [[0, 1]]
    assert len(cache) == 1


def test_a_full_cache_drops_its_oldest_tickets() -> None:
    cache = RowCache(max_rows=8)
    for start in range(0, 40, 4):
        keys = [("t", i) for i in range(start, start + 4)]
        cache.rows(keys, Counting(keys))
    assert len(cache) <= 8
    newest = [("t", i) for i in range(36, 40)]
    compute = Counting(newest)
    rows = cache.rows(newest, compute)
    assert compute.asked == []
    # places of dropped tickets were reused: every kept row is still its own key's
    assert rows[:, 1].tolist() == [float(hash(str(k)) % 1000) for k in newest]


def test_each_kept_row_has_an_id_that_stands_for_its_values() -> None:
    cache = RowCache(max_rows=8)
    keys = [("a", 1), ("b", 2), ("a", ["unhashable"]), None]
    rows, ids = cache.rows_with_ids(keys, Counting(keys))
    assert ids[0] >= 0 and ids[1] >= 0 and ids[0] != ids[1]
    assert ids[2] == ids[3] == -1  # computed, not kept: no id
    again_keys = [("b", 2), ("a", 1)]
    again, again_ids = cache.rows_with_ids(again_keys, Counting(again_keys))
    assert again_ids.tolist() == [ids[1], ids[0]]
    np.testing.assert_array_equal(again, rows[[1, 0]])
    for start in range(10, 50, 4):  # "a" and "b" are dropped; a ticket kept again gets a new id
        more = [("t", i) for i in range(start, start + 4)]
        cache.rows_with_ids(more, Counting(more))
    _, back = cache.rows_with_ids([("a", 1)], Counting([("a", 1)]))
    assert back[0] not in ids


def test_rows_no_longer_valid_are_computed_again_under_a_new_id() -> None:
    cache = RowCache()
    keys = [("a", 1), ("b", 2)]
    _, ids = cache.rows_with_ids(keys, Counting(keys))
    compute = Counting(keys)
    rows, again = cache.rows_with_ids(keys, compute, still_valid=lambda kept: kept[:, 0] != 1.0)  # "b" has aged
    assert compute.asked == [[1]]
    assert again[0] == ids[0] and again[1] not in ids
    assert rows[:, 0].tolist() == [0.0, 1.0]
    _, after = cache.rows_with_ids(keys, Counting(keys))
    assert after.tolist() == again.tolist()  # the fresh row replaced the aged one


def test_cleared_rows_are_computed_again_and_ids_are_never_given_twice() -> None:
    cache, other = RowCache(), RowCache()
    keys = [("a", 1), ("b", 2)]
    _, ids = cache.rows_with_ids(keys, Counting(keys))
    cache.clear()
    compute = Counting(keys)
    _, again = cache.rows_with_ids(keys, compute)
    _, others = other.rows_with_ids(keys, Counting(keys))
    assert compute.asked == [[0, 1]] and len(cache) == 2
    assert len({*ids.tolist(), *again.tolist(), *others.tolist()}) == 6
