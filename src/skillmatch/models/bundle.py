"""The fitted model of one version: everything needed to predict any (ticket, agent) pair at a moment."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillmatch.features import OutcomeHistory, PairFeatureBuilder, Roster, stats_before
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

    def ticket_reference(self, tickets: pd.DataFrame, time_s: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Ticket features and reference difficulty (`p_resolve_ref`, `log_handle_ref`) per ticket."""
        time_s = np.broadcast_to(np.asarray(time_s, dtype=float), (len(tickets),))
        customers = _column(tickets, "customer_id")
        no_agent = np.full(len(tickets), "", dtype=object)
        topics = np.asarray(tickets["topic"].astype(str), dtype=object)
        recent = stats_before(self.history, no_agent, topics, customers, time_s).c_recent
        features = self.builder.ticket_features(tickets, time_s, recent)
        return features, self.difficulty.reference(features)

    def predict_pairs(self, tickets: pd.DataFrame, pair_ticket: np.ndarray, pair_agent: np.ndarray,
                      time_s: np.ndarray) -> pd.DataFrame:
        """Predictions for pairs (row `pair_ticket[i]` of `tickets` with agent `pair_agent[i]`) at `time_s` per ticket.

        Columns: p_resolve, handle_time_s, csat, difficulty (of the ticket), plus the raw resolution score.
        """
        time_s = np.broadcast_to(np.asarray(time_s, dtype=float), (len(tickets),))
        features, reference = self.ticket_reference(tickets, time_s)
        pair_ticket = np.asarray(pair_ticket, dtype=int)
        pair_agent = np.asarray(pair_agent, dtype=object)
        pair_tickets = tickets.iloc[pair_ticket].reset_index(drop=True)
        pair_time = time_s[pair_ticket]
        stats = stats_before(self.history, pair_agent, np.asarray(pair_tickets["topic"].astype(str), dtype=object),
                             _column(pair_tickets, "customer_id"), pair_time)
        X = self.builder.pair_features(features.iloc[pair_ticket], pair_tickets, pair_agent, self.roster, stats,
                                       pair_time, reference.iloc[pair_ticket].reset_index(drop=True))
        out = self.agent_fit.predict(X)
        out["difficulty"] = 1.0 - reference["p_resolve_ref"].to_numpy()[pair_ticket]
        return out


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return np.asarray(frame[name].astype(object).where(frame[name].notna(), None), dtype=object)
