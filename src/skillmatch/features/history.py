"""Agent and customer history as features: what was known about a pair at a given moment.

A history is the list of closed outcomes (who, which topic, which customer, when it closed, whether
it was resolved, and how it went against the ticket's difficulty). `stats_before` answers, for any
(agent, topic, customer, time) query, the sums over outcomes that closed strictly before that time:
the same function serves training rows (point in time), arbitrary candidate pairs (evaluation) and
the live history at serving time (queries at `now`).
"""
from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

CUSTOMER_WINDOW_S = 7 * 86400.0
RECENT_MARGIN_S = 1.0
"""`customer_recent_span` ends this long before the count changes: positions are found in sums of the key's
base and the time (about 1e11 with a hundred thousand customers), where rounding reaches about 1e-5 s."""
KEY_SEPARATOR = "\x1f"
SMALL_QUERY = 20_000
"""Up to this many keys a query looks them up in a dict (built once per history) rather than through pandas."""
MAX_REMEMBERED = 200_000
"""Answers an index keeps per kind of query (agent x topic, customer, ...); beyond, it starts again."""
MERGE_AT_ROWS = 20_000
MERGE_AT_SHARE = 0.05
"""Outcomes appended to an index stay in a small side index until they pass both bounds; then all is rebuilt."""


@dataclass(frozen=True)
class OutcomeHistory:
    """Closed outcomes, one entry per handled ticket. Times are POSIX seconds."""

    agent: np.ndarray  # object (str)
    topic: np.ndarray  # object (str)
    customer: np.ndarray  # object (str or None)
    closed_s: np.ndarray  # float
    resolved: np.ndarray  # float 0/1
    resid_resolve: np.ndarray  # resolved - P(resolved) of a reference agent on that ticket
    resid_log_handle: np.ndarray  # log(handle time) - reference log handle time for that ticket

    def __len__(self) -> int:
        return len(self.closed_s)

    @classmethod
    def empty(cls) -> OutcomeHistory:
        obj = np.array([], dtype=object)
        flt = np.array([], dtype=float)
        return cls(obj, obj, obj, flt, flt, flt, flt)

    def concat(self, other: OutcomeHistory) -> OutcomeHistory:
        """This history followed by another one (order does not matter to the queries)."""
        return OutcomeHistory(*(np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                                for f in fields(self)))

    def __reduce__(self) -> tuple[Callable[..., OutcomeHistory], tuple[Any, ...]]:
        """Pickled with each text column as codes into its distinct values. Unpickled as objects, a column of
        100,000 strings held the interpreter for 70 ms in one call, in which a serving worker loading this
        model in the background answered no request; codes are read as raw bytes."""
        return _unpickled_history, tuple(_text_codes(getattr(self, f.name)) if f.name in _TEXT_COLUMNS
                                         else getattr(self, f.name) for f in fields(self))


_TEXT_COLUMNS = frozenset({"agent", "topic", "customer"})


