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


def _before(ev_keys: np.ndarray, ev_time: np.ndarray, ev_values: np.ndarray,
            q_keys: np.ndarray, q_time: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query: count, column sums and index of the last event with the same key and time < query time.

    Events and queries share one integer code per key; events sorted by (code, time) make every
    query two binary searches: where its key's block starts and where its time falls.
    """
    n_ev = len(ev_keys)
    codes, _ = pd.factorize(np.concatenate([ev_keys, q_keys]))
    ev_code, q_code = codes[:n_ev].astype(np.float64), codes[n_ev:].astype(np.float64)
    t0 = min(ev_time.min(), q_time.min()) - 1.0
    span = max(ev_time.max(), q_time.max()) - t0 + 2.0
    order = np.lexsort((ev_time, ev_code))
    sorted_key = ev_code[order] * span + (ev_time[order] - t0)
    csum = np.vstack([np.zeros((1, ev_values.shape[1])), np.cumsum(ev_values[order], axis=0)])
    start = np.searchsorted(sorted_key, q_code * span, side="left")
    pos = np.searchsorted(sorted_key, q_code * span + (q_time - t0), side="left")
    count = (pos - start).astype(float)
    last = np.where(count > 0, order[np.maximum(pos - 1, 0)], -1)
    return count, csum[pos] - csum[start], last


def stats_before(history: OutcomeHistory, agent: np.ndarray, topic: np.ndarray, customer: np.ndarray,
                 time_s: np.ndarray) -> PairStats:
    """History sums of each (agent, topic, customer) query from outcomes closed strictly before `time_s`."""
    time_s = np.asarray(time_s, dtype=float)
    if len(history) == 0:
        zero, never = np.zeros(len(time_s)), np.full(len(time_s), np.nan)
        return PairStats(zero, zero, zero, zero, never, zero, zero, zero, zero, zero, never, zero)
    values = np.column_stack([history.resolved, history.resid_resolve, history.resid_log_handle])
    n, sums, last = _before(_keys(history.agent, history.topic), history.closed_s, values,
                            _keys(agent, topic), time_s)
    a_n, a_sums, _ = _before(_keys(history.agent), history.closed_s, values, _keys(agent), time_s)
    has_customer = pd.notna(customer)
    cust = np.where(has_customer, customer, "")
    hist_cust = np.where(pd.notna(history.customer), history.customer, "")
    ac_n, _, ac_last = _before(_keys(history.agent, hist_cust), history.closed_s, values[:, :1],
                               _keys(agent, cust), time_s)
    c_now, _, _ = _before(_keys(hist_cust), history.closed_s, values[:, :1], _keys(cust), time_s)
    c_then, _, _ = _before(_keys(hist_cust), history.closed_s, values[:, :1], _keys(cust),
                           time_s - CUSTOMER_WINDOW_S)
    no_customer = ~has_customer
    ac_n[no_customer] = 0
    ac_last[no_customer] = -1
    return PairStats(
        at_n=n, at_resolved=sums[:, 0], at_resid_resolve=sums[:, 1], at_resid_handle=sums[:, 2],
        at_last_s=np.where(last >= 0, history.closed_s[np.maximum(last, 0)], np.nan),
        a_n=a_n, a_resolved=a_sums[:, 0], a_resid_resolve=a_sums[:, 1], a_resid_handle=a_sums[:, 2],
        ac_n=ac_n, ac_last_resolved=np.where(ac_last >= 0, history.resolved[np.maximum(ac_last, 0)], np.nan),
        c_recent=np.where(no_customer, 0.0, c_now - c_then),
    )
