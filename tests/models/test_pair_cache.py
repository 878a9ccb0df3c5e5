"""Pair scores kept across rounds equal fresh ones, bit for bit, whatever the rows, the order and the evictions."""
from __future__ import annotations

import gc
import weakref

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillmatch.features import Roster, posix_seconds
from skillmatch.models import factored
from skillmatch.models.factored import Forest
from skillmatch.models.folder import read_model_folder
from skillmatch.models.pair_cache import PairScoreCache, _SlotTable

from .test_factored import _hard_rows, _profiles, _round_tickets

pytestmark = pytest.mark.skipif(not factored.AVAILABLE, reason="numba is not installed")
SPLIT_AT = 3


@pytest.fixture(scope="module")
def forest() -> Forest:
    """Two boosters over 7 features: a categorical one on each side, nan and zero-as-missing splits."""
    rng = np.random.default_rng(5)
    n = 3000
    X = rng.normal(size=(n, 7))
    X[:, 0] = rng.integers(0, 9, n)
    X[:, 4] = rng.integers(0, 6, n)
    X[rng.random((n, 7)) < 0.1] = np.nan
    X[rng.random((n, 7)) < 0.1] = 0.0
    signal = np.nan_to_num(X[:, 1]) + (np.nan_to_num(X[:, 4]) % 2 == 0) - (X[:, 5] == 0) + np.nan_to_num(X[:, 6])
    base = {"verbose": -1, "seed": 0, "num_threads": 1, "min_data_per_group": 5, "cat_smooth": 1}
    binary = lgb.train({**base, "objective": "binary"}, lgb.Dataset(X, (signal > 0.5).astype(float),
                                                                  categorical_feature=[0, 4]), num_boost_round=21)
    zero = lgb.train({**base, "objective": "regression", "zero_as_missing": True},
                     lgb.Dataset(X, signal, categorical_feature=[0, 4]), num_boost_round=13)
    return Forest.from_boosters([binary, zero])


def _fresh(forest: Forest, left: np.ndarray, left_row: np.ndarray, right: np.ndarray, right_row: np.ndarray):
    columns = list(range(forest.n_features))
    return forest.predict(forest.masks(left, columns[:SPLIT_AT]), left_row, forest.masks(right, columns[SPLIT_AT:]),
                          right_row)


def _calibrated(scores: np.ndarray) -> np.ndarray:
    """An elementwise finish of another width: a monotone map of the first model, the second's exp, both raw."""
    return np.vstack([np.interp(scores[0], [0.1, 0.5, 0.9], [0.0, 0.7, 1.0]), np.exp(scores[1]), scores])


@pytest.mark.parametrize("finish", [None, (_calibrated, 4)], ids=["raw", "finished"])
@pytest.mark.parametrize("limits", [{}, {"max_pairs": 300, "max_classes": 40, "max_ticket_masks": 16}],
                         ids=["roomy", "evicting"])
def test_kept_scores_equal_fresh_ones_over_many_calls(forest, limits, finish):
    """Calls share ticket rows (by id) and draw agent rows from values on, next to and between every threshold;
    with a finish, what is kept is the finished scores."""
    columns = list(range(forest.n_features))
    cache = PairScoreCache(forest, columns[:SPLIT_AT], columns[SPLIT_AT:], **limits, finish=finish)
    expect = (lambda scores: scores) if finish is None else finish[0]
    rng = np.random.default_rng(11)
    tickets = _hard_rows(forest, 400, seed=2)[:, :SPLIT_AT]
    agent_pool = _hard_rows(forest, 60, seed=3)[:, SPLIT_AT:]
    for call in range(30):
        in_round = rng.choice(len(tickets), 40, replace=False)
        left = tickets[in_round]
        left_ids = in_round.copy()
        left_ids[rng.random(40) < 0.1] = -1  # rows without an id are never kept
        right = agent_pool[rng.choice(len(agent_pool), 25)]
        if call % 3 == 0:  # values that move within their intervals (e.g. tenure as `now` moves)
            right = np.where(np.isnan(right) | (np.abs(right) <= factored.ZERO_THRESHOLD), right,
                             np.nextafter(right, -np.inf))
        left_row, right_row = np.nonzero(rng.random((40, 25)) < 0.5)
        got = cache.predict(left, left_ids, left_row, right, right_row)
        np.testing.assert_array_equal(got, expect(_fresh(forest, left, left_row, right, right_row)),
                                      err_msg=f"call {call}")
    assert len(cache) > 0


