"""Point-in-time history: a query sees exactly the outcomes that closed strictly before its time."""
from __future__ import annotations

import copyreg
import io
import pickle
from dataclasses import fields
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillmatch.features import OutcomeHistory, stats_before
from skillmatch.features.history import CUSTOMER_WINDOW_S, RECENT_MARGIN_S, HistoryIndex


def _history(rng: np.random.Generator, n: int) -> OutcomeHistory:
    return OutcomeHistory(
        agent=rng.choice(np.array(["A1", "A2", "A3"], dtype=object), n),
        topic=rng.choice(np.array(["billing", "returns"], dtype=object), n),
        customer=rng.choice(np.array(["C1", "C2", None], dtype=object), n),
        closed_s=rng.integers(0, 20, n).astype(float) * 3600 * 24,  # many ties on purpose
        resolved=rng.integers(0, 2, n).astype(float),
        resid_resolve=rng.normal(size=n),
        resid_log_handle=rng.normal(size=n),
    )


def _oracle(h: OutcomeHistory, agent: str, topic: str, customer: str | None, t: float) -> dict[str, float]:
    before = h.closed_s < t
    at = before & (h.agent == agent) & (h.topic == topic)
    a = before & (h.agent == agent)
    ac = a & (h.customer == customer) if customer is not None else np.zeros_like(a)
    recent = (before & (h.closed_s >= t - CUSTOMER_WINDOW_S) & (h.customer == customer)
              if customer is not None else np.zeros_like(a))
    last_at = h.closed_s[at].max() if at.any() else np.nan
    ac_idx = np.flatnonzero(ac)
    ac_last = h.resolved[ac_idx[np.argmax(h.closed_s[ac_idx])]] if ac.any() else np.nan
    return {"at_n": at.sum(), "at_resolved": h.resolved[at].sum(), "at_resid_resolve": h.resid_resolve[at].sum(),
            "at_resid_handle": h.resid_log_handle[at].sum(), "at_last_s": last_at, "a_n": a.sum(),
            "a_resid_resolve": h.resid_resolve[a].sum(), "ac_n": ac.sum(), "c_recent": recent.sum(),
            "ac_last_resolved_known": not np.isnan(ac_last)}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 60), m=st.integers(1, 15))
def test_stats_match_a_brute_force_oracle(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    h = _history(rng, n)
    q_agent = rng.choice(np.array(["A1", "A2", "A9"], dtype=object), m)
    q_topic = rng.choice(np.array(["billing", "returns", "fraud"], dtype=object), m)
    q_customer = rng.choice(np.array(["C1", "C2", None], dtype=object), m)
    q_time = rng.integers(0, 22, m).astype(float) * 3600 * 24
    stats = stats_before(h, q_agent, q_topic, q_customer, q_time)
    for i in range(m):
        expected = _oracle(h, q_agent[i], q_topic[i], q_customer[i], q_time[i])
        assert stats.at_n[i] == expected["at_n"]
        assert stats.at_resolved[i] == pytest.approx(expected["at_resolved"])
        assert stats.at_resid_resolve[i] == pytest.approx(expected["at_resid_resolve"], abs=1e-9)
        assert stats.at_resid_handle[i] == pytest.approx(expected["at_resid_handle"], abs=1e-9)
        assert stats.a_n[i] == expected["a_n"]
        assert stats.a_resid_resolve[i] == pytest.approx(expected["a_resid_resolve"], abs=1e-9)
        assert stats.ac_n[i] == expected["ac_n"]
        assert stats.c_recent[i] == expected["c_recent"]
        assert np.isnan(stats.at_last_s[i]) == np.isnan(expected["at_last_s"])
        if not np.isnan(expected["at_last_s"]):
            assert stats.at_last_s[i] == expected["at_last_s"]
        assert (not np.isnan(stats.ac_last_resolved[i])) == expected["ac_last_resolved_known"]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 60),
       later_days=st.lists(st.floats(0.0, 30.0), min_size=2, max_size=4))
def test_recent_calls_at_now_match_the_oracle_as_the_window_moves(seed: int, n: int, later_days: list[float]) -> None:
    """How a serving engine asks: at `now`, after every outcome closed, again and again as time passes (the
    answers per customer are remembered, the 7-day window's start still moves)."""
    rng = np.random.default_rng(seed)
    h = _history(rng, n)
    index = HistoryIndex(h)
    customers = np.array(["C1", "C2", None, "C9", "C1"], dtype=object)
    last = float(h.closed_s.max()) if n else 0.0
    for days in sorted(later_days):
        now = np.full(len(customers), last + 1.0 + days * 86400)
        want = [_oracle(h, "A1", "billing", c, now[0])["c_recent"] for c in customers]
        np.testing.assert_array_equal(index.customer_recent(customers, now), want)


def test_an_outcome_closing_at_the_query_time_is_not_yet_known() -> None:
    h = OutcomeHistory(np.array(["A1"], dtype=object), np.array(["billing"], dtype=object),
                       np.array(["C1"], dtype=object), np.array([100.0]), np.array([1.0]), np.array([0.5]),
                       np.array([0.1]))
    q = lambda t: stats_before(h, np.array(["A1"], dtype=object), np.array(["billing"], dtype=object),  # noqa: E731
                               np.array(["C1"], dtype=object), np.array([t]))
    assert q(100.0).at_n[0] == 0 and q(100.0).ac_n[0] == 0
    assert q(100.001).at_n[0] == 1 and q(100.001).ac_last_resolved[0] == 1.0


