"""The cherry-pick audit end to end: validated logs + ticket difficulty -> per-agent indicators and index."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from skillmatch.audit.difficulty import TicketDifficulty
from skillmatch.audit.index import combine
from skillmatch.audit.indicators import (
    Indicator, churn, handle_time_ratio, handled_ratio, hard_share, idle_with_work, pick_easiness,
)
from skillmatch.audit.pool import Eligibility, build_eligibility, difficulty_bins, pick_percentiles
from skillmatch.audit.timeline import DAY_S, TAKE_EVENTS, Timeline, build_timeline
from skillmatch.errors import InputError
from skillmatch.logs import Logs

Progress = Callable[[str], None]

LEGITIMATE = (
    "This audit is for coaching, not for punishment. Some selective picking is legitimate and shows up "
    "in these indicators: agents in ramp-up are expected to take easier work while they learn; agents who "
    "take technical requests (or another topic they specialise in) because they are the ones able to "
    "handle them have a different difficulty mix for good reasons; and short idle stretches are rest "
    "intervals, wrap-up after a contact or reading the queue. Read a flag as a reason to talk, next to "
    "the agent's notes, never as a verdict."
)


@dataclass(frozen=True)
class AuditSettings:
    """The audit's choices, stored with every report so that a reader can see how it was made."""

    n_bins: int = 100
    """Difficulty bins for pick percentiles (equal-count); ties within a bin count half."""
    grace_s: float = 60.0
    """Seconds at the start of each free stretch not counted as idle (wrap-up, reading the queue)."""
    hard_quantile: float = 0.75
    """Tickets at or above this quantile of predicted difficulty are hard (the top quartile)."""
    level: float = 0.90
    """Two-sided level of the index interval."""
    flag_above: float = 1.0
    """Flag when the interval's lower end exceeds this (in between-agent standard deviations)."""
    ramp_up_days: float = 90.0
    """Tenure below which an agent is noted as in ramp-up."""
    few_picks: int = 30
    """Below this many informative picks an agent is noted as having little evidence."""
    specialist_share: float = 0.6
    """An agent whose closed tickets are at least this share one topic is noted as a specialist."""
    weights: dict[str, float] = field(default_factory=lambda: {
        "pick_easiness": 1.0, "churn_rate": 1.0, "handled_ratio": 1.0, "idle_with_work_share": 1.0,
        "hard_share_vs_fair": 1.0})
    """Weight of each indicator in the index (indicators not listed weigh 1; context ones are never in it)."""


@dataclass
class AuditResult:
    """Per-agent table, per-claim table (for plots), the indicators and what the report says about the center."""

    agents: pd.DataFrame
    claims: pd.DataFrame
    indicators: list[Indicator]
    center: dict[str, Any]
    settings: AuditSettings
    difficulty_source: str
    window: dict[str, str]
    sources: dict[str, str]

    def summary(self) -> dict[str, Any]:
        """Everything but the tables, JSON-ready (the head of audit.json)."""
        return {"window": self.window, "sources": self.sources, "difficulty_source": self.difficulty_source,
                "settings": asdict(self.settings), "center": self.center,
                "indicators": {ind.name: {"label": ind.label, "meaning": ind.meaning, "in_index": ind.in_index,
                                          "higher_means_more_selective": ind.sign > 0,
                                          "center": _num(ind.center)} for ind in self.indicators},
                "legitimate_picking": LEGITIMATE}


def run_audit(logs: Logs, difficulty: TicketDifficulty, settings: AuditSettings | None = None,
              progress: Progress | None = None) -> AuditResult:
    """Per-agent indicators and the cherry-pick index from validated logs (events required) and ticket difficulty."""
    settings = settings or AuditSettings()
    say = progress or (lambda message: None)
    shared = check_audit_logs(logs)
    events, inter = cast(pd.DataFrame, logs.events), logs.interactions  # check_audit_logs refused a missing log

    say("rebuilding the queue from the events")
    created = pd.Series(inter["created_at"].to_numpy(), index=inter["ticket_id"].to_numpy(dtype=object))
    timeline = build_timeline(events, created)
    seen_agents = np.concatenate([timeline.claims["agent_id"].to_numpy(dtype=object),
                                  timeline.online["agent_id"].to_numpy(dtype=object)])
    elig = build_eligibility(inter[["ticket_id", "topic", "language"]], logs.agents, seen_agents)
    table = difficulty.table
    table = table[~table.index.duplicated()].reindex(pd.Index(inter["ticket_id"].to_numpy(dtype=object)))
    bins = difficulty_bins(table["difficulty"].dropna(), settings.n_bins)

    percentiles = pick_percentiles(timeline.waits, timeline.claims, elig, bins, settings.n_bins, progress=say)
    claims = pd.concat([timeline.claims, percentiles], axis=1)
    claims["easiness"] = 1.0 - claims["percentile"]

    say("indicators")
    handled = _handled(inter, table, shared, settings.hard_quantile)
    fair = _fair_hard_share(handled, elig)
    indicators = [pick_easiness(claims), churn(claims), handled_ratio(timeline),
                  idle_with_work(timeline, elig, settings.grace_s), hard_share(handled, fair),
                  handle_time_ratio(handled)]
    agents = _audited_agents(timeline)
    index, tables = combine(indicators, agents, settings.weights, settings.level, settings.flag_above)

    say("per-agent table")
    frame = _agent_table(agents, claims, indicators, tables, index, handled, fair, timeline, logs, settings)
    start, end = (pd.Timestamp(s, unit="s", tz="UTC").isoformat(timespec="seconds")
                  for s in (timeline.start_s, timeline.end_s))
    center = _center(indicators, claims, handled, frame, timeline, settings)
    return AuditResult(agents=frame, claims=claims, indicators=indicators, center=center, settings=settings,
                       difficulty_source=difficulty.source, window={"start": start, "end": end},
                       sources={k: str(v) for k, v in logs.sources.items()})