def test_rows_without_an_id_are_computed_and_not_kept(forest):
    columns = list(range(forest.n_features))
    cache = PairScoreCache(forest, columns[:SPLIT_AT], columns[SPLIT_AT:])
    left, right = _hard_rows(forest, 5, seed=7)[:, :SPLIT_AT], _hard_rows(forest, 4, seed=8)[:, SPLIT_AT:]
    left_row, right_row = np.repeat(np.arange(5), 4), np.tile(np.arange(4), 5)
    got = cache.predict(left, np.full(5, -1), left_row, right, right_row)
    np.testing.assert_array_equal(got, _fresh(forest, left, left_row, right, right_row))
    assert len(cache) == 0
    assert cache.predict(left, np.full(5, -1), left_row[:0], right, right_row[:0]).shape == (forest.n_models, 0)


def test_rounds_of_a_moving_queue_equal_the_reference_path(trained, two_weeks):
    """predict_round over a claim-next stream (the queue moves on, `now` moves, then jumps days) equals
    predict_pairs of each round, in a model that keeps pair scores from round to round."""
    model = read_model_folder(trained[0])[0]
    interactions = two_weeks[0].interactions
    start = pd.to_datetime(interactions["created_at"], utc=True).max() + pd.Timedelta(hours=1)
    pool = _round_tickets(model, interactions, 60, start, seed=4)
    profiles = _profiles(model, 8, 2)
    ids = np.array([p.agent_id for p in profiles], dtype=object)
    for step, shift in enumerate(["0s", "2s", "5min", "9h", "3D", "3D", "20D"]):
        now = start + pd.Timedelta(shift)
        tickets = pool[step * 3: step * 3 + 30]
        frame = pd.DataFrame([t.model_dump() for t in tickets])
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        pair_t, pair_a = np.nonzero(np.ones((len(tickets), len(profiles)), dtype=bool))
        now_s = now.timestamp()
        expected = model.predict_pairs(frame, pair_t, ids[pair_a], np.full(len(tickets), now_s),
                                       roster=Roster(profiles))
        columns = {name: [t.model_dump().get(name) for t in tickets]
                   for name in ("topic", "language", "channel", "customer_tier", "priority", "sentiment",
                                "customer_id", "message_words")}
        got = model.predict_round(columns, posix_seconds(frame["created_at"]), profiles, pair_t, pair_a, now_s)
        for key in ("p_resolve", "handle_time_s", "csat"):
            np.testing.assert_array_equal(got.pairs[key], expected[key].to_numpy(), err_msg=f"{key} at {shift}")
    caches = model.agent_fit.__dict__["_pair_caches"]
    assert sum(len(c) for c in caches.values()) > 0


def test_a_model_keeping_pair_scores_is_freed_as_soon_as_it_is_dropped(trained, two_weeks):
    """A server replacing its model frees the old one by reference counting: the scores it keeps hold no
    reference back to it (a cycle would wait for a full collection, which stalls a serving worker)."""
    model = read_model_folder(trained[0])[0]
    interactions = two_weeks[0].interactions
    start = pd.to_datetime(interactions["created_at"], utc=True).max() + pd.Timedelta(hours=1)
    tickets = _round_tickets(model, interactions, 10, start, seed=5)
    profiles = _profiles(model, 4, 2)
    columns = {name: [t.model_dump().get(name) for t in tickets]
               for name in ("topic", "language", "channel", "customer_tier", "priority", "sentiment",
                            "customer_id", "message_words")}
    created = posix_seconds(pd.to_datetime(pd.Series([t.created_at for t in tickets]), utc=True))
    pair_t, pair_a = np.nonzero(np.ones((len(tickets), len(profiles)), dtype=bool))
    model.predict_round(columns, created, profiles, pair_t, pair_a, start.timestamp(),
                        ticket_tokens=np.arange(len(tickets)))
    assert model.agent_fit.__dict__["_pair_caches"]
    parts = [weakref.ref(part) for part in (model, model.agent_fit, *model.agent_fit.__dict__["_pair_caches"].values())]
    gc.disable()
    try:
        del model
        assert [part() for part in parts] == [None] * len(parts)
    finally:
        gc.enable()


