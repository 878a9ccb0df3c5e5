"""The queue as it happened, rebuilt from the events log: waiting intervals, claims and free agent time.

Everything here is sorting, shifting and cumulative sums over the whole log (no Python loop per
event), so a million events take seconds. Times are POSIX seconds (float).

State rules, per ticket: `queued` and `unassigned` put it in the queue; `claimed`, `assigned`,
`closed` and `transferred` take it out; `viewed` changes nothing. Per agent: `agent_online` starts
and `agent_offline` ends an online interval; a claim (`claimed` or `assigned`) holds one of the
agent's slots until the ticket's next state change (handed back, closed, transferred, re-claimed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillmatch.features import posix_seconds

TAKE_EVENTS = ("claimed", "assigned")
"""A pick: the agent took the ticket (free selection logs `claimed`; many helpdesks log self-assignment)."""
WAIT_STARTS = ("queued", "unassigned")
WAIT_ENDS = ("claimed", "assigned", "closed", "transferred")
DAY_S = 86400.0
OPEN_END = np.iinfo(np.int64).max
"""end_order of a waiting interval still open when the log ends."""


@dataclass(frozen=True)
class Timeline:
    """The events log reduced to what the audit measures.

    waits: one row per waiting interval (ticket_id, start_s, end_s, start_order, end_order).
    claims: one row per pick in time order (agent_id, ticket_id, ts_s, order, end_s, end_event, end_agent, ended).
    `order` columns are positions of ticket events in time order, log order within one instant.
    online: one row per online interval (agent_id, start_s, end_s); empty when the log has no presence events.
    views: distinct (agent_id, ticket_id) pairs of `viewed` events (empty when the log has none).
    closes: distinct (agent_id, ticket_id) pairs of `closed` events.
    start_s, end_s: the time span of the log.
    """

    waits: pd.DataFrame
    claims: pd.DataFrame
    online: pd.DataFrame
    views: pd.DataFrame
    closes: pd.DataFrame
    start_s: float
    end_s: float


def build_timeline(events: pd.DataFrame, created_at: pd.Series | None = None) -> Timeline:
    """Waiting intervals, claims with how they ended, and online intervals from a validated events frame.

    `created_at` (indexed by ticket_id) stands in for a missing `queued` event of a ticket that was
    claimed, so that logs which omit queue entries still give each claimed ticket a waiting interval.
    """
    ev = pd.DataFrame({
        "ts_s": posix_seconds(events["ts"]),
        "event": events["event"].to_numpy(dtype=object),
        "ticket_id": events["ticket_id"].to_numpy(dtype=object),
        "agent_id": events["agent_id"].to_numpy(dtype=object),
        "seq": np.arange(len(events), dtype=np.int64),
    })
    start_s, end_s = float(ev["ts_s"].min()), float(ev["ts_s"].max())
    ticket_events = ev[ev["event"].isin(WAIT_STARTS + WAIT_ENDS)]
    ticket_events = _with_implied_queue_entries(ticket_events, created_at)
    # one position per event in time order (log order within an instant): who could take what, and when
    order = np.lexsort((ticket_events["seq"].to_numpy(), ticket_events["ts_s"].to_numpy()))
    ticket_events = ticket_events.assign(order=_inverse(order))
    changes = _sorted(ticket_events, "ticket_id")
    waits = _runs(changes, "ticket_id", changes["event"].isin(WAIT_STARTS).to_numpy(), end_s)
    claims = _claims(changes, end_s)
    presence = _sorted(ev[ev["event"].isin(("agent_online", "agent_offline"))], "agent_id")
    online = _runs(presence, "agent_id", (presence["event"] == "agent_online").to_numpy(), end_s)
    views = ev.loc[ev["event"] == "viewed", ["agent_id", "ticket_id"]].drop_duplicates().reset_index(drop=True)
    closes = ev.loc[ev["event"] == "closed", ["agent_id", "ticket_id"]].drop_duplicates().reset_index(drop=True)
    return Timeline(waits=waits, claims=claims, online=online, views=views, closes=closes,
                    start_s=start_s, end_s=end_s)


def _with_implied_queue_entries(ticket_events: pd.DataFrame, created_at: pd.Series | None) -> pd.DataFrame:
    """Add a `queued` at created_at for claimed tickets that have no `queued` event (first in their order)."""
    if created_at is None:
        return ticket_events
    queued = ticket_events.loc[ticket_events["event"] == "queued", "ticket_id"]
    taken = ticket_events.loc[ticket_events["event"].isin(TAKE_EVENTS), "ticket_id"]
    missing = pd.Index(taken.unique()).difference(pd.Index(queued.unique()))
    missing = missing.intersection(created_at.index)
    if len(missing) == 0:
        return ticket_events
    implied = pd.DataFrame({"ts_s": posix_seconds(created_at.loc[missing].reset_index(drop=True)),
                            "event": "queued", "ticket_id": missing.to_numpy(dtype=object),
                            "agent_id": None, "seq": np.int64(-1)})
    return pd.concat([ticket_events, implied], ignore_index=True)


def _inverse(permutation: np.ndarray) -> np.ndarray:
    """Rank of each row given the permutation that sorts them."""
    ranks = np.empty(len(permutation), dtype=np.int64)
    ranks[permutation] = np.arange(len(permutation), dtype=np.int64)
    return ranks


def _sorted(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Rows ordered by key, then time, then their order in the log (events at one instant keep their order)."""
    order = np.lexsort((frame["seq"].to_numpy(), frame["ts_s"].to_numpy(), frame[key].to_numpy(dtype=str)))
    return frame.iloc[order].reset_index(drop=True)


