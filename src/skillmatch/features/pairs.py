"""The one pair-feature builder: (ticket, agent, history at that moment) -> model features.

Training calls it on logged rows with point-in-time history; serving calls it on every candidate
pair of a routing round with the live history. Nothing else turns pairs into model inputs.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from skillmatch.errors import InputError
from skillmatch.features.categories import with_categories
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
            out[column] = with_categories(values, self.vocab_[column])
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

    @property
    def ticket_columns(self) -> list[str]:
        """The columns of `ticket_features`, in order."""
        return [*CATEGORICAL, *self.extra_categorical, "priority", "sentiment", "hour", "weekday",
                "customer_recent_7d", *self.extra_numeric]

    @property
    def ticket_fields(self) -> list[str]:
        """The request fields `ticket_matrix` reads besides the creation time and the customer's recent contacts."""
        return [*CATEGORICAL, *self.extra_categorical, "priority", "sentiment", *self.extra_numeric]

    def ticket_matrix(self, columns: Mapping[str, Sequence[Any]], time_s: np.ndarray,
                      customer_recent: np.ndarray) -> np.ndarray:
        """`ticket_features` as LightGBM reads them (categories as codes, nan when unknown), without pandas.

        `columns` maps a ticket field to its values (one per ticket; None or a missing name where not
        sent), as a round's request gives them; `time_s` is each ticket's creation time (POSIX seconds).
        Equal to `lgbm_matrix(ticket_features(frame, ...))` of the same tickets (tested).
        """
        created = np.asarray(time_s, dtype=float)
        n = len(created)
        out = np.empty((n, len(self.ticket_columns)))
        j = 0
        for column in (*CATEGORICAL, *self.extra_categorical):
            default = DEFAULT_LANGUAGE if column == "language" else None
            codes = self._codes(column)
            values = columns.get(column)
            if values is None:
                out[:, j] = codes.get(default, np.nan)
            else:
                out[:, j] = [_code(codes, v, default) for v in values]
            j += 1
        for column, default in (("priority", float(DEFAULT_PRIORITY)), ("sentiment", np.nan)):
            out[:, j] = _numbers(columns.get(column), n, default, column)
            j += 1
        out[:, j] = (created % DAY_S) / 3600.0
        out[:, j + 1] = np.floor(created / DAY_S + 3) % 7
        out[:, j + 2] = customer_recent
        j += 3
        for column in self.extra_numeric:
            out[:, j] = _numbers(columns.get(column), n, np.nan, column)
            j += 1
        return out

    def _codes(self, column: str) -> dict[str, int]:
        """Category -> code of a categorical column (the position in its vocabulary, as pandas codes it)."""
        cache = self.__dict__.setdefault("_codes_cache", {})
        if column not in cache:
            cache[column] = {c: i for i, c in enumerate(self.vocab_[column])}
        return cache[column]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_codes_cache", None)  # derived from vocab_
        return state

    # ---------------------------------------------------------------- pairs
    def pair_features(self, ticket_features: pd.DataFrame, tickets: pd.DataFrame, agent: np.ndarray,
                      roster: Roster, stats: PairStats, time_s: np.ndarray,
                      reference: pd.DataFrame) -> pd.DataFrame:
        """Ticket features + agent profile + agent history + the ticket's reference difficulty, per pair.

        `ticket_features`, `tickets`, `agent`, `stats`, `time_s` and `reference` (columns
        `p_resolve_ref`, `log_handle_ref`) are aligned: one entry per pair.
        """
        topic = np.asarray(tickets["topic"].astype(str), dtype=object)
        language = (np.asarray(tickets["language"].fillna(DEFAULT_LANGUAGE), dtype=object)
                    if "language" in tickets.columns else np.full(len(agent), DEFAULT_LANGUAGE, dtype=object))
        out = ticket_features.reset_index(drop=True).copy()
        out["p_resolve_ref"] = reference["p_resolve_ref"].to_numpy()
        out["log_handle_ref"] = reference["log_handle_ref"].to_numpy()
        for name, values in self.agent_features(agent, topic, roster.speaks(agent, language), roster, stats,
                                                time_s).items():
            out[name] = values
        return out

    def agent_features(self, agent: np.ndarray, topic: np.ndarray, speaks: np.ndarray, roster: Roster,
                       stats: PairStats, time_s: np.ndarray) -> dict[str, np.ndarray]:
        """The pair features that are not the ticket's own (`AGENT_FEATURES`, in order), per pair.

        What the agent brings to the pair: profile, history in the ticket's topic and overall, history
        with the ticket's customer; `speaks` is `roster.speaks(agent, ticket language)`.
        """
        k, base = self.prior_strength, self.base_rate_
        time_s = np.asarray(time_s, dtype=float)
        profile = roster.per_agent_columns(agent, ("n_languages", "capacity", "hire_s"))
        return {
            "declared_skill": roster.declared_skill(agent, topic),
            "speaks_language": np.asarray(speaks, dtype=float),
            "n_languages": profile["n_languages"],
            "capacity": profile["capacity"],
            "tenure_days": (time_s - profile["hire_s"]) / DAY_S,
            "topic_n_log": np.log1p(stats.at_n),
            "topic_rate": (stats.at_resolved + k * base) / (stats.at_n + k),
            "topic_skill": stats.at_resid_resolve / (stats.at_n + k),
            "topic_speed": -stats.at_resid_handle / (stats.at_n + k),
            "topic_days_since": np.where(np.isnan(stats.at_last_s), NEVER_DAYS,
                                         np.minimum(NEVER_DAYS, (time_s - stats.at_last_s) / DAY_S)),
            "topic_share": (stats.at_n + 1) / (stats.a_n + 6),
            "agent_n_log": np.log1p(stats.a_n),
            "agent_rate": (stats.a_resolved + k * base) / (stats.a_n + k),
            "agent_skill": stats.a_resid_resolve / (stats.a_n + k),
            "agent_speed": -stats.a_resid_handle / (stats.a_n + k),
            "served_customer": (stats.ac_n > 0).astype(float),
            "customer_last_resolved": stats.ac_last_resolved,
        }

    @staticmethod
    def agent_feature_drift(features: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per row of `agent_features`, how fast each feature grows with `time_s` (per second) while the
        history stays as it is: tenure and the days since the topic grow by a day a day (until the latter
        saturates at NEVER_DAYS); every other feature stands still (0)."""
        tenure, since = features["tenure_days"], features["topic_days_since"]
        return {"tenure_days": np.where(np.isnan(tenure), 0.0, 1.0 / DAY_S),
                "topic_days_since": np.where(np.isnan(since) | (since >= NEVER_DAYS), 0.0, 1.0 / DAY_S)}


AGENT_FEATURES = ("declared_skill", "speaks_language", "n_languages", "capacity", "tenure_days", "topic_n_log",
                  "topic_rate", "topic_skill", "topic_speed", "topic_days_since", "topic_share", "agent_n_log",
                  "agent_rate", "agent_skill", "agent_speed", "served_customer", "customer_last_resolved")
"""The pair features beyond the ticket's own and its reference difficulty (`PairFeatureBuilder.agent_features`)."""
REFERENCE_FEATURES = ("p_resolve_ref", "log_handle_ref")
"""The ticket's reference difficulty, a pair feature that depends on the ticket alone."""


def _code(codes: dict[str, int], value: Any, default: str | None) -> float:
    """A category's code as `pd.Categorical` gives it: missing -> the default's, no such category -> nan."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        value = default
    code = codes.get(value) if isinstance(value, str) else None  # the categories are strings
    return np.nan if code is None else float(code)


def _numbers(values: Sequence[Any] | None, n: int, default: float, column: str) -> np.ndarray:
    """One numeric column as `_numeric` reads it from a frame: numbers as floats, missing or unreadable -> default."""
    if values is None:
        return np.full(n, default, dtype=float)
    if all(v is None or (type(v) in (int, float) and abs(v) < 2**53) for v in values):
        return np.array([default if v is None or v != v else float(v) for v in values], dtype=float)
    return _numeric(pd.DataFrame({column: list(values)}), column, default)  # anything else: pandas decides


def _numeric(frame: pd.DataFrame, column: str, default: float) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").fillna(default).to_numpy(dtype=float)


def posix_seconds(values: pd.Series) -> np.ndarray:
    """UTC timestamps as POSIX seconds (float), the time axis of every history query."""
    ts = pd.to_datetime(values, utc=True)
    return (ts - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(dtype=float)