def test_an_agent_row_falls_on_the_same_side_of_every_split_until_its_horizon(forest):
    """Rows moving with time (some columns drift, a moving categorical value lasts no time) reach the same
    leaves anywhere before their horizon, and most reach other leaves just after it: the horizon is tight."""
    columns = list(range(forest.n_features))
    right_columns = columns[SPLIT_AT:]
    cache = PairScoreCache(forest, columns[:SPLIT_AT], right_columns)
    rng = np.random.default_rng(21)
    right = _hard_rows(forest, 400, seed=9)[:, SPLIT_AT:]
    drift = np.where(rng.random(right.shape) < 0.4, rng.choice([1e-5, 1 / 86400.0, 0.3], right.shape), 0.0)
    horizon = cache.class_horizons(right, drift)
    categorical = right_columns.index(4)
    assert np.all(horizon[(drift[:, categorical] > 0) & ~np.isnan(right[:, categorical])] == 0.0)
    before = cache.forest.masks(right, right_columns)
    finite = np.isfinite(horizon) & (horizon > 0)
    assert finite.sum() > 50 and np.isinf(horizon).sum() > 0
    for share in (0.0, 0.5, 1 - 1e-6):
        elapsed = np.full(len(horizon), 1e9)
        elapsed[np.isfinite(horizon)] = horizon[np.isfinite(horizon)] * share
        moved = np.where(drift > 0, right + drift * elapsed[:, None], right)
        np.testing.assert_array_equal(forest.masks(moved, right_columns), before, err_msg=f"at {share} of the horizon")
    past = np.where(drift[finite] > 0, right[finite] + drift[finite] * (horizon[finite] * (1 + 1e-6) + 1e-3)[:, None],
                    right[finite])
    changed = np.any(forest.masks(past, right_columns) != before[:, finite], axis=0)
    assert changed.mean() > 0.5


def test_agent_rows_kept_across_a_stream_equal_fresh_ones(trained, two_weeks, monkeypatch):
    """A stream of rounds with the same agents at moments from a second to weeks apart: agent rows are kept
    while their horizon lasts and computed again after it or once outcomes arrive, and every round equals
    predict_pairs of that round."""
    model = read_model_folder(trained[0])[0]
    computed: list[int] = []
    rows_of = type(model)._agent_rows
    monkeypatch.setattr(type(model), "_agent_rows", lambda self, *a: computed.append(len(a[3])) or rows_of(self, *a))
    interactions = two_weeks[0].interactions
    start = pd.to_datetime(interactions["created_at"], utc=True).max() + pd.Timedelta(hours=1)
    pool = _round_tickets(model, interactions, 30, start, seed=6)
    profiles = _profiles(model, 8, 1)
    ids = np.array([p.agent_id for p in profiles], dtype=object)
    frame = pd.DataFrame([t.model_dump() for t in pool])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    columns = {name: [t.model_dump().get(name) for t in pool]
               for name in ("topic", "language", "channel", "customer_tier", "priority", "sentiment",
                            "customer_id", "message_words")}
    pair_t, pair_a = np.nonzero(np.ones((len(pool), len(profiles)), dtype=bool))
    offsets = np.concatenate([[0.0], np.cumsum(np.geomspace(1.0, 40 * 86400.0, 40))])
    for step, offset in enumerate(offsets):
        if step == 30:  # outcomes arrive: every row is computed again from the new history
            recent = model.history
            last = len(recent) - 40
            model.append_history(type(recent)(*(getattr(recent, f)[last:] for f in
                                                ("agent", "topic", "customer", "closed_s", "resolved", "resid_resolve",
                                                 "resid_log_handle"))))
            computed.clear()
        now_s = start.timestamp() + offset
        expected = model.predict_pairs(frame, pair_t, ids[pair_a], np.full(len(pool), now_s), roster=Roster(profiles))
        got = model.predict_round(columns, posix_seconds(frame["created_at"]), profiles, pair_t, pair_a, now_s)
        for key in ("p_resolve", "handle_time_s", "csat"):
            np.testing.assert_array_equal(got.pairs[key], expected[key].to_numpy(), err_msg=f"{key} at step {step}")
        if step == 0:
            every_row = computed[0]
        if step == 30:
            assert computed == [every_row]
    assert 0 < sum(computed) < every_row * (len(offsets) - 30)  # after the outcomes: some rows kept, some aged


@given(batches=st.lists(st.lists(st.tuples(st.integers(0, 2**40), st.integers(0, 10**6)), max_size=60), max_size=12),
       expected=st.integers(1, 64), clear_at=st.integers(0, 12))
@settings(max_examples=60, deadline=None)
def test_the_slot_table_answers_as_a_dict(batches, expected, clear_at):
    """Whatever the batches (keys met again, within a batch too; more keys than it was sized for; a clear),
    every look-up gives the last slot stored under the key since the clear, -1 otherwise."""
    table, reference = _SlotTable(expected), {}
    probe = np.array([k for batch in batches for k, _ in batch] + [0, 7, 2**40 + 1, -1], dtype=np.int64)
    for i, batch in enumerate(batches):
        if i == clear_at:
            table.clear()
            reference.clear()
        table.insert(np.array([k for k, _ in batch], dtype=np.int64), np.array([v for _, v in batch], dtype=np.int64))
        reference.update(batch)
        out = np.empty(len(probe), dtype=np.int64)
        table.lookup(probe, out)
        assert out.tolist() == [reference.get(k, -1) for k in probe.tolist()]
        assert table.count == len(reference)