def test_empty_history_gives_zero_counts() -> None:
    stats = stats_before(OutcomeHistory.empty(), np.array(["A1"], dtype=object), np.array(["x"], dtype=object),
                         np.array([None], dtype=object), np.array([5.0]))
    assert stats.at_n[0] == 0 and stats.a_n[0] == 0 and np.isnan(stats.at_last_s[0])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), sizes=st.lists(st.integers(0, 25), min_size=2, max_size=5),
       merge_at=st.integers(1, 40))
def test_an_index_grown_by_appends_answers_as_one_built_from_scratch(seed: int, sizes: list[int],
                                                                      merge_at: int) -> None:
    """What a serving engine does on each reported outcome: append, never re-sort everything (until merging)."""
    rng = np.random.default_rng(seed)
    parts = [_history(rng, n) for n in sizes]
    history = parts[0]
    index = HistoryIndex(history)
    with patch.multiple("skillmatch.features.history", MERGE_AT_ROWS=merge_at, MERGE_AT_SHARE=0.0):
        for part in parts[1:]:
            history = history.concat(part)
            index = index.appended(part, history)
    fresh = HistoryIndex(history)
    m = 30
    q_agent = rng.choice(np.array(["A1", "A2", "A9"], dtype=object), m)
    q_topic = rng.choice(np.array(["billing", "returns", "fraud"], dtype=object), m)
    q_customer = rng.choice(np.array(["C1", "C2", None], dtype=object), m)
    for q_time in (rng.integers(0, 22, m).astype(float) * 3600 * 24, np.full(m, 40.0 * 86400)):  # past, and `now`
        got, want = index.stats(q_agent, q_topic, q_customer, q_time), fresh.stats(q_agent, q_topic, q_customer, q_time)
        for name in ("at_n", "a_n", "ac_n", "c_recent", "at_last_s", "ac_last_resolved"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
        for name in ("at_resolved", "at_resid_resolve", "at_resid_handle", "a_resolved", "a_resid_resolve",
                     "a_resid_handle"):
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), atol=1e-9, err_msg=name)
        served = index.served_by(q_customer, q_time)
        assert [set(s.tolist()) for s in served] == [set(s.tolist()) for s in fresh.served_by(q_customer, q_time)]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 60), days=st.floats(0.0, 30.0), layered=st.booleans())
def test_a_customers_recent_count_holds_until_its_span_ends_and_no_longer(seed: int, n: int, days: float,
                                                                         layered: bool) -> None:
    """What lets a serving engine keep a ticket's features while time passes: the count at `now` is the count at
    any later moment before the span's end, and (within the margin) it has changed just after."""
    rng = np.random.default_rng(seed)
    h = _history(rng, n)
    index = HistoryIndex(h)
    if layered and n > 1:  # outcomes reported since the index was built
        index = HistoryIndex(OutcomeHistory(*(getattr(h, f)[: n // 2] for f in h.__dataclass_fields__)))
        index = index.appended(OutcomeHistory(*(getattr(h, f)[n // 2:] for f in h.__dataclass_fields__)), h)
    customers = np.array(["C1", "C2", None, "C9"], dtype=object)
    now = (float(h.closed_s.max()) if n else 0.0) + 1.0 + days * 86400
    count, until = index.customer_recent_span(customers, now)
    np.testing.assert_array_equal(count, [_oracle(h, "A1", "billing", c, now)["c_recent"] for c in customers])
    assert np.all(until >= now - RECENT_MARGIN_S)  # an outcome just inside the window: a span already over
    for i, customer in enumerate(customers):
        later = [now + share * (min(until[i], now + 40 * 86400) - now) for share in (0.25, 0.5, 0.999999)]
        if later[0] > now:
            assert [_oracle(h, "A1", "billing", customer, t)["c_recent"] for t in later] == [count[i]] * 3
        if np.isfinite(until[i]):
            assert _oracle(h, "A1", "billing", customer, until[i] + 2 * RECENT_MARGIN_S)["c_recent"] < count[i]
        else:
            assert count[i] == 0


def test_the_span_of_a_count_is_asked_only_after_every_outcome() -> None:
    h = _history(np.random.default_rng(0), 10)
    with pytest.raises(ValueError, match="span"):
        HistoryIndex(h).customer_recent_span(np.array(["C1"], dtype=object), float(h.closed_s.max()))


def _columns(h: OutcomeHistory) -> dict[str, list]:
    return {f.name: getattr(h, f.name).tolist() for f in fields(h)}


@pytest.mark.parametrize("n", [0, 1, 500])
def test_a_pickled_history_comes_back_equal_with_its_text_as_codes(n: int) -> None:
    """A model folder holds its history pickled. Its text columns go as codes into their distinct values:
    unpickled as objects, each string costs a step of the interpreter that holds it for the whole column."""
    history = _history(np.random.default_rng(n), n)
    _, state = history.__reduce__()
    assert not any(isinstance(part, np.ndarray) and part.dtype == object for part in state)
    back = pickle.loads(pickle.dumps(history))
    assert _columns(back) == _columns(history)
    assert all(getattr(back, f.name).dtype == getattr(history, f.name).dtype for f in fields(history))
    assert all(v is None or isinstance(v, str) for v in back.customer.tolist())


class _EarlierPickler(pickle.Pickler):
    """Pickles a history as the versions before text codes did (the dataclass's fields as its state)."""

    def reducer_override(self, obj: object) -> object:
        return (copyreg.__newobj__, (OutcomeHistory,), dict(vars(obj))) if isinstance(obj, OutcomeHistory) else NotImplemented


def test_a_history_pickled_by_an_earlier_version_still_loads() -> None:
    history = _history(np.random.default_rng(3), 200)
    buffer = io.BytesIO()
    _EarlierPickler(buffer).dump(history)
    assert b"_unpickled_history" not in buffer.getvalue()
    assert _columns(pickle.loads(buffer.getvalue())) == _columns(history)
