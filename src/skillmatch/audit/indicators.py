"""Per-agent cherry-picking indicators from the rebuilt queue, each with its unit count and sampling variance.

Every indicator is an average over units (claims, engaged tickets, online days, handled tickets), so
each comes with `n` and a sampling variance from the center's pooled unit-level spread: the index
needs them to shrink agents with little data toward the center instead of flagging noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillmatch.audit.pool import Eligibility, covered_time
from skillmatch.audit.timeline import DAY_S, Timeline, free_runs


@dataclass(frozen=True)
class Indicator:
    """One indicator for every agent: `values` (index agent_id; value, n, var), the center's value, its direction.

    `sign` is +1 when a higher value means more selective picking, -1 when lower does; `in_index`
    says whether the index combines it (context indicators are reported beside it).
    """

    name: str
    label: str
    values: pd.DataFrame
    center: float
    sign: int
    in_index: bool
    meaning: str


def churn(claims: pd.DataFrame) -> Indicator:
    """Share of an agent's finished claims that it handed back (`unassigned` by the same agent)."""
    done = claims[claims["ended"]]
    handed_back = ((done["end_event"] == "unassigned") & (done["end_agent"] == done["agent_id"])).astype(float)
    return _proportion("churn_rate", "claim-then-unassign churn", handed_back, done["agent_id"], sign=+1,
                       meaning="share of the agent's claims it handed back to the queue")


def handled_ratio(timeline: Timeline) -> Indicator:
    """Share of the tickets an agent claimed or viewed that it closed itself (tickets still open are left out)."""
    claimed = timeline.claims[["agent_id", "ticket_id"]]
    engaged = pd.concat([claimed, timeline.views], ignore_index=True).drop_duplicates()
    engaged = engaged[engaged["ticket_id"].isin(timeline.closes["ticket_id"])]
    closed = engaged.merge(timeline.closes.assign(_closed=1.0), on=["agent_id", "ticket_id"], how="left")
    return _proportion("handled_ratio", "handled vs engaged", closed["_closed"].fillna(0.0), closed["agent_id"],
                       sign=-1, meaning="tickets the agent closed, of the tickets it claimed or viewed")


def pick_easiness(claims: pd.DataFrame) -> Indicator:
    """Mean of 1 - (difficulty percentile of the claimed ticket among the eligible tickets waiting then).

    0.5 is a pick at random from the eligible queue; above 0.5 the agent takes easier tickets than
    those it leaves. Claims with no alternative waiting (pool of one) carry no information and are left out.
    """
    informative = claims[(claims["pool_size"] >= 2) & claims["percentile"].notna()]
    easiness = 1.0 - informative["percentile"].astype(float)
    return _mean("pick_easiness", "pick easiness", easiness, informative["agent_id"], sign=+1,
                 meaning="1 - difficulty percentile of the picked ticket among the eligible waiting ones "
                         "(0.5 = random pick)")


def idle_with_work(timeline: Timeline, elig: Eligibility, grace_s: float) -> Indicator:
    """Share of online time spent with a free slot while a ticket the agent could take was waiting.

    Stretches online with a free slot lose their first `grace_s` (wrap-up, reading the queue); what is
    left counts only while an eligible ticket waited. Units are agent-days, pooled in a ratio estimator.
    """
    stretches = free_runs(timeline, elig.capacity, grace_s)
    idle = stretches.assign(idle_s=covered_time(timeline.waits, stretches, elig),
                            day=np.floor(stretches["start_s"] / DAY_S))
    online = timeline.online.assign(online_s=timeline.online["end_s"] - timeline.online["start_s"],
                                    day=np.floor(timeline.online["start_s"] / DAY_S))
    days = (online.groupby(["agent_id", "day"])["online_s"].sum().to_frame()
            .join(idle.groupby(["agent_id", "day"])["idle_s"].sum(), how="left").fillna(0.0))
    days = days[days["online_s"] > 0]
    empty = pd.DataFrame({"value": pd.Series(dtype=float), "n": pd.Series(dtype=float), "var": pd.Series(dtype=float)})
    meaning = (f"share of online time with a free slot while an eligible ticket waited (after a {grace_s:g} s "
               "grace per free stretch)")
    if days.empty:
        return Indicator("idle_with_work_share", "idle while eligible work waited", empty, np.nan, +1, True, meaning)
    per_agent = days.groupby(level="agent_id").agg(idle=("idle_s", "sum"), online=("online_s", "sum"),
                                                   n=("online_s", "size"))
    ratio = per_agent["idle"] / per_agent["online"]
    resid = days["idle_s"] - days["online_s"] * ratio.reindex(days.index.get_level_values("agent_id")).to_numpy()
    pooled = float((resid ** 2).sum() / (days["online_s"] ** 2).sum())
    sq = (days["online_s"] ** 2).groupby(level="agent_id").sum()
    values = pd.DataFrame({"value": ratio, "n": per_agent["n"].astype(float),
                           "var": pooled * sq / per_agent["online"] ** 2})
    center = float(per_agent["idle"].sum() / per_agent["online"].sum())
    return Indicator("idle_with_work_share", "idle while eligible work waited", values, center, +1, True, meaning)


