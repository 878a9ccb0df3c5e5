"""The fitted model of one version: everything needed to predict any (ticket, agent) pair at a moment."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillmatch.features import OutcomeHistory, PairFeatureBuilder, Roster
from skillmatch.features.history import HistoryIndex
from skillmatch.models.agent_fit import AgentFitModel
from skillmatch.models.difficulty import DifficultyModel


@dataclass
class SkillmatchModel:
    """Feature builder, difficulty and agent-fit models, the training roster and the outcome history."""

    builder: PairFeatureBuilder
    difficulty: DifficultyModel
    agent_fit: AgentFitModel
    roster: Roster
    history: OutcomeHistory
    difficulty_quantiles: np.ndarray  # difficulty at quantiles 0, 0.05, ..., 1 of the training tickets

    def difficulty_at(self, quantile: float) -> float:
        """The difficulty below which `quantile` of the training tickets fall (e.g. 0.75: the hard threshold)."""
        return float(np.interp(quantile, np.linspace(0.0, 1.0, len(self.difficulty_quantiles)),
                               self.difficulty_quantiles))

    @property
    def index(self) -> HistoryIndex:
        """The history prepared for queries, rebuilt only when `history` is replaced."""
        cached = self.__dict__.get("_index")
        if cached is None or cached.history is not self.history:
            cached = HistoryIndex(self.history)
            self.__dict__["_index"] = cached
        return cached

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_index", None)  # derived; rebuilt on first use after loading
        return state

    def ticket_reference(self, tickets: pd.DataFrame, time_s: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Ticket features and reference difficulty (`p_resolve_ref`, `log_handle_ref`) per ticket."""
        time_s = np.broadcast_to(np.asarray(time_s, dtype=float), (len(tickets),))
        customers = _column(tickets, "customer_id")
        no_agent = np.full(len(tickets), "", dtype=object)
        topics = np.asarray(tickets["topic"].astype(str), dtype=object)
        recent = self.index.stats(no_agent, topics, customers, time_s).c_recent
        features = self.builder.ticket_features(tickets, time_s, recent)
        return features, self.difficulty.reference(features)

    def predict_pairs(self, tickets: pd.DataFrame, pair_ticket: np.ndarray, pair_agent: np.ndarray,
                      time_s: np.ndarray, roster: Roster | None = None,
                      reference: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
        """Predictions for pairs (row `pair_ticket[i]` of `tickets` with agent `pair_agent[i]`) at `time_s` per ticket.

        Columns: p_resolve, handle_time_s, csat, difficulty (of the ticket), plus the raw resolution score.
        `roster` overrides the training roster (a routing round's agents, with what the request sent);
        `reference` is `ticket_reference(tickets, time_s)` when the caller has it already.
        """
        time_s = np.broadcast_to(np.asarray(time_s, dtype=float), (len(tickets),))
        features, reference = reference if reference is not None else self.ticket_reference(tickets, time_s)
        pair_ticket = np.asarray(pair_ticket, dtype=int)
        pair_agent = np.asarray(pair_agent, dtype=object)
        pair_tickets = tickets.iloc[pair_ticket].reset_index(drop=True)
        pair_time = time_s[pair_ticket]
        stats = self.index.stats(pair_agent, np.asarray(pair_tickets["topic"].astype(str), dtype=object),
                             _column(pair_tickets, "customer_id"), pair_time)
        X = self.builder.pair_features(features.iloc[pair_ticket], pair_tickets, pair_agent, roster if roster is not None else self.roster, stats,
                                       pair_time, reference.iloc[pair_ticket].reset_index(drop=True))
        out = self.agent_fit.predict(X)
        out["difficulty"] = 1.0 - reference["p_resolve_ref"].to_numpy()[pair_ticket]
        return out


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return np.asarray(frame[name].astype(object).where(frame[name].notna(), None), dtype=object)