def check_audit_logs(logs: Logs) -> pd.Index:
    """Refuse logs the audit cannot use (no events, no picks, no ticket in common); returns the shared ticket ids.

    Cheap, so the command line calls it before fitting a difficulty model.
    """
    events_file = logs.sources.get("events")
    if logs.events is None:
        raise InputError("the audit needs the events log", expected="an events file (--events)")
    events = logs.events
    if not events["event"].isin(TAKE_EVENTS).any():
        raise InputError("no claimed or assigned events: nothing was picked", file=events_file, column="event",
                         expected="claimed or assigned events (the picks the audit measures)")
    ticket_ids = events["ticket_id"].dropna().unique()
    shared = pd.Index(ticket_ids).intersection(pd.Index(logs.interactions["ticket_id"]))
    if len(shared) == 0:
        raise InputError("the events and the interactions share no ticket_id", file=events_file, column="ticket_id",
                         expected=f"ticket ids of the interactions log ({logs.sources.get('interactions')})",
                         got=ticket_ids[:6].tolist())
    return shared


def _handled(inter: pd.DataFrame, table: pd.DataFrame, shared: pd.Index, hard_quantile: float) -> pd.DataFrame:
    """Audited interactions (tickets in the events) with difficulty, expected handle time and the hard flag."""
    rows = inter[inter["ticket_id"].isin(shared)]
    out = pd.DataFrame({"ticket_id": rows["ticket_id"].to_numpy(dtype=object),
                        "agent_id": rows["agent_id"].to_numpy(dtype=object),
                        "topic": rows["topic"].astype(str).to_numpy(dtype=object),
                        "handle_time_s": rows["handle_time_s"].to_numpy(dtype=float)})
    looked_up = table.reindex(out["ticket_id"])
    out["difficulty"] = looked_up["difficulty"].to_numpy(dtype=float)
    out["expected_handle_s"] = looked_up["expected_handle_s"].to_numpy(dtype=float)
    out = out[out["difficulty"].notna()].reset_index(drop=True)
    threshold = float(out["difficulty"].quantile(hard_quantile)) if len(out) else np.nan
    out["hard"] = out["difficulty"] >= threshold
    out.attrs["hard_threshold"] = threshold
    return out


def _fair_hard_share(handled: pd.DataFrame, elig: Eligibility) -> pd.Series:
    """Per agent: the center's share of hard tickets among the audited tickets of the classes it may take."""
    cls = handled["ticket_id"].map(elig.ticket_class).fillna(-1).to_numpy(dtype=int)
    n_classes = elig.allowed.shape[1]
    ok = cls >= 0
    n_c = np.bincount(cls[ok], minlength=n_classes).astype(float)
    hard_c = np.bincount(cls[ok], weights=handled["hard"].to_numpy(dtype=float)[ok], minlength=n_classes)
    n_a, hard_a = elig.allowed @ n_c, elig.allowed @ hard_c
    overall = hard_c.sum() / max(n_c.sum(), 1.0)
    return pd.Series(np.where(n_a > 0, hard_a / np.maximum(n_a, 1.0), overall), index=elig.agents)


def _audited_agents(timeline: Timeline) -> pd.Index:
    """Agents who picked, closed or were online in the events log, sorted by id."""
    ids = pd.unique(np.concatenate([timeline.claims["agent_id"].to_numpy(dtype=object),
                                    timeline.closes["agent_id"].to_numpy(dtype=object),
                                    timeline.online["agent_id"].to_numpy(dtype=object)]))
    return pd.Index(sorted(str(a) for a in ids if isinstance(a, str)), name="agent_id")


