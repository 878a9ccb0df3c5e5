"""What a log replay replays: the evaluation window's tickets as logged, the agents' availability, the work not replayed.

The window is every interaction created at or after the cut (`eval_start`), in arrival order. Agents are
online when the events log says so (`agent_online` / `agent_offline`); without such events, when they
were seen working: each agent's logged work intervals (assigned_at .. closed_at) are merged into sessions,
split where the agent held nothing for more than `session_gap_s` (one hour by default). Work that is not
replayed keeps its logged times and occupies a slot: tickets created before the cut still open at it,
and tickets that are only in the events log (e.g. the bank's unidentified callers).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from skillmatch.errors import InputError
from skillmatch.features import Roster, posix_seconds
from skillmatch.logs import DEFAULT_LANGUAGE, Logs
from skillmatch.policies import RosterView

SESSION_GAP_S = 3600.0
REQUEST_FIELDS = ("topic", "channel", "language", "priority", "customer_id", "customer_tier", "sentiment")
"""Ticket fields a routing request carries (besides id and creation time), as the contract names them."""


def eval_cut(logs: Logs, eval_from: str | None = None, eval_share: float | None = None) -> pd.Timestamp:
    """The start of the evaluation window: `eval_from`, or the (1 - eval_share) quantile of created_at (default 25%)."""
    created = logs.interactions["created_at"]
    file = logs.sources.get("interactions")
    if eval_from is not None:
        try:
            cut = pd.Timestamp(eval_from)
        except (ValueError, TypeError):
            raise InputError("invalid --eval-from", expected="an ISO-8601 timestamp such as 2016-05-01T00:00:00",
                             got=eval_from) from None
        cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut.tz_convert("UTC")
    else:
        share = 0.25 if eval_share is None else eval_share
        if not 0.0 < share < 1.0:
            raise InputError("invalid --eval-share", expected="a share strictly between 0 and 1, such as 0.25",
                             got=share)
        seconds = float(np.quantile(posix_seconds(created), 1.0 - share))
        cut = pd.Timestamp(seconds, unit="s", tz="UTC").ceil("s")
    n_before, n_after = int((created < cut).sum()), int((created >= cut).sum())
    if n_before == 0 or n_after == 0:
        raise InputError("the evaluation cut leaves nothing on one side", file=file, column="created_at",
                         expected=f"interactions both before and after the cut {cut.isoformat()} (the log runs "
                                  f"{created.min().isoformat()} to {created.max().isoformat()})",
                         got=f"{n_before} before and {n_after} after")
    return cut


@dataclass
class ReplayTickets:
    """The window's tickets as a replayed center shows them to policies (arrival order; codes index the vocabularies)."""

    ids: list[str]
    created_s: np.ndarray  # seconds since the window start
    topic: np.ndarray  # int codes into ReplayData.topics
    language: np.ndarray  # int codes into ReplayData.languages
    channel: np.ndarray  # int codes into ReplayData.channels
    requests: list[dict[str, Any]]  # each ticket as a routing request sends it (contract names)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Intervals:
    """Time intervals per agent index, in seconds since the window start."""

    agent: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray

    def __len__(self) -> int:
        return len(self.agent)


@dataclass
class ReplayData:
    """A window ready to replay: tickets, agents with capacity and availability, the logged outcomes."""

    start_ts: pd.Timestamp
    tickets: ReplayTickets
    window: pd.DataFrame  # the window's interaction rows, in arrival order, as validated
    agent_ids: list[str]  # every agent with a session in the replay
    topics: tuple[str, ...]
    languages: tuple[str, ...]
    channels: tuple[str, ...]
    capacity: np.ndarray  # (n_agents,) int
    roster: RosterView
    agents_log: pd.DataFrame
    sessions: Intervals
    external: Intervals  # work not replayed, occupying a slot at its logged times
    availability: str  # how sessions were found, in words
    logged_agent: np.ndarray  # (n_tickets,) agent index of the logged handler
    logged_assigned_s: np.ndarray  # assigned_at; without one, closed_at - handle time (else created_at)
    logged_handle_s: np.ndarray
    logged_resolved: np.ndarray  # float 0/1
    logged_csat: np.ndarray  # nan where not answered
    propensity: np.ndarray | None  # P(logged agent) under the logging policy, when the log carries it
    restricted_topics: tuple[str, ...]

    @property
    def n_agents(self) -> int:
        return len(self.agent_ids)