def hard_share(handled: pd.DataFrame, fair: pd.Series) -> Indicator:
    """Share of hard tickets among those an agent closed, minus its fair share (`fair`, per agent_id).

    `handled` holds agent_id and hard (bool) per audited interaction. Below zero the agent carried
    fewer hard tickets than the center's share among the tickets it may take.
    """
    gap = handled["hard"].astype(float).to_numpy() - handled["agent_id"].map(fair).to_numpy(dtype=float)
    grouped = pd.DataFrame({"agent_id": handled["agent_id"].to_numpy(), "gap": gap}).groupby("agent_id")["gap"]
    values = pd.DataFrame({"value": grouped.mean(), "n": grouped.size().astype(float)})
    p = fair.reindex(values.index).to_numpy(dtype=float)
    values["var"] = p * (1.0 - p) / values["n"]
    center = float(np.average(values["value"], weights=values["n"])) if len(values) else np.nan
    return Indicator("hard_share_vs_fair", "hard share vs fair share", values, center, -1, True,
                     "share of hard tickets (top quartile of predicted difficulty) among those the agent closed, "
                     "minus the center's share among the tickets it may take")


def handle_time_ratio(handled: pd.DataFrame) -> Indicator:
    """Geometric mean of actual over difficulty-adjusted expected handle time (context, not in the index).

    It measures speed on the tickets taken, not selection: an agent who looks fast only because it
    takes easy tickets shows a ratio near 1 here. It stays out of the index so that slow or fast
    agents are never read as pickers (speed alone is a distrusted metric).
    """
    actual, expected = handled["handle_time_s"].to_numpy(dtype=float), handled["expected_handle_s"].to_numpy(dtype=float)
    log_ratio = np.log(actual / expected)
    frame = pd.DataFrame({"agent_id": handled["agent_id"].to_numpy(), "x": log_ratio})
    frame = frame[np.isfinite(frame["x"])]
    grouped = frame.groupby("agent_id")["x"]
    pooled = _pooled_within_variance(frame["x"], frame["agent_id"])
    values = pd.DataFrame({"value": np.exp(grouped.mean()), "n": grouped.size().astype(float)})
    values["var"] = (values["value"] ** 2) * pooled / values["n"]  # delta method on exp(mean)
    center = float(np.exp(frame["x"].mean())) if len(frame) else np.nan
    return Indicator("handle_time_ratio", "handle time vs expectation", values, center, +1, False,
                     "actual handle time over the expected one for a typical agent on the same tickets "
                     "(geometric mean; context only)")


def _proportion(name: str, label: str, y: pd.Series, agent: pd.Series, *, sign: int, meaning: str) -> Indicator:
    """A per-agent share with binomial variance around the center's share (never zero for small n)."""
    frame = pd.DataFrame({"agent_id": np.asarray(agent, dtype=object), "y": np.asarray(y, dtype=float)})
    grouped = frame.groupby("agent_id")["y"]
    values = pd.DataFrame({"value": grouped.mean(), "n": grouped.size().astype(float)})
    center = float(frame["y"].mean()) if len(frame) else np.nan
    p = min(max(center, 0.5 / max(len(frame), 1)), 1.0 - 0.5 / max(len(frame), 1))
    values["var"] = p * (1.0 - p) / values["n"]
    return Indicator(name, label, values, center, sign, True, meaning)


def _mean(name: str, label: str, x: pd.Series, agent: pd.Series, *, sign: int, meaning: str) -> Indicator:
    """A per-agent mean with variance from the center's pooled within-agent spread."""
    frame = pd.DataFrame({"agent_id": np.asarray(agent, dtype=object), "x": np.asarray(x, dtype=float)})
    grouped = frame.groupby("agent_id")["x"]
    values = pd.DataFrame({"value": grouped.mean(), "n": grouped.size().astype(float)})
    values["var"] = _pooled_within_variance(frame["x"], frame["agent_id"]) / values["n"]
    center = float(frame["x"].mean()) if len(frame) else np.nan
    return Indicator(name, label, values, center, sign, True, meaning)


def _pooled_within_variance(x: pd.Series, agent: pd.Series) -> float:
    """Unit-level variance around each agent's own mean, pooled over agents."""
    if len(x) == 0:
        return np.nan
    x = pd.Series(np.asarray(x, dtype=float))
    groups = pd.Series(np.asarray(agent, dtype=object))
    resid = x - x.groupby(groups).transform("mean")
    dof = len(x) - groups.nunique()
    return float((resid ** 2).sum() / dof) if dof > 0 else float(x.var(ddof=0))
