"""The fast round path gives the reference path's predictions: factored trees, array features, remembered history."""
from __future__ import annotations

from datetime import timedelta

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from skillmatch.features import AgentProfile, Roster, posix_seconds
from skillmatch.features.history import HistoryIndex
from skillmatch.models import factored
from skillmatch.models.difficulty import lgbm_matrix
from skillmatch.models.factored import Forest
from skillmatch.models.folder import read_model_folder
from skillmatch.records import Ticket

needs_numba = pytest.mark.skipif(not factored.AVAILABLE, reason="numba is not installed")


@pytest.fixture(scope="module")
def model(trained):
    return read_model_folder(trained[0])[0]


def _hard_rows(forest: Forest, n: int, seed: int) -> np.ndarray:
    """Rows that sit on, just above and around every threshold, with nan, 0, +-1e-36 and odd category codes."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, forest.n_features))
    for f in range(forest.n_features):
        splits = forest.feature == f
        numerical = forest.threshold[splits & (forest.kind == 0)]
        if (forest.kind[splits] == 1).any():
            X[:, f] = rng.integers(-2, 40, n) + rng.choice([0.0, 0.5, -0.5, 1e-36], n)
        elif len(numerical):
            at = rng.choice(numerical, n)
            X[:, f] = np.select([rng.random(n) < 0.3, rng.random(n) < 0.5], [at, np.nextafter(at, np.inf)],
                                at + rng.normal(0, 1, n))
        else:
            X[:, f] = rng.normal(0, 1, n)
        for value, share in ((np.nan, 0.05), (0.0, 0.05), (-1e-36, 0.03), (1e-36, 0.03)):
            X[rng.random(n) < share, f] = value
    return X


def _check_forest(boosters: list, split_at: int, seed: int) -> None:
    forest = Forest.from_boosters(boosters)
    X = _hard_rows(forest, 3003, seed)  # not a multiple of the 4 pairs the kernel scores together
    left, right = list(range(split_at)), list(range(split_at, forest.n_features))
    forest.check_sides(left, right)
    rows = np.arange(len(X))
    order = np.random.default_rng(seed).permutation(len(X))  # pairs need not be in row order
    raw = forest.predict(forest.masks(X[:, left], left), rows[order], forest.masks(X[:, right], right), rows[order],
                         raw_score=True)
    out = forest.predict(forest.masks(X[:, left], left), rows, forest.masks(X[:, right], right), rows)
    for k, booster in enumerate(boosters):
        np.testing.assert_array_equal(raw[k], booster.predict(X[order], raw_score=True))
        np.testing.assert_array_equal(out[k], booster.predict(X))


@needs_numba
@pytest.mark.parametrize("which", ["agent_fit", "difficulty"])
def test_factored_trees_equal_lightgbm_bit_for_bit_on_the_trained_models(model, which):
    if which == "agent_fit":
        fit = model.agent_fit
        boosters = [m.booster_ for m in (fit.resolve_, fit.handle_, fit.csat_) if m is not None]
        _check_forest(boosters, len(model.builder.ticket_columns) + 2, seed=0)
    else:
        boosters = [model.difficulty.resolve_.booster_, model.difficulty.handle_.booster_]
        _check_forest(boosters, len(model.builder.ticket_columns), seed=1)


@needs_numba
@pytest.mark.parametrize("params", [
    {"objective": "binary"},
    {"objective": "regression", "zero_as_missing": True},
    {"objective": "binary", "use_missing": False},
    {"objective": "regression", "num_leaves": 63, "min_data_in_leaf": 5},
], ids=["binary-nan-missing", "zero-as-missing", "no-missing", "63-leaves"])
def test_factored_trees_follow_lightgbm_missing_value_and_category_rules(params):
    rng = np.random.default_rng(3)
    n = 4000
    X = rng.normal(size=(n, 6))
    X[:, 0] = rng.integers(0, 12, n)  # categorical
    X[rng.random((n, 6)) < 0.15] = np.nan
    X[rng.random((n, 6)) < 0.15] = 0.0
    signal = np.nan_to_num(X[:, 1]) + (np.nan_to_num(X[:, 0]) % 3 == 0) + np.isnan(X[:, 2]) - (X[:, 3] == 0)
    y = (signal + rng.normal(0, 0.5, n) > 0.5).astype(float) if params["objective"] == "binary" else signal
    booster = lgb.train({"verbose": -1, "seed": 0, "num_threads": 1, "min_data_per_group": 5, "cat_smooth": 1,
                         **params}, lgb.Dataset(X, y, categorical_feature=[0]), num_boost_round=43)  # not a multiple of 8
    _check_forest([booster], 3, seed=4)


@needs_numba
def test_sides_must_split_the_features_between_them(model):
    fit = model.agent_fit
    forest = Forest.from_boosters([fit.resolve_.booster_])
    n = forest.n_features
    with pytest.raises(ValueError, match="no side"):
        forest.check_sides(range(5), range(6, n))
    with pytest.raises(ValueError, match="two sides"):
        forest.check_sides(range(6), range(5, n))
    masks = forest.masks(np.zeros((2, n)), range(n))
    with pytest.raises(IndexError):
        forest.predict(masks, [0, 2], forest.masks(np.zeros((1, 0)), []), [0, 0])


def _round_tickets(model, trained_logs: pd.DataFrame, n: int, now: pd.Timestamp, seed: int) -> list[Ticket]:
    """Logged tickets as a round sends them, with what a round may hold: returning customers, unknown topics,
    a language nobody was trained on, no channel, a missing extra field, no customer."""
    rng = np.random.default_rng(seed)
    rows = trained_logs.sample(n, random_state=seed)
    customers = [c for c in model.history.customer[-500:] if c is not None]
    out = []
    for i, row in enumerate(rows.itertuples(index=False)):
        ticket = {"ticket_id": f"T{i}", "created_at": (now - timedelta(seconds=int(rng.integers(0, 3600)),
                                                                     microseconds=int(rng.integers(0, 10**6)))),
                  "topic": row.topic, "channel": row.channel, "language": row.language, "priority": int(row.priority),
                  "customer_id": customers[i % len(customers)] if i % 3 == 0 else row.customer_id,
                  "customer_tier": row.customer_tier, "sentiment": float(row.sentiment),
                  "message_words": int(row.message_words)}
        if i % 7 == 1:
            ticket["topic"] = "a-topic-never-seen"
        if i % 7 == 2:
            ticket["channel"] = None
        if i % 7 == 3:
            ticket.pop("message_words")
        if i % 7 == 4:
            ticket["customer_id"] = None
        if i % 7 == 5:
            ticket["language"] = "xx"
        if i % 7 == 6:
            ticket["sentiment"] = None
        out.append(Ticket.model_validate(ticket))
    return out


def _profiles(model, n_known: int, n_unknown: int) -> list[AgentProfile]:
    known = [model.roster.profiles[a] for a in model.roster.ids[:n_known]]
    unknown = [AgentProfile(agent_id=f"NEW{i}", languages=("en", "xx")) for i in range(n_unknown)]
    return known + unknown


@pytest.mark.parametrize("factored_trees", [
    pytest.param(True, marks=needs_numba, id="factored"), pytest.param(False, id="lightgbm"),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_predict_round_equals_predict_pairs(model, two_weeks, factored_trees, seed):
    created = pd.to_datetime(two_weeks[0].interactions["created_at"], utc=True)
    now = created.max() + pd.Timedelta(hours=2)
    if seed == 1:  # a moment inside the history: the point-in-time queries, not the remembered ones
        now = created.sort_values().iloc[len(created) // 2]
    tickets = _round_tickets(model, two_weeks[0].interactions, 40, now, seed)
    profiles = _profiles(model, 12, 3)
    rng = np.random.default_rng(seed)
    pair_t, pair_a = np.nonzero(rng.random((len(tickets), len(profiles))) < 0.7)
    frame = pd.DataFrame([t.model_dump() for t in tickets])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    ids = np.array([p.agent_id for p in profiles], dtype=object)
    now_s = now.timestamp()
    expected = model.predict_pairs(frame, pair_t, ids[pair_a], np.full(len(tickets), now_s), roster=Roster(profiles))
    columns = {name: [t.model_dump().get(name) for t in tickets]
               for name in ("topic", "language", "channel", "customer_tier", "priority", "sentiment", "customer_id",
                            "message_words")}
    got = model.predict_round(columns, posix_seconds(frame["created_at"]), profiles, pair_t, pair_a, now_s,
                              factored=factored_trees)
    for key in ("p_resolve", "p_resolve_raw", "handle_time_s", "csat"):
        np.testing.assert_array_equal(got.pairs[key], expected[key].to_numpy(), err_msg=key)
    np.testing.assert_array_equal(1.0 - got.p_resolve_ref[pair_t], expected["difficulty"].to_numpy())
    assert len(got.pairs["p_resolve"]) == len(pair_t) > 0


def test_ticket_matrix_equals_what_lightgbm_reads_from_the_frame(model):
    builder = model.builder
    columns = {"topic": ["billing", "nope", None, "returns"], "language": ["en", None, "xx", "de"],
               "channel": [None, "chat", "email", float("nan")], "customer_tier": ["vip", None, "standard", "x"],
               "priority": [1, 2, 3, 4], "sentiment": [None, -0.5, 0.25, float("nan")],
               "message_words": [12, None, "40", True]}
    created = np.array([1.8e9, 1.8e9 + 0.123456, 1.8e9 + 86399.5, 1.8e9 + 3 * 86400])
    recent = np.array([0.0, 1.0, 2.0, 0.0])
    frame = pd.DataFrame({**columns, "created_at": pd.to_datetime(created, unit="s", utc=True)})
    expected = lgbm_matrix(builder.ticket_features(frame, created, recent))
    np.testing.assert_array_equal(builder.ticket_matrix(columns, created, recent), expected)


def test_request_times_are_the_seconds_the_frame_path_reads():
    rng = np.random.default_rng(0)
    base = pd.Timestamp("2027-01-04T11:00:00Z").to_pydatetime()
    tickets = [Ticket.model_validate({"ticket_id": f"T{i}", "topic": "x",
                                      "created_at": base - timedelta(microseconds=int(us))})
               for i, us in enumerate(rng.integers(0, 10**12, 2000))]
    frame = pd.DataFrame([t.model_dump() for t in tickets])
    np.testing.assert_array_equal(np.array([t.created_at.timestamp() for t in tickets]),
                                  posix_seconds(pd.to_datetime(frame["created_at"], utc=True)))


def test_remembered_history_answers_equal_fresh_queries_and_die_with_the_index(model, monkeypatch):
    history = model.history
    index = HistoryIndex(history)
    agents = np.array(list(dict.fromkeys(history.agent.tolist()))[:10] + ["nobody"], dtype=object)
    topics = np.array(list(dict.fromkeys(history.topic.tolist())), dtype=object)
    agent, topic = np.repeat(agents, len(topics)), np.tile(topics, len(agents))
    later = np.full(len(agent), history.closed_s.max() + 3600.0)
    customers = np.array([c for c in dict.fromkeys(history.customer.tolist()) if c is not None][:40] + [None, "new"],
                         dtype=object)
    pair_agent, pair_customer = np.repeat(agents, len(customers)), np.tile(customers, len(agents))

    def ask(idx: HistoryIndex, shift: float) -> list[np.ndarray]:
        return [*idx.agent_topic(agent, topic, later + shift), *idx.agent_totals(agents, later[:len(agents)] + shift),
                *idx.agent_customer_last(pair_agent, pair_customer, np.full(len(pair_agent), later[0] + shift)),
                *[np.sort(a.astype(str)) for a in idx.served_by(customers, np.full(len(customers), later[0] + shift))]]

    first, again = ask(index, 0.0), ask(index, 60.0)
    assert all(index._memo[k] for k in ("agent_topic", "agent", "agent_customer", "served_by"))
    monkeypatch.setattr("skillmatch.features.history.SMALL_QUERY", 0)  # nothing remembered: plain queries
    fresh = HistoryIndex(history)
    plain = ask(fresh, 0.0)
    assert not any(fresh._memo.values())
    for got in (first, again):
        for part, want in zip(got, plain, strict=True):
            np.testing.assert_array_equal(part, want)


def test_without_numba_a_round_falls_back_to_lightgbm_with_the_same_predictions(trained, two_weeks, monkeypatch):
    monkeypatch.setattr(factored, "AVAILABLE", False)
    monkeypatch.setattr(factored, "_COMPILED", {})
    model = read_model_folder(trained[0])[0]  # a fresh copy: nothing flattened yet
    created = pd.to_datetime(two_weeks[0].interactions["created_at"], utc=True)
    now = created.max() + pd.Timedelta(hours=1)
    tickets = _round_tickets(model, two_weeks[0].interactions, 15, now, 5)
    profiles = _profiles(model, 6, 1)
    pair_t, pair_a = np.repeat(np.arange(15), 7), np.tile(np.arange(7), 15)
    frame = pd.DataFrame([t.model_dump() for t in tickets])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    ids = np.array([p.agent_id for p in profiles], dtype=object)
    expected = model.predict_pairs(frame, pair_t, ids[pair_a], np.full(15, now.timestamp()), roster=Roster(profiles))
    columns = {name: [t.model_dump().get(name) for t in tickets] for name in ("topic", "language", "channel",
               "customer_tier", "priority", "sentiment", "customer_id", "message_words")}
    got = model.predict_round(columns, posix_seconds(frame["created_at"]), profiles, pair_t, pair_a, now.timestamp())
    assert model.agent_fit._forest() is None and model.difficulty._forest() is None
    np.testing.assert_array_equal(got.pairs["p_resolve"], expected["p_resolve"].to_numpy())
    np.testing.assert_array_equal(got.pairs["handle_time_s"], expected["handle_time_s"].to_numpy())