def _agent_table(agents: pd.Index, claims: pd.DataFrame, indicators: list[Indicator], tables: dict[str, pd.DataFrame],
                 index: pd.DataFrame, handled: pd.DataFrame, fair: pd.Series, timeline: Timeline,
                 logs: Logs, settings: AuditSettings) -> pd.DataFrame:
    """One row per agent: evidence counts, indicators (raw), their standardised shrunk values, index, flag, notes."""
    out = pd.DataFrame(index=agents)
    out["n_picks"] = claims.groupby("agent_id").size().reindex(agents).fillna(0).astype(int)
    informative = claims[(claims["pool_size"] >= 2) & claims["percentile"].notna()]
    out["n_informative_picks"] = informative.groupby("agent_id").size().reindex(agents).fillna(0).astype(int)
    out["n_closed"] = handled.groupby("agent_id").size().reindex(agents).fillna(0).astype(int)
    online_s = (timeline.online["end_s"] - timeline.online["start_s"]).groupby(timeline.online["agent_id"]).sum()
    out["online_h"] = (online_s.reindex(agents) / 3600.0).round(2)
    for ind in indicators:
        out[ind.name] = ind.values["value"].reindex(agents)
    out["hard_share"] = handled.groupby("agent_id")["hard"].mean().reindex(agents)
    out["fair_hard_share"] = fair.reindex(agents)
    out["median_pool_size"] = informative.groupby("agent_id")["pool_size"].median().reindex(agents)
    for name, table in tables.items():
        out[f"z_{name}"] = table["z"]
    out = out.join(index)
    out["notes"] = _notes(out, handled, timeline, settings, logs)
    return out.reset_index()


def _notes(frame: pd.DataFrame, handled: pd.DataFrame, timeline: Timeline, settings: AuditSettings,
           logs: Logs) -> pd.Series:
    """Context a coach should read beside the numbers: ramp-up, specialism, thin evidence, missing data."""
    notes: dict[str, list[str]] = {a: [] for a in frame.index}
    roster = logs.agents.set_index("agent_id")
    start = pd.Timestamp(timeline.start_s, unit="s", tz="UTC")
    if "hire_date" in roster.columns:
        hire = pd.to_datetime(roster["hire_date"], utc=True)
        tenure = (start - hire).dt.total_seconds() / DAY_S
        for agent, days in tenure.items():
            if agent in notes and pd.notna(days) and days < settings.ramp_up_days:
                notes[agent].append(f"ramp-up ({days:.0f} days' tenure): easier picks are expected while learning")
    if len(handled):
        mix = handled.groupby(["agent_id", "topic"]).size()
        share = mix / mix.groupby(level="agent_id").transform("sum")
        top = share.groupby(level="agent_id").idxmax()
        for agent, (_, topic) in top.items():
            if agent in notes and share[(agent, topic)] >= settings.specialist_share:
                notes[agent].append(f"mostly {topic} ({share[(agent, topic)]:.0%} of closed tickets): the difficulty "
                                    "mix may reflect specialism, not picking")
    for agent, n in frame["n_informative_picks"].items():
        if n < settings.few_picks:
            notes[agent].append(f"few informative picks ({n}): the index stays near the center")
    online = set(timeline.online["agent_id"])
    for agent in frame.index:
        if agent not in online:
            notes[agent].append("no agent_online/agent_offline events: idle time not measured")
        if agent not in roster.index:
            notes[agent].append("not on the roster: assumed to speak en, capacity 1")
    return pd.Series({a: "; ".join(n) for a, n in notes.items()})


def _center(indicators: list[Indicator], claims: pd.DataFrame, handled: pd.DataFrame, frame: pd.DataFrame,
            timeline: Timeline, settings: AuditSettings) -> dict[str, Any]:
    """Center-wide figures for the report: volumes, each indicator's center value, how many flagged."""
    informative = claims[(claims["pool_size"] >= 2) & claims["percentile"].notna()]
    return {
        "n_agents": int(len(frame)), "n_flagged": int(frame["flag"].sum()),
        "flagged": frame.loc[frame["flag"], "agent_id"].tolist(),
        "n_picks": int(len(claims)), "n_informative_picks": int(len(informative)),
        "n_picks_without_difficulty": int(claims["percentile"].isna().sum()),
        "n_closed_audited": int(len(handled)), "hard_threshold": _num(handled.attrs.get("hard_threshold", np.nan)),
        "hard_share": _num(handled["hard"].mean() if len(handled) else np.nan),
        "has_views": bool(len(timeline.views)), "has_presence": bool(len(timeline.online)),
        "indicator_centers": {ind.name: _num(ind.center) for ind in indicators},
        "median_pool_size": _num(informative["pool_size"].median() if len(informative) else np.nan),
        "days": round((timeline.end_s - timeline.start_s) / DAY_S, 2),
        "flag_rule": (f"index_low > {settings.flag_above:g}: the {settings.level:.0%} interval lies wholly above "
                      f"{settings.flag_above:g} between-agent standard deviations"),
    }


def _num(value: object) -> float | None:
    """A float for JSON, None for nan."""
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(f) else round(f, 6)


__all__ = ["AuditResult", "AuditSettings", "LEGITIMATE", "check_audit_logs", "run_audit"]