def prepare_replay(logs: Logs, eval_start: pd.Timestamp, *, restricted_topics: Sequence[str] = (),
                   extra_columns: Sequence[str] = (), session_gap_s: float = SESSION_GAP_S) -> ReplayData:
    """The window from `eval_start` to the end of the log, its agents' sessions and the work that is not replayed."""
    rows = logs.interactions.sort_values("created_at", kind="stable").reset_index(drop=True)
    origin = float(eval_start.timestamp())
    created_all = posix_seconds(rows["created_at"]) - origin
    work_start, work_end = _work_intervals(rows, origin)
    in_window = created_all >= 0
    window = rows[in_window].reset_index(drop=True)
    events = logs.events
    online = _online_events(events, origin) if events is not None else None
    before = ~in_window & (work_end > 0)
    ext_agent = list(rows.loc[before, "agent_id"])
    ext_start, ext_end = list(np.maximum(work_start[before], 0.0)), list(work_end[before])
    if events is not None:
        a, s, e = _events_only_work(events, set(rows["ticket_id"]), origin)
        ext_agent += a
        ext_start += s
        ext_end += e
    if online is not None:
        session_ids, s_start, s_end = online
        availability = "agent_online / agent_offline events of the events log"
    else:
        agents_all = np.array(list(window["agent_id"]) + ext_agent, dtype=object)
        starts = np.r_[work_start[in_window], np.asarray(ext_start, dtype=float)]
        ends = np.r_[work_end[in_window], np.asarray(ext_end, dtype=float)]
        session_ids, s_start, s_end = _sessions(agents_all, starts, ends, session_gap_s)
        availability = (f"inferred from logged work: each agent's assigned_at..closed_at intervals merged into "
                        f"sessions, split where it held nothing for over {session_gap_s / 3600:g} h")
    roster_ids = list(logs.agents["agent_id"])
    with_sessions = set(session_ids) | set(window["agent_id"])
    agent_ids = [a for a in roster_ids if a in with_sessions]
    index = {a: i for i, a in enumerate(agent_ids)}
    topics = tuple(sorted(set(window["topic"].astype(str))))
    languages = tuple(sorted(set(window["language"].fillna(DEFAULT_LANGUAGE).astype(str))))
    channels = tuple(sorted(set(window["channel"].fillna("unknown").astype(str)))) if "channel" in window \
        else ("unknown",)
    roster = RosterView.from_roster(Roster.from_frame(logs.agents), agent_ids, topics, languages, restricted_topics)
    capacity = logs.agents.set_index("agent_id").loc[agent_ids, "capacity"].to_numpy(dtype=int)
    tickets = _tickets(window, origin, topics, languages, channels, extra_columns)
    ext = np.array([index.get(a, -1) for a in ext_agent], dtype=int)
    keep_ext = (ext >= 0) & (np.asarray(ext_end, dtype=float) > np.asarray(ext_start, dtype=float))
    sess = np.array([index.get(a, -1) for a in session_ids], dtype=int)
    assigned = (posix_seconds(window["assigned_at"]) - origin if "assigned_at" in window
                else np.full(len(window), np.nan))
    assigned = np.where(np.isnan(assigned), np.maximum(work_start[in_window], tickets.created_s), assigned)
    csat = (pd.to_numeric(window["csat"], errors="coerce").to_numpy(dtype=float) if "csat" in window
            else np.full(len(window), np.nan))
    return ReplayData(
        start_ts=eval_start, tickets=tickets, window=window, agent_ids=agent_ids, topics=topics,
        languages=languages, channels=channels, capacity=capacity, roster=roster, agents_log=logs.agents,
        sessions=Intervals(sess[sess >= 0], np.asarray(s_start)[sess >= 0], np.asarray(s_end)[sess >= 0]),
        external=Intervals(ext[keep_ext], np.asarray(ext_start, dtype=float)[keep_ext],
                           np.asarray(ext_end, dtype=float)[keep_ext]),
        availability=availability,
        logged_agent=np.array([index[a] for a in window["agent_id"]], dtype=int),
        logged_assigned_s=assigned, logged_handle_s=window["handle_time_s"].to_numpy(dtype=float),
        logged_resolved=window["resolved"].to_numpy(dtype=float), logged_csat=csat,
        propensity=_propensity(window, logs), restricted_topics=tuple(t.lower() for t in restricted_topics),
    )


def _work_intervals(rows: pd.DataFrame, origin: float) -> tuple[np.ndarray, np.ndarray]:
    """When each logged interaction occupied its agent: assigned_at (else closed_at - handle time, else created_at) to closed_at."""
    created = posix_seconds(rows["created_at"]) - origin
    handle = rows["handle_time_s"].to_numpy(dtype=float)
    assigned = posix_seconds(rows["assigned_at"]) - origin if "assigned_at" in rows else np.full(len(rows), np.nan)
    closed = posix_seconds(rows["closed_at"]) - origin if "closed_at" in rows else np.full(len(rows), np.nan)
    start = np.where(~np.isnan(assigned), assigned, np.where(~np.isnan(closed), closed - handle, created))
    end = np.where(~np.isnan(closed), closed, start + handle)
    return start, np.maximum(end, start)