def _runs(rows: pd.DataFrame, key: str, is_on: np.ndarray, end_s: float) -> pd.DataFrame:
    """Intervals where the state is on: from an on-event after an off state to the next off-event of the key.

    `rows` is sorted by (key, time); the state before a key's first row is off; an interval still on at
    the end of the log ends at `end_s`. With an `order` column, start_order and end_order (the events'
    positions in time order; OPEN_END when still on) tell apart events of one instant.
    """
    n = len(rows)
    ordered = "order" in rows.columns
    if n == 0:
        empty = {key: pd.Series(dtype=object), "start_s": pd.Series(dtype=float), "end_s": pd.Series(dtype=float)}
        if ordered:
            empty.update(start_order=pd.Series(dtype=np.int64), end_order=pd.Series(dtype=np.int64))
        return pd.DataFrame(empty)
    keys = rows[key].to_numpy(dtype=object)
    ts = rows["ts_s"].to_numpy(dtype=float)
    first = np.r_[True, keys[1:] != keys[:-1]]
    prev_on = np.r_[False, is_on[:-1]] & ~first
    starts = np.flatnonzero(is_on & ~prev_on)
    # the next off row at or after each position (n when none), then check it belongs to the same key
    off_at = np.where(~is_on, np.arange(n), n)
    next_off = np.minimum.accumulate(off_at[::-1])[::-1]
    ends_at = next_off[starts]
    inside = ends_at < n
    same_key = np.zeros(len(starts), dtype=bool)
    same_key[inside] = keys[ends_at[inside]] == keys[starts[inside]]
    end = np.where(same_key, ts[np.minimum(ends_at, n - 1)], end_s)
    out = pd.DataFrame({key: keys[starts], "start_s": ts[starts], "end_s": np.maximum(end, ts[starts])})
    if ordered:
        order = rows["order"].to_numpy(dtype=np.int64)
        out["start_order"] = order[starts]
        out["end_order"] = np.where(same_key, order[np.minimum(ends_at, n - 1)], OPEN_END)
    return out