def _text_codes(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """An object column as (codes, distinct values in order of appearance)."""
    position: dict[Any, int] = {}
    codes = np.fromiter((position.setdefault(v, len(position)) for v in values.tolist()), dtype=np.int64,
                        count=len(values))
    return codes, list(position)


def _unpickled_history(*columns: Any) -> OutcomeHistory:
    """`OutcomeHistory.__reduce__`'s inverse: text columns come back as object arrays of their values."""
    def column(value: Any) -> np.ndarray:
        if not isinstance(value, tuple):
            return value
        codes, distinct = value
        table = np.empty(len(distinct), dtype=object)
        table[:] = distinct
        return table[codes]

    return OutcomeHistory(*(column(value) for value in columns))


@dataclass(frozen=True)
class PairStats:
    """History sums per query pair, all arrays of the query's length."""

    at_n: np.ndarray  # agent x topic: outcomes closed before
    at_resolved: np.ndarray  # ... of which resolved
    at_resid_resolve: np.ndarray  # sum of difficulty-adjusted resolution residuals
    at_resid_handle: np.ndarray  # sum of difficulty-adjusted log handle-time residuals
    at_last_s: np.ndarray  # time of the last such outcome (nan when none)
    a_n: np.ndarray  # agent overall
    a_resolved: np.ndarray
    a_resid_resolve: np.ndarray
    a_resid_handle: np.ndarray
    ac_n: np.ndarray  # agent x customer
    ac_last_resolved: np.ndarray  # nan when the agent never served the customer
    c_recent: np.ndarray  # the customer's outcomes closed in the 7 days before


_NOBODY = np.array([], dtype=object)
_NOBODY.flags.writeable = False  # one shared answer for every customer nobody served


def _keys(*parts: np.ndarray) -> np.ndarray:
    if len(parts) == 1:
        return parts[0].astype(str)
    out = parts[0].astype(str)
    for part in parts[1:]:
        out = np.char.add(np.char.add(out, KEY_SEPARATOR), part.astype(str))
    return out


class _Grouped:
    """Events of one grouping (e.g. agent x topic) sorted by (key, time) with running sums, for fast queries.

    Every query is two binary searches: where its key's block starts and where its time falls.
    """

    def __init__(self, keys: np.ndarray, times: np.ndarray, values: np.ndarray) -> None:
        self.index = pd.Index(pd.unique(keys))
        code = self.index.get_indexer(keys).astype(np.float64)
        self.t0 = float(times.min()) - 1.0 if len(times) else 0.0
        self.span = (float(times.max()) - self.t0 + 2.0) if len(times) else 2.0
        self.order = np.lexsort((times, code))
        self.sorted_key = code[self.order] * self.span + (times[self.order] - self.t0)
        self.csum = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values[self.order], axis=0)])

    def codes(self, keys: np.ndarray) -> np.ndarray:
        """Each key's position in `index`, -1 when unknown (`index.get_indexer`; a dict for a few keys, as a round asks)."""
        if len(keys) > SMALL_QUERY:
            return self.index.get_indexer(keys)
        lookup = self.__dict__.get("_lookup")
        if lookup is None:
            lookup = self.__dict__["_lookup"] = dict(zip(self.index.tolist(), range(len(self.index))))
        return np.fromiter((lookup.get(k, -1) for k in keys.tolist()), dtype=np.int64, count=len(keys))

    def block(self, keys: np.ndarray, times: np.ndarray,
              code: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per query: the positions [start, stop) in `order` of the events with its key and time < query time
        (`code`: the keys' `codes`, when the caller has them already)."""
        code = self.codes(keys) if code is None else code
        known = code >= 0
        base = np.where(known, code, 0).astype(np.float64) * self.span
        offset = np.clip(times - self.t0, 0.0, self.span - 1.0)
        start = np.searchsorted(self.sorted_key, base, side="left")
        pos = np.searchsorted(self.sorted_key, base + offset, side="left")
        return start, np.where(known, pos, start)

    def query(self, keys: np.ndarray, times: np.ndarray,
              code: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per query: count, column sums and index of the last event with the same key and time < query time."""
        start, pos = self.block(keys, times, code)
        known = pos > start
        count = (pos - start).astype(float)
        sums = np.where(known[:, None], self.csum[pos] - self.csum[start], 0.0)
        last = np.where(count > 0, self.order[np.maximum(pos - 1, 0)], -1)
        return count, sums, last


class _PairStatsQueries:
    """`stats` and `agent_customer` from the per-grouping queries an index answers."""

    def agent_customer(self, agent: np.ndarray, customer: np.ndarray,
                       time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per (agent, customer) query: outcomes before `time_s` and whether the last was resolved (nan when none)."""
        n, _, last_resolved = self.agent_customer_last(agent, customer, time_s)  # type: ignore[attr-defined]
        return n, last_resolved

    def stats(self, agent: np.ndarray, topic: np.ndarray, customer: np.ndarray, time_s: np.ndarray) -> PairStats:
        """History sums of each (agent, topic, customer) query from outcomes closed strictly before `time_s`."""
        time_s = np.asarray(time_s, dtype=float)
        at_n, at_sums, at_last_s = self.agent_topic(agent, topic, time_s)  # type: ignore[attr-defined]
        a_n, a_sums = self.agent_totals(agent, time_s)  # type: ignore[attr-defined]
        ac_n, ac_last_resolved = self.agent_customer(agent, customer, time_s)
        return PairStats(
            at_n=at_n, at_resolved=at_sums[:, 0], at_resid_resolve=at_sums[:, 1], at_resid_handle=at_sums[:, 2],
            at_last_s=at_last_s, a_n=a_n, a_resolved=a_sums[:, 0], a_resid_resolve=a_sums[:, 1],
            a_resid_handle=a_sums[:, 2], ac_n=ac_n, ac_last_resolved=ac_last_resolved,
            c_recent=self.customer_recent(customer, time_s),  # type: ignore[attr-defined]
        )


class HistoryIndex(_PairStatsQueries):
    """A history prepared once for many queries (the live history of a serving engine)."""

    def __init__(self, history: OutcomeHistory) -> None:
        self.history = history
        self._values = np.column_stack([history.resolved, history.resid_resolve, history.resid_log_handle])
        customer = np.where(pd.notna(history.customer), history.customer, "")
        self._agent_topic = _Grouped(_keys(history.agent, history.topic), history.closed_s, self._values)
        self._agent = _Grouped(_keys(history.agent), history.closed_s, self._values)
        self._agent_customer = _Grouped(_keys(history.agent, customer), history.closed_s, self._values[:, :1])
        self._customer = _Grouped(_keys(customer), history.closed_s, self._values[:, :1])
        self._last_closed = float(np.max(history.closed_s)) if len(history) else -np.inf
        self._memo: dict[str, dict[object, Any]] = {"agent_topic": {}, "agent": {}, "agent_customer": {},
                                                    "served_by": {}, "customer": {}}

    def appended(self, rows: OutcomeHistory, history: OutcomeHistory) -> HistoryIndex | LayeredHistoryIndex:
        """The index of `history` (this one's history followed by `rows`), without re-sorting what is indexed here."""
        return LayeredHistoryIndex(self, rows, history)

    def agent_topic(self, agent: np.ndarray, topic: np.ndarray,
                    time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per (agent, topic) query: outcomes before `time_s`, their sums (resolved, residuals) and the last one's close time."""
        time_s = np.asarray(time_s, dtype=float)
        if len(self.history) == 0:
            return np.zeros(len(time_s)), np.zeros((len(time_s), 3)), np.full(len(time_s), np.nan)
        if self._after_everything(time_s):
            rows = self._remembered("agent_topic", list(zip(np.asarray(agent).tolist(), np.asarray(topic).tolist())),
                                    lambda i: self._agent_topic_now(agent[i], topic[i], time_s[i]))
            return rows[:, 0], rows[:, 1:4], rows[:, 4]
        n, sums, last_s = self._agent_topic_now(agent, topic, time_s)
        return n, sums, last_s

    def _agent_topic_now(self, agent: np.ndarray, topic: np.ndarray,
                         time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n, sums, last = self._agent_topic.query(_keys(agent, topic), time_s)
        return n, sums, np.where(last >= 0, self.history.closed_s[np.maximum(last, 0)], np.nan)

    def settled_at(self, time_s: float) -> bool:
        """Whether every answer at `time_s` or later is the same as at `time_s` (all outcomes closed before it)."""
        return float(time_s) >= self._last_closed + 1.0

    def _after_everything(self, time_s: np.ndarray) -> bool:
        """Every query comes after the last outcome closed: its answer no longer depends on its time.

        That is how a serving engine asks (at `now`, with outcomes that closed before), so a few answers per
        key are remembered; the index is rebuilt, and the memory dropped, whenever the history changes.
        """
        # a second after the last close every query reads the same position (the end of its key's block)
        return 0 < len(time_s) <= SMALL_QUERY and float(time_s.min()) >= self._last_closed + 1.0

    def _memoized(self, which: str, keys: list[object], compute: Callable[[np.ndarray], Iterable[Any]]) -> list[Any]:
        """The answer per key, computing (and keeping) only those of keys not seen before: `compute(positions)`
        gives them in the order of those positions."""
        memo = self._memo[which]
        if len(memo) > MAX_REMEMBERED:
            memo.clear()
        answers = list(map(memo.get, keys))  # an answer is never None
        absent = list(map(operator.is_, answers, itertools.repeat(None)))
        if any(absent):
            missing = list(itertools.compress(range(len(keys)), absent))
            for i, answer in zip(missing, compute(np.array(missing, dtype=np.int64))):
                memo[keys[i]] = answers[i] = answer
        return answers

    def _remembered(self, which: str, keys: list[object], compute: Callable[[np.ndarray], tuple[np.ndarray, ...]]
                    ) -> np.ndarray:
        """Rows (count, sums..., last) per key, computing (and keeping) only the keys not seen before."""
        def rows(missing: np.ndarray) -> list[tuple[float, ...]]:
            parts = compute(missing)
            return [tuple(row) for row in np.column_stack([p if p.ndim == 2 else p[:, None] for p in parts]).tolist()]

        answers = self._memoized(which, keys, rows)
        width = len(answers[0]) if answers else 0
        return np.fromiter(itertools.chain.from_iterable(answers), dtype=float,
                           count=width * len(keys)).reshape(len(keys), width)

    def agent_totals(self, agent: np.ndarray, time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per agent query: outcomes before `time_s` in any topic and their sums (resolved, residuals)."""
        time_s = np.asarray(time_s, dtype=float)
        if len(self.history) == 0:
            return np.zeros(len(time_s)), np.zeros((len(time_s), 3))
        if self._after_everything(time_s):
            rows = self._remembered("agent", np.asarray(agent).tolist(),
                                    lambda i: self._agent.query(_keys(agent[i]), time_s[i])[:2])
            return rows[:, 0], rows[:, 1:4]
        n, sums, _ = self._agent.query(_keys(agent), time_s)
        return n, sums

    def agent_customer_last(self, agent: np.ndarray, customer: np.ndarray,
                            time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`agent_customer` with the close time of the last outcome (nan when none) in the middle."""
        time_s = np.asarray(time_s, dtype=float)
        if len(self.history) == 0:
            return np.zeros(len(time_s)), np.full(len(time_s), np.nan), np.full(len(time_s), np.nan)
        if self._after_everything(time_s):
            rows = self._remembered("agent_customer",
                                    list(zip(np.asarray(agent).tolist(), np.asarray(customer).tolist())),
                                    lambda i: self._agent_customer_now(agent[i], customer[i], time_s[i]))
            return rows[:, 0], rows[:, 1], rows[:, 2]
        return self._agent_customer_now(agent, customer, time_s)

    def _agent_customer_now(self, agent: np.ndarray, customer: np.ndarray,
                            time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        has_customer = pd.notna(customer)
        n, _, last = self._agent_customer.query(_keys(agent, np.where(has_customer, customer, "")), time_s)
        n[~has_customer] = 0
        last[~has_customer] = -1
        at = np.maximum(last, 0)
        return (n, np.where(last >= 0, self.history.closed_s[at], np.nan),
                np.where(last >= 0, self.history.resolved[at], np.nan))

    def customer_recent(self, customer: np.ndarray, time_s: np.ndarray) -> np.ndarray:
        """Per customer query: the customer's outcomes closed in the 7 days before `time_s` (0 without a customer)."""
        time_s = np.asarray(time_s, dtype=float)
        if len(self.history) == 0:
            return np.zeros(len(time_s))
        customer = np.asarray(customer)
        if self._after_everything(time_s):  # all of a customer's events are before now: only the window's start moves
            return self._window(customer, time_s)[0]
        has_customer = pd.notna(customer)
        keys = _keys(np.where(has_customer, customer, ""))
        code = self._customer.codes(keys)
        now, _, _ = self._customer.query(keys, time_s, code)
        then, _, _ = self._customer.query(keys, time_s - CUSTOMER_WINDOW_S, code)
        return np.where(has_customer, now - then, 0.0)

    def customer_recent_span(self, customer: np.ndarray, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        """`customer_recent` at `time_s`, a moment after every outcome (`settled_at`), and per customer the moment
        until which that count holds: the first of its outcomes in the window leaves it then (inf: none in it).

        Later moments before that one give the same count (the history standing still); so does no moment before
        `time_s`, in general. The moment is `RECENT_MARGIN_S` early, against the rounding of the positions.
        """
        n = len(customer)
        if len(self.history) == 0:
            return np.zeros(n), np.full(n, np.inf)
        if not self.settled_at(time_s):
            raise ValueError(f"outcomes close after {time_s}: the span of a count is known only after all of them")
        count, base, first, stop = self._window(np.asarray(customer), time_s)
        grouped = self._customer
        closed = grouped.sorted_key[np.minimum(first, len(grouped.sorted_key) - 1)] - base + grouped.t0
        return count, np.where(stop > first, closed + CUSTOMER_WINDOW_S - RECENT_MARGIN_S, np.inf)

    def _window(self, customer: np.ndarray, time_s: np.ndarray | float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """After every outcome, per customer: its count in the 7 days before `time_s`, its block's key base, and
        the positions (in the customer grouping) of its first event in that window and of its block's end."""
        rows = np.fromiter(itertools.chain.from_iterable(self._blocks_of(customer)), dtype=float,
                           count=3 * len(customer)).reshape(len(customer), 3)
        base, start, stop = rows[:, 0], rows[:, 1], rows[:, 2]
        grouped = self._customer
        then = np.searchsorted(grouped.sorted_key,
                               base + np.clip(time_s - CUSTOMER_WINDOW_S - grouped.t0, 0.0, grouped.span - 1.0))
        first = np.maximum(then, start)
        return np.where(stop > start, stop - first, 0.0), base, first.astype(np.int64), stop.astype(np.int64)

    def _blocks_of(self, customer: np.ndarray) -> list[tuple[float, int, int]]:
        """`_customer_blocks`, remembered per customer (for queries after every outcome)."""
        return self._memoized("customer", customer.tolist(), lambda at: self._customer_blocks(customer[at]))

    def _customer_blocks(self, customer: np.ndarray) -> list[tuple[float, int, int]]:
        """Per customer, where its events sit in the customer grouping: (key base, start, stop); start == stop for none."""
        grouped = self._customer
        has_customer = pd.notna(customer)
        keys = _keys(np.where(has_customer, customer, ""))
        code = np.where(has_customer, grouped.codes(keys), -1)
        start, stop = grouped.block(keys, np.full(len(code), np.inf), code)  # every event is before inf: the whole block
        return list(zip((np.maximum(code, 0) * grouped.span).tolist(), start.tolist(), stop.tolist()))

    def served_by(self, customer: np.ndarray, time_s: np.ndarray) -> list[np.ndarray]:
        """Per customer query: the agents with an outcome for that customer closed before `time_s` (unique).

        Exactly the agents whose `agent_customer` count is positive, found without asking every agent.
        """
        time_s = np.asarray(time_s, dtype=float)
        if len(self.history) == 0:
            return [_NOBODY] * len(time_s)
        customer = np.asarray(customer)
        if self._after_everything(time_s):  # all of a customer's outcomes: its whole block
            return self._memoized("served_by", customer.tolist(), lambda at: self._agents_in(
                (start, stop) for _, start, stop in self._blocks_of(customer[at])))
        has_customer = pd.notna(customer)
        start, stop = self._customer.block(_keys(np.where(has_customer, customer, "")), time_s)
        return self._agents_in(zip(np.where(has_customer, start, 0).tolist(), np.where(has_customer, stop, 0).tolist()))

    def _agents_in(self, blocks: Iterable[tuple[int, int]]) -> list[np.ndarray]:
        """The distinct agents of each (start, stop) block of the customer grouping, in order of closing."""
        order, agent = self._customer.order, self.history.agent
        return [np.array(list(dict.fromkeys(agent[order[start:stop]].tolist())), dtype=object) if stop > start
                else _NOBODY for start, stop in blocks]


class LayeredHistoryIndex(_PairStatsQueries):
    """A large index built once plus a small one of the outcomes appended since, answering as one index of both.

    Reporting an outcome to a serving engine then costs an index of the few recent outcomes, not a re-sort of
    the whole history; once the side index grows past `MERGE_AT_ROWS` and `MERGE_AT_SHARE` of the base, the
    next append rebuilds one index of everything (amortised). Answers equal those of `HistoryIndex(history)`
    (sums up to float rounding; on equal close times the appended outcome counts as the later one).
    """

    def __init__(self, base: HistoryIndex, recent: OutcomeHistory, history: OutcomeHistory) -> None:
        self.base = base
        self.recent = recent
        self.side = HistoryIndex(recent)
        self.history = history

    def appended(self, rows: OutcomeHistory, history: OutcomeHistory) -> HistoryIndex | LayeredHistoryIndex:
        """The index of `history`: the side index grows, or everything is rebuilt once it is large."""
        recent = self.recent.concat(rows)
        if len(recent) > max(MERGE_AT_ROWS, MERGE_AT_SHARE * len(self.base.history)):
            return HistoryIndex(history)
        return LayeredHistoryIndex(self.base, recent, history)

    def settled_at(self, time_s: float) -> bool:
        """See `HistoryIndex.settled_at`."""
        return self.base.settled_at(time_s) and self.side.settled_at(time_s)

    def agent_topic(self, agent: np.ndarray, topic: np.ndarray,
                    time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """See `HistoryIndex.agent_topic`."""
        n0, sums0, last0 = self.base.agent_topic(agent, topic, time_s)
        n1, sums1, last1 = self.side.agent_topic(agent, topic, time_s)
        return n0 + n1, sums0 + sums1, np.fmax(last0, last1)

    def agent_totals(self, agent: np.ndarray, time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """See `HistoryIndex.agent_totals`."""
        n0, sums0 = self.base.agent_totals(agent, time_s)
        n1, sums1 = self.side.agent_totals(agent, time_s)
        return n0 + n1, sums0 + sums1

    def agent_customer_last(self, agent: np.ndarray, customer: np.ndarray,
                            time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """See `HistoryIndex.agent_customer_last`."""
        n0, last0, resolved0 = self.base.agent_customer_last(agent, customer, time_s)
        n1, last1, resolved1 = self.side.agent_customer_last(agent, customer, time_s)
        side_later = ~np.isnan(last1) & (np.isnan(last0) | (last1 >= last0))
        return n0 + n1, np.where(side_later, last1, last0), np.where(side_later, resolved1, resolved0)

    def customer_recent(self, customer: np.ndarray, time_s: np.ndarray) -> np.ndarray:
        """See `HistoryIndex.customer_recent`."""
        return self.base.customer_recent(customer, time_s) + self.side.customer_recent(customer, time_s)

    def customer_recent_span(self, customer: np.ndarray, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        """See `HistoryIndex.customer_recent_span`."""
        n0, until0 = self.base.customer_recent_span(customer, time_s)
        n1, until1 = self.side.customer_recent_span(customer, time_s)
        return n0 + n1, np.minimum(until0, until1)

    def served_by(self, customer: np.ndarray, time_s: np.ndarray) -> list[np.ndarray]:
        """See `HistoryIndex.served_by` (agents of the base first, then those only the recent outcomes add)."""
        base, side = self.base.served_by(customer, time_s), self.side.served_by(customer, time_s)
        return [b if not len(s) else np.array(list(dict.fromkeys([*b.tolist(), *s.tolist()])), dtype=object)
                for b, s in zip(base, side)]


def stats_before(history: OutcomeHistory, agent: np.ndarray, topic: np.ndarray, customer: np.ndarray,
                 time_s: np.ndarray) -> PairStats:
    """History sums of each (agent, topic, customer) query from outcomes closed strictly before `time_s`."""
    return HistoryIndex(history).stats(agent, topic, customer, time_s)