def _sessions(agent: np.ndarray, start: np.ndarray, end: np.ndarray,
              gap_s: float) -> tuple[list[str], list[float], list[float]]:
    """Each agent's work intervals merged into sessions, a new one where nothing was held for over `gap_s`."""
    ids, s_out, e_out = [], [], []
    order = np.lexsort((start, agent.astype(str)))
    current, s0, e0 = None, 0.0, 0.0
    for i in order:
        a, s, e = agent[i], float(start[i]), float(end[i])
        if a == current and s <= e0 + gap_s:
            e0 = max(e0, e)
            continue
        if current is not None:
            ids.append(current)
            s_out.append(s0)
            e_out.append(e0)
        current, s0, e0 = a, s, e
    if current is not None:
        ids.append(current)
        s_out.append(s0)
        e_out.append(e0)
    return ids, s_out, e_out


def _online_events(events: pd.DataFrame, origin: float) -> tuple[list[str], list[float], list[float]] | None:
    """Sessions from agent_online / agent_offline events (None when the log has none); an open session ends at the last event."""
    marks = events[events["event"].isin(["agent_online", "agent_offline"])]
    if marks.empty:
        return None
    marks = marks.assign(t=posix_seconds(marks["ts"]) - origin).sort_values("t", kind="stable")
    last = float(posix_seconds(events["ts"]).max() - origin)
    ids, starts, ends = [], [], []
    opened: dict[str, float] = {}
    for row in marks.itertuples(index=False):
        if row.event == "agent_online":
            opened.setdefault(row.agent_id, row.t)
        elif row.agent_id in opened:
            ids.append(row.agent_id)
            starts.append(opened.pop(row.agent_id))
            ends.append(row.t)
    for agent, t in opened.items():
        ids.append(agent)
        starts.append(t)
        ends.append(last)
    keep = [i for i, e in enumerate(ends) if e > 0]
    return [ids[i] for i in keep], [starts[i] for i in keep], [ends[i] for i in keep]


def _events_only_work(events: pd.DataFrame, known: set[str], origin: float) -> tuple[list[str], list[float], list[float]]:
    """Work on tickets that are only in the events log: from assigned (or claimed) to closed or transferred, after the cut."""
    ev = events[events["ticket_id"].notna() & ~events["ticket_id"].isin(known)]
    ev = ev[ev["event"].isin(["assigned", "claimed", "closed", "transferred", "unassigned"])]
    if ev.empty:
        return [], [], []
    ev = ev.assign(t=posix_seconds(ev["ts"]) - origin).sort_values("t", kind="stable")
    taken = ev[ev["event"].isin(["assigned", "claimed"])].drop_duplicates(["ticket_id", "agent_id"])
    done = ev[ev["event"].isin(["closed", "transferred", "unassigned"])].drop_duplicates(["ticket_id", "agent_id"])
    pairs = taken.merge(done, on=["ticket_id", "agent_id"], suffixes=("_start", "_end"))
    pairs = pairs[(pairs["t_end"] > 0) & (pairs["t_end"] >= pairs["t_start"])]
    return list(pairs["agent_id"]), list(np.maximum(pairs["t_start"].to_numpy(dtype=float), 0.0)), \
        list(pairs["t_end"].to_numpy(dtype=float))


def _tickets(window: pd.DataFrame, origin: float, topics: tuple[str, ...], languages: tuple[str, ...],
             channels: tuple[str, ...], extra_columns: Sequence[str]) -> ReplayTickets:
    topic_code = {t: i for i, t in enumerate(topics)}
    language_code = {t: i for i, t in enumerate(languages)}
    channel_code = {t: i for i, t in enumerate(channels)}
    fields = [f for f in (*REQUEST_FIELDS, *extra_columns) if f in window.columns]
    requests = []
    for row in window[["ticket_id", "created_at", *fields]].itertuples(index=False):
        request = {"ticket_id": row.ticket_id, "created_at": row.created_at.isoformat()}
        for name, value in zip(fields, row[2:]):
            request[name] = _plain(value)
        requests.append(request)
    language = window["language"].fillna(DEFAULT_LANGUAGE).astype(str) if "language" in window \
        else pd.Series(DEFAULT_LANGUAGE, index=window.index)
    channel = window["channel"].fillna("unknown").astype(str) if "channel" in window \
        else pd.Series("unknown", index=window.index)
    return ReplayTickets(
        ids=list(window["ticket_id"]), created_s=posix_seconds(window["created_at"]) - origin,
        topic=np.array([topic_code[t] for t in window["topic"].astype(str)], dtype=int),
        language=np.array([language_code[v] for v in language], dtype=int),
        channel=np.array([channel_code[v] for v in channel], dtype=int), requests=requests)


def _plain(value: Any) -> Any:
    """A JSON-ready Python value (None for missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _propensity(window: pd.DataFrame, logs: Logs) -> np.ndarray | None:
    """The optional `propensity` column: P(logged agent) under the logging policy, in (0, 1]; InputError when malformed."""
    if "propensity" not in window.columns:
        return None
    values = pd.to_numeric(window["propensity"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~((values > 0) & (values <= 1)))
    if len(bad):
        raise InputError("propensity out of range", file=logs.sources.get("interactions"), column="propensity",
                         expected="the probability the logging policy gave the logged agent, in (0, 1], on every "
                                  "row of the evaluation window", got=list(window["propensity"].iloc[bad[:5]]))
    return values