def _claims(changes: pd.DataFrame, end_s: float) -> pd.DataFrame:
    """Each pick with the ticket's next state change: when the hold ended, by which event and agent (time order)."""
    n = len(changes)
    take = np.flatnonzero(changes["event"].isin(TAKE_EVENTS).to_numpy())
    keys = changes["ticket_id"].to_numpy(dtype=object)
    nxt = take + 1
    has_next = nxt < n
    has_next[has_next] = keys[nxt[has_next]] == keys[take[has_next]]
    nxt_safe = np.minimum(nxt, n - 1)
    ts = changes["ts_s"].to_numpy(dtype=float)
    events = changes["event"].to_numpy(dtype=object)
    agents = changes["agent_id"].to_numpy(dtype=object)
    claims = pd.DataFrame({
        "agent_id": agents[take], "ticket_id": keys[take], "ts_s": ts[take],
        "order": changes["order"].to_numpy(dtype=np.int64)[take],
        "end_s": np.where(has_next, ts[nxt_safe], end_s),
        "end_event": np.where(has_next, events[nxt_safe], None),
        "end_agent": np.where(has_next, agents[nxt_safe], None),
        "ended": has_next,
    })
    return claims.sort_values("order", kind="stable").reset_index(drop=True)  # in the order they happened


def free_runs(timeline: Timeline, capacity: pd.Series, grace_s: float) -> pd.DataFrame:
    """Stretches when an agent was online with a free slot, less the first `grace_s` of each stretch.

    `capacity` is indexed by agent_id (agents not in it count as capacity 1). The grace leaves time to
    wrap up a contact and read the queue before the stretch counts as idle. Returns agent_id, start_s, end_s.
    """
    online, claims = timeline.online, timeline.claims
    claims = claims[claims["agent_id"].isin(online["agent_id"].unique())]
    agent = np.concatenate([online["agent_id"].to_numpy(dtype=object)] * 2
                           + [claims["agent_id"].to_numpy(dtype=object)] * 2)
    ts = np.concatenate([online["start_s"], online["end_s"], claims["ts_s"], claims["end_s"]]).astype(float)
    n_on, n_cl = len(online), len(claims)
    d_online = np.concatenate([np.ones(n_on), -np.ones(n_on), np.zeros(2 * n_cl)])
    d_busy = np.concatenate([np.zeros(2 * n_on), np.ones(n_cl), -np.ones(n_cl)])
    if len(ts) == 0:
        return pd.DataFrame({"agent_id": pd.Series(dtype=object), "start_s": pd.Series(dtype=float),
                             "end_s": pd.Series(dtype=float)})
    order = np.lexsort((ts, agent.astype(str)))
    agent, ts, d_online, d_busy = agent[order], ts[order], d_online[order], d_busy[order]
    # every +1 has its -1 within the same agent, so a global running sum restarts at 0 for each agent
    is_online = np.cumsum(d_online) > 0.5
    busy = np.cumsum(d_busy)
    cap = pd.Series(agent).map(capacity).fillna(1).to_numpy(dtype=float)
    seg_end = np.r_[ts[1:], ts[-1]]
    # segments [ts_i, ts_i+1) of one agent; instants (zero length) are dropped so they never split a stretch
    keep = np.r_[agent[1:] == agent[:-1], False] & (seg_end > ts)
    agent, start, end = agent[keep], ts[keep], seg_end[keep]
    free = is_online[keep] & (busy[keep] < cap[keep] - 0.5)
    continues = np.r_[False, free[:-1] & (agent[1:] == agent[:-1]) & (start[1:] == end[:-1])]
    run_id = np.cumsum(free & ~continues)
    idx = np.flatnonzero(free)
    if len(idx) == 0:
        return pd.DataFrame({"agent_id": pd.Series(dtype=object), "start_s": pd.Series(dtype=float),
                             "end_s": pd.Series(dtype=float)})
    stretches = pd.DataFrame({"run": run_id[idx], "agent_id": agent[idx], "start_s": start[idx], "end_s": end[idx]})
    stretches = stretches.groupby("run", sort=False).agg(agent_id=("agent_id", "first"), start_s=("start_s", "min"),
                                                          end_s=("end_s", "max")).reset_index(drop=True)
    stretches["start_s"] = stretches["start_s"] + grace_s
    return stretches[stretches["end_s"] > stretches["start_s"]].reset_index(drop=True)
