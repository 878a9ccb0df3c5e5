"""Proficiency per agent and topic from the live history, and mentors for an agent's growth topics.

Proficiency is an agent's resolution above a typical agent's on the same tickets (the mean of the
difficulty-adjusted residuals, shrunk toward 0 as in the engine's agent profile). A mentor has high
and stable proficiency in the topic: enough outcomes, a lower bound (estimate minus `z` standard
errors) above the bar, no measured decline beyond the allowed one, better than the mentee in the topic,
and is available and not overloaded; never the mentee.
"""
from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from skillmatch.features import OutcomeHistory
from skillmatch.supervision.rules import SupervisionRules

SKILL_COLUMNS = ("agent_id", "topic", "outcomes", "resolution_rate", "proficiency", "se", "lower", "trend",
                 "recent_n", "earlier_n")


def topic_skills(history: OutcomeHistory, now_s: float, prior_strength: float, z: float, trend_days: float,
                 min_trend_outcomes: int = 10) -> pd.DataFrame:
    """One row per (agent, topic) with outcomes closed before `now_s`: the columns of SKILL_COLUMNS.

    `trend` is the shrunk proficiency of the last `trend_days` less that of the time before, nan unless
    both sides have `min_trend_outcomes`.
    """
    before = history.closed_s < now_s
    if not before.any():
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("agent_id", "topic") else float)
                             for c in SKILL_COLUMNS})
    resid = history.resid_resolve[before].astype(float)
    recent = history.closed_s[before] >= now_s - trend_days * 86400.0
    frame = pd.DataFrame({"agent_id": history.agent[before], "topic": history.topic[before], "r": resid,
                          "r2": resid ** 2, "resolved": history.resolved[before].astype(float),
                          "recent_r": np.where(recent, resid, 0.0), "recent_n": recent.astype(float)})
    g = frame.groupby(["agent_id", "topic"], sort=True).agg(
        outcomes=("r", "size"), r=("r", "sum"), r2=("r2", "sum"), resolution_rate=("resolved", "mean"),
        recent_r=("recent_r", "sum"), recent_n=("recent_n", "sum")).reset_index()
    k = prior_strength
    n = g["outcomes"].to_numpy(dtype=float)
    mean = g["r"].to_numpy() / n
    sd = np.sqrt(np.maximum(g["r2"].to_numpy() / n - mean ** 2, 0.0))
    g["proficiency"] = g["r"] / (n + k)
    g["se"] = np.where(n >= 2, sd, 0.5) / np.sqrt(n + k)
    g["lower"] = g["proficiency"] - z * g["se"]
    earlier_n = n - g["recent_n"]
    trend = g["recent_r"] / (g["recent_n"] + k) - (g["r"] - g["recent_r"]) / (earlier_n + k)
    enough = (g["recent_n"] >= min_trend_outcomes) & (earlier_n >= min_trend_outcomes)
    g["trend"] = trend.where(enough, np.nan)
    g["earlier_n"] = earlier_n.astype(int)
    g["recent_n"] = g["recent_n"].astype(int)
    g["outcomes"] = g["outcomes"].astype(int)
    return g[list(SKILL_COLUMNS)]


def suggest_mentors(skills: pd.DataFrame, mentee: str, topic: str, unavailable: Collection[str],
                    overloaded: Collection[str], rules: SupervisionRules) -> list[dict[str, object]]:
    """Mentors for `mentee` in `topic`, best first: above the bar, stable, available, better than the mentee."""
    in_topic = skills[skills["topic"] == topic]
    own = in_topic.loc[in_topic["agent_id"] == mentee, "proficiency"]
    mentee_level = float(own.iloc[0]) if len(own) else -np.inf
    excluded = set(unavailable) | set(overloaded) | {mentee}
    ok = (~in_topic["agent_id"].isin(excluded) & (in_topic["outcomes"] >= rules.mentor_min_outcomes)
          & (in_topic["lower"] >= rules.mentor_min_proficiency)
          & (in_topic["proficiency"] >= rules.mentor_min_proficiency)
          & ~(in_topic["trend"] < -rules.mentor_max_decline) & (in_topic["proficiency"] > mentee_level))
    chosen = in_topic[ok].sort_values(["lower", "agent_id"], ascending=[False, True]).head(rules.mentors_per_topic)
    return [{"agent_id": str(r.agent_id), "topic": topic, "proficiency": round(float(r.proficiency), 4),
             "lower_bound": round(float(r.lower), 4), "outcomes": int(r.outcomes),
             "resolution_rate": round(float(r.resolution_rate), 4),
             "trend": None if np.isnan(r.trend) else round(float(r.trend), 4)}
            for r in chosen.itertuples(index=False)]
