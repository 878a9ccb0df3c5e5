"""The one pair-feature builder: (ticket, agent, history at that moment) -> model features.

Training calls it on logged rows with point-in-time history; serving calls it on every candidate
pair of a routing round with the live history. Nothing else turns pairs into model inputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from skillmatch.errors import InputError
from skillmatch.features.history import PairStats
from skillmatch.features.roster import Roster
from skillmatch.logs.schema import DEFAULT_LANGUAGE, DEFAULT_PRIORITY

CATEGORICAL = ("topic", "channel", "language", "customer_tier")
DAY_S = 86400.0
NEVER_DAYS = 365.0


@dataclass
class PairFeatureBuilder:
    """Learns category vocabularies and the base resolution rate once; then builds features anywhere."""

    extra_numeric: tuple[str, ...] = ()
    extra_categorical: tuple[str, ...] = ()
    prior_strength: float = 20.0
    vocab_: dict[str, list[str]] = field(default_factory=dict)
    base_rate_: float = 0.5

    def fit(self, interactions: pd.DataFrame) -> PairFeatureBuilder:
        """Learn vocabularies (most frequent first) and the overall resolution rate from training rows."""
        for column in (*CATEGORICAL, *self.extra_categorical):
            if column not in interactions.columns:
                if column in self.extra_categorical:
                    raise InputError("declared feature column is missing from the interactions",
                                     column=column, expected="a column of that name")
                self.vocab_[column] = []
                continue
            counts = interactions[column].dropna().astype(str).value_counts()
            self.vocab_[column] = counts.index.tolist()
        for column in self.extra_numeric:
            if column not in interactions.columns:
                raise InputError("declared feature column is missing from the interactions",
                                 column=column, expected="a numeric column of that name")
        self.base_rate_ = float(interactions["resolved"].mean())
        return self

    # ---------------------------------------------------------------- tickets
    def ticket_features(self, tickets: pd.DataFrame, time_s: np.ndarray, customer_recent: np.ndarray) -> pd.DataFrame:
        """Features of the ticket alone (what the difficulty model sees), one row per input row."""
        n = len(tickets)
        out: dict[str, object] = {}
        for column in (*CATEGORICAL, *self.extra_categorical):
            default = DEFAULT_LANGUAGE if column == "language" else None
            values = tickets[column].astype(object) if column in tickets.columns else pd.Series([default] * n)
            values = values.where(pd.notna(values), default)
            out[column] = pd.Categorical(np.asarray(values, dtype=object), categories=self.vocab_[column])
        out["priority"] = _numeric(tickets, "priority", DEFAULT_PRIORITY)
        out["sentiment"] = _numeric(tickets, "sentiment", np.nan)
        created = posix_seconds(tickets["created_at"]) if "created_at" in tickets.columns else np.asarray(time_s, float)
        hours = (created % DAY_S) / 3600.0
        out["hour"] = hours
        out["weekday"] = np.floor(created / DAY_S + 3) % 7  # 1970-01-01 was a Thursday
        out["customer_recent_7d"] = customer_recent
        for column in self.extra_numeric:
            out[column] = _numeric(tickets, column, np.nan)
        return pd.DataFrame(out)

    # ---------------------------------------------------------------- pairs
    def pair_features(self, ticket_features: pd.DataFrame, tickets: pd.DataFrame, agent: np.ndarray,
                      roster: Roster, stats: PairStats, time_s: np.ndarray,
                      reference: pd.DataFrame) -> pd.DataFrame:
        """Ticket features + agent profile + agent history + the ticket's reference difficulty, per pair.

        `ticket_features`, `tickets`, `agent`, `stats`, `time_s` and `reference` (columns
        `p_resolve_ref`, `log_handle_ref`) are aligned: one entry per pair.
        """
        k, base = self.prior_strength, self.base_rate_
        time_s = np.asarray(time_s, dtype=float)
        topic = np.asarray(tickets["topic"].astype(str), dtype=object)
        language = (np.asarray(tickets["language"].fillna(DEFAULT_LANGUAGE), dtype=object)
                    if "language" in tickets.columns else np.full(len(agent), DEFAULT_LANGUAGE, dtype=object))
        out = ticket_features.reset_index(drop=True).copy()
        out["p_resolve_ref"] = reference["p_resolve_ref"].to_numpy()
        out["log_handle_ref"] = reference["log_handle_ref"].to_numpy()
        out["declared_skill"] = roster.declared_skill(agent, topic)
        out["speaks_language"] = roster.speaks(agent, language)
        out["n_languages"] = roster.per_agent(agent, "n_languages")
        out["capacity"] = roster.per_agent(agent, "capacity")
        out["tenure_days"] = (time_s - roster.per_agent(agent, "hire_s")) / DAY_S
        out["topic_n_log"] = np.log1p(stats.at_n)
        out["topic_rate"] = (stats.at_resolved + k * base) / (stats.at_n + k)
        out["topic_skill"] = stats.at_resid_resolve / (stats.at_n + k)
        out["topic_speed"] = -stats.at_resid_handle / (stats.at_n + k)
        out["topic_days_since"] = np.where(np.isnan(stats.at_last_s), NEVER_DAYS,
                                           np.minimum(NEVER_DAYS, (time_s - stats.at_last_s) / DAY_S))
        out["topic_share"] = (stats.at_n + 1) / (stats.a_n + 6)
        out["agent_n_log"] = np.log1p(stats.a_n)
        out["agent_rate"] = (stats.a_resolved + k * base) / (stats.a_n + k)
        out["agent_skill"] = stats.a_resid_resolve / (stats.a_n + k)
        out["agent_speed"] = -stats.a_resid_handle / (stats.a_n + k)
        out["served_customer"] = (stats.ac_n > 0).astype(float)
        out["customer_last_resolved"] = stats.ac_last_resolved
        return out


def _numeric(frame: pd.DataFrame, column: str, default: float) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").fillna(default).to_numpy(dtype=float)


def posix_seconds(values: pd.Series) -> np.ndarray:
    """UTC timestamps as POSIX seconds (float), the time axis of every history query."""
    ts = pd.to_datetime(values, utc=True)
    return (ts - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(dtype=float)
