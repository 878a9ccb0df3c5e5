"""Agent and customer history as features: what was known about a pair at a given moment.

A history is the list of closed outcomes (who, which topic, which customer, when it closed, whether
it was resolved, and how it went against the ticket's difficulty). `stats_before` answers, for any
(agent, topic, customer, time) query, the sums over outcomes that closed strictly before that time:
the same function serves training rows (point in time), arbitrary candidate pairs (evaluation) and
the live history at serving time (queries at `now`).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

CUSTOMER_WINDOW_S = 7 * 86400.0
KEY_SEPARATOR = "\x1f"


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

    def query(self, keys: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per query: count, column sums and index of the last event with the same key and time < query time."""
        code = self.index.get_indexer(keys)
        known = code >= 0
        base = np.where(known, code, 0).astype(np.float64) * self.span
        offset = np.clip(times - self.t0, 0.0, self.span - 1.0)
        start = np.searchsorted(self.sorted_key, base, side="left")
        pos = np.searchsorted(self.sorted_key, base + offset, side="left")
        count = np.where(known, pos - start, 0).astype(float)
        sums = np.where(known[:, None], self.csum[pos] - self.csum[start], 0.0)
        last = np.where(count > 0, self.order[np.maximum(pos - 1, 0)], -1)
        return count, sums, last


class HistoryIndex:
    """A history prepared once for many queries (the live history of a serving engine)."""

    def __init__(self, history: OutcomeHistory) -> None:
        self.history = history
        self._values = np.column_stack([history.resolved, history.resid_resolve, history.resid_log_handle])
        customer = np.where(pd.notna(history.customer), history.customer, "")
        self._agent_topic = _Grouped(_keys(history.agent, history.topic), history.closed_s, self._values)
        self._agent = _Grouped(_keys(history.agent), history.closed_s, self._values)
        self._agent_customer = _Grouped(_keys(history.agent, customer), history.closed_s, self._values[:, :1])
        self._customer = _Grouped(_keys(customer), history.closed_s, self._values[:, :1])

    def stats(self, agent: np.ndarray, topic: np.ndarray, customer: np.ndarray, time_s: np.ndarray) -> PairStats:
        """History sums of each (agent, topic, customer) query from outcomes closed strictly before `time_s`."""
        h = self.history
        time_s = np.asarray(time_s, dtype=float)
        if len(h) == 0:
            zero, never = np.zeros(len(time_s)), np.full(len(time_s), np.nan)
            return PairStats(zero, zero, zero, zero, never, zero, zero, zero, zero, zero, never, zero)
        n, sums, last = self._agent_topic.query(_keys(agent, topic), time_s)
        a_n, a_sums, _ = self._agent.query(_keys(agent), time_s)
        has_customer = pd.notna(customer)
        cust = _keys(np.where(has_customer, customer, ""))
        ac_n, _, ac_last = self._agent_customer.query(_keys(agent, np.where(has_customer, customer, "")), time_s)
        c_now, _, _ = self._customer.query(cust, time_s)
        c_then, _, _ = self._customer.query(cust, time_s - CUSTOMER_WINDOW_S)
        ac_n[~has_customer] = 0
        ac_last[~has_customer] = -1
        return PairStats(
            at_n=n, at_resolved=sums[:, 0], at_resid_resolve=sums[:, 1], at_resid_handle=sums[:, 2],
            at_last_s=np.where(last >= 0, h.closed_s[np.maximum(last, 0)], np.nan),
            a_n=a_n, a_resolved=a_sums[:, 0], a_resid_resolve=a_sums[:, 1], a_resid_handle=a_sums[:, 2],
            ac_n=ac_n, ac_last_resolved=np.where(ac_last >= 0, h.resolved[np.maximum(ac_last, 0)], np.nan),
            c_recent=np.where(has_customer, c_now - c_then, 0.0),
        )


def stats_before(history: OutcomeHistory, agent: np.ndarray, topic: np.ndarray, customer: np.ndarray,
                 time_s: np.ndarray) -> PairStats:
    """History sums of each (agent, topic, customer) query from outcomes closed strictly before `time_s`."""
    return HistoryIndex(history).stats(agent, topic, customer, time_s)
