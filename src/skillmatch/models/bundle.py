"""The fitted model of one version: everything needed to predict any (ticket, agent) pair at a moment."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from skillmatch.features import AgentProfile, OutcomeHistory, PairFeatureBuilder, PairStats, Roster
from skillmatch.features.history import HistoryIndex, LayeredHistoryIndex
from skillmatch.features.pairs import AGENT_FEATURES, REFERENCE_FEATURES
from skillmatch.logs.schema import DEFAULT_LANGUAGE
from skillmatch.models.agent_fit import PREDICTIONS, AgentFitModel
from skillmatch.models.difficulty import DifficultyModel
from skillmatch.models.pair_memo import PairMemo
from skillmatch.models.row_cache import RowCache

MAX_AGENT_ROWS = 20_000
"""Agent-side rows kept (one per agent, topic, language spoken or not, and customer served); the oldest
quarter goes when full, and all of them whenever the history changes."""
HORIZON_MARGIN_S = 1e-3
"""A kept agent row is given up this long before time would move it across a split (float rounding of
the fresh value cannot reach that far: it is about 1e-9 s at today's clock)."""


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
    def index(self) -> HistoryIndex | LayeredHistoryIndex:
        """The history prepared for queries, rebuilt only when `history` is replaced."""
        cached = self.__dict__.get("_index")
        if cached is None or cached.history is not self.history:
            cached = HistoryIndex(self.history)
            self.__dict__["_index"] = cached
        return cached

    def append_history(self, rows: OutcomeHistory) -> None:
        """Outcomes join the live history; the query index grows with them instead of being rebuilt."""
        cached = self.__dict__.get("_index")
        self.history = self.history.concat(rows)
        if cached is not None:
            self.__dict__["_index"] = cached.appended(rows, self.history)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_index", None)  # derived; rebuilt on first use after loading
        state.pop("_ticket_cache", None)
        state.pop("_agent_cache", None)
        state.pop("_pair_memo", None)
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


    def predict_round(self, tickets: Mapping[str, Sequence[Any]], created_s: np.ndarray, agents: Sequence[AgentProfile],
                      pair_ticket: np.ndarray, pair_agent: np.ndarray, now_s: float, factored: bool = True,
                      ticket_tokens: np.ndarray | None = None) -> RoundPredictions:
        """`predict_pairs` for a routing round, without pandas: every pair at `now_s`, `agents` as the roster.

        `tickets` maps request fields (topic, language, channel, priority, customer_id, ...) to one value per
        ticket, `created_s` is their creation times (POSIX seconds); pair i is ticket `pair_ticket[i]` with
        agent `agents[pair_agent[i]]`. Features are computed once per ticket and once per (agent, topic,
        speaks the language) instead of once per pair (only pairs whose agent served the ticket's customer
        before get their own agent row), and with `factored` the models are scored without assembling pair
        rows (`skillmatch.models.factored`), reusing the scores of pairs met in earlier rounds
        (`skillmatch.models.pair_cache`). With `ticket_tokens` (per ticket, a number that stands for all its
        fields across calls: `TicketFieldReader.read_with_tokens`) the predictions of pairs met in earlier
        rounds are taken back whole while they hold (`skillmatch.models.pair_memo`). The predictions equal
        `predict_pairs` of the same round (tested).
        """
        n_t = len(created_s)
        created_s = np.asarray(created_s, dtype=float)
        pair_ticket = np.asarray(pair_ticket, dtype=np.int64)
        pair_agent = np.asarray(pair_agent, dtype=np.int64)
        index = self.index
        customers = np.array(list(_values(tickets, "customer_id", n_t)), dtype=object)
        if (ticket_tokens is None or not factored or not len(pair_ticket) or not index.settled_at(now_s)
                or not self.agent_fit.scores_factored()):
            recent = index.customer_recent(customers, np.full(n_t, float(now_s)))
            return self._fresh_round(tickets, created_s, customers, recent, agents, pair_ticket, pair_agent, now_s,
                                     factored)[0]
        memo = self.__dict__.get("_pair_memo")
        if memo is None:
            memo = self.__dict__["_pair_memo"] = PairMemo(len(PREDICTIONS), 2)
        tokens = np.asarray(ticket_tokens, dtype=np.int64)
        recall = memo.recall(index, tokens, agents, pair_ticket, pair_agent, float(now_s))
        missing = np.ones(len(pair_ticket), dtype=bool)
        missing[recall.found] = False
        missing = np.flatnonzero(missing)
        pairs = np.empty((len(PREDICTIONS), len(pair_ticket)))
        pairs[:, recall.found] = recall.values
        reference, recent = recall.reference, recall.recent
        renewed = np.flatnonzero(~recall.current)  # tickets whose customer's recent contacts are counted again
        asked = np.union1d(renewed, pair_ticket[missing])  # tickets with something computed afresh
        if not len(asked):
            return RoundPredictions(reference[:, 0], reference[:, 1], dict(zip(PREDICTIONS, pairs)))
        recent_span = recall.recent_span
        recent_span[0, renewed] = float(now_s)
        recent[renewed], recent_span[1, renewed] = index.customer_recent_span(customers[renewed], float(now_s))
        position = np.full(n_t, -1, dtype=np.int64)
        position[asked] = np.arange(len(asked))
        subset = {name: [values[i] for i in asked.tolist()] for name, values in tickets.items()}
        fresh, lasting = self._fresh_round(subset, created_s[asked], customers[asked], recent[asked], agents,
                                           position[pair_ticket[missing]], pair_agent[missing], now_s, factored)
        values = np.vstack([fresh.pairs[key] for key in PREDICTIONS])
        pairs[:, missing] = values
        reference[asked] = np.column_stack([fresh.p_resolve_ref, fresh.log_handle_ref])
        ticket_span = recent_span[:, pair_ticket[missing]]
        span = np.stack([np.maximum(lasting[:, 0], ticket_span[0]), np.minimum(lasting[:, 1], ticket_span[1])])
        memo.keep(index, tokens[asked], ~recall.current[asked], recent[asked], recent_span[:, asked],
                  reference[asked], agents, position[pair_ticket[missing]], pair_agent[missing], values, span)
        return RoundPredictions(reference[:, 0], reference[:, 1], dict(zip(PREDICTIONS, pairs)))

    def _fresh_round(self, tickets: Mapping[str, Sequence[Any]], created_s: np.ndarray, customers: np.ndarray,
                     recent: np.ndarray, agents: Sequence[AgentProfile], pair_ticket: np.ndarray,
                     pair_agent: np.ndarray, now_s: float, factored: bool) -> tuple[RoundPredictions, np.ndarray]:
        """`predict_round` computed (`recent`: the customers' recent contacts at `now_s`), and per pair the span
        [from, until) of `now` in which its predictions hold ([inf, -inf]: no span known)."""
        n_t, n_a = len(created_s), len(agents)
        time_t = np.full(n_t, float(now_s))
        side, side_ids = self._ticket_side(tickets, created_s, recent, factored)
        ticket_matrix, p_ref, log_handle_ref = side[:, :-2], side[:, -2], side[:, -1]
        out = RoundPredictions(p_ref, log_handle_ref, {})
        if not len(pair_ticket):
            out.pairs.update({k: np.array([]) for k in PREDICTIONS})
            return out, np.empty((0, 2))

        # agent side: one row per (agent, topic, speaks the language), plus one per pair whose agent served the customer
        ids = np.array([a.agent_id for a in agents], dtype=object)
        roster = Roster(list(agents))
        topics, topic_of = _factorize([str(t) for t in tickets["topic"]])
        languages, language_of = _factorize([DEFAULT_LANGUAGE if v is None else v
                                             for v in _values(tickets, "language", n_t)])
        n_k = len(topics)
        speaks = roster.speaks(np.repeat(ids, len(languages)), np.tile(languages, n_a)).reshape(n_a, len(languages))
        speaks_code = np.where(np.isnan(speaks), 2, speaks).astype(np.int64)[pair_agent, language_of[pair_ticket]]
        key = (pair_agent * n_k + topic_of[pair_ticket]) * 3 + speaks_code
        used = np.zeros(n_a * n_k * 3, dtype=bool)
        used[key] = True
        row_of_key = np.cumsum(used) - 1
        right_row = row_of_key[key]
        keys = np.flatnonzero(used)
        row_agent, row_topic, row_speaks = keys // (3 * n_k), (keys // 3) % n_k, keys % 3
        served_t, served_a = self._served_pairs(customers, ids, time_t)
        if len(served_t):
            pair_index = np.full((n_t, n_a), -1, dtype=np.int64)
            pair_index[pair_ticket, pair_agent] = np.arange(len(pair_ticket))
            exceptional = pair_index[served_t, served_a]
            exceptional = exceptional[exceptional >= 0]
        else:
            exceptional = np.array([], dtype=np.int64)
        right_row[exceptional] = len(keys) + np.arange(len(exceptional))
        row_agent = np.concatenate([row_agent, pair_agent[exceptional]])
        row_topic = np.concatenate([row_topic, topic_of[pair_ticket[exceptional]]])
        row_speaks = np.concatenate([row_speaks, speaks_code[exceptional]])
        row_customer = np.concatenate([np.full(len(keys), None, dtype=object), customers[pair_ticket[exceptional]]])
        left_names = [*self.builder.ticket_columns, *REFERENCE_FEATURES]
        right, right_ids, lasting = self._agent_side(agents, roster, topics, row_agent, row_topic, row_speaks,
                                                     row_customer, float(now_s), left_names if factored else None)
        left = np.column_stack([ticket_matrix, p_ref, log_handle_ref])
        out.pairs.update(self.agent_fit.predict_sides(left, left_names, pair_ticket, right, AGENT_FEATURES, right_row,
                                                      factored=factored, left_ids=side_ids,
                                                      right_ids=right_ids if factored else None))
        return out, lasting[right_row]

    def _agent_side(self, agents: Sequence[AgentProfile], roster: Roster, topics: np.ndarray, row_agent: np.ndarray,
                    row_topic: np.ndarray, row_speaks: np.ndarray, row_customer: np.ndarray, now_s: float,
                    left_names: list[str] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per agent-side row (agent, topic, speaks code 0/1/2 for no/yes/unknown, customer it served or None):
        its `AGENT_FEATURES` at `now_s`, an id standing for those values (-1: not kept), and the span
        [from, until) of `now` in which the row scores every pair as it does at `now_s` ([inf, -inf]: not kept).

        With `left_names` (factored scoring) rows are kept across rounds while the history stands still and
        time has not moved a row across a split of the models (`AgentFitModel.class_horizons`): a kept row
        is then older than `now_s` but scores every pair exactly as a fresh one would (tested).
        """
        def compute(rows: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
            return self._agent_rows(agents, roster, topics, row_agent[rows], row_topic[rows], row_speaks[rows],
                                    row_customer[rows], now_s)

        index = self.index
        if left_names is None or not self.agent_fit.scores_factored() or not index.settled_at(now_s):
            return (compute(np.arange(len(row_agent)))[0], np.full(len(row_agent), -1, dtype=np.int64),
                    np.tile([np.inf, -np.inf], (len(row_agent), 1)))
        cache = self.__dict__.get("_agent_cache")
        if cache is None or cache[0] is not index:  # the history moved: every row is computed again
            rows_cache = cache[1] if cache is not None else RowCache(max_rows=MAX_AGENT_ROWS)
            rows_cache.clear()
            cache = self.__dict__["_agent_cache"] = (index, rows_cache, {})
        _, rows_cache, tokens = cache
        if len(tokens) > MAX_AGENT_ROWS:
            rows_cache.clear()
            tokens.clear()
        token = np.array([tokens.setdefault(a, len(tokens)) for a in agents], dtype=np.int64)
        keys = list(zip(token[row_agent].tolist(), topics[row_topic].tolist(), row_speaks.tolist(),
                        row_customer.tolist()))

        def compute_lasting(rows: np.ndarray) -> np.ndarray:
            matrix, features = compute(rows)
            drift = self.builder.agent_feature_drift(features)
            moves = np.column_stack([drift.get(name, np.zeros(len(rows))) for name in AGENT_FEATURES])
            horizon = self.agent_fit.class_horizons(left_names, matrix, AGENT_FEATURES, moves)
            until = now_s + horizon - HORIZON_MARGIN_S
            return np.column_stack([matrix, np.full(len(rows), now_s), until])

        kept, ids = rows_cache.rows_with_ids(keys, compute_lasting,
                                             still_valid=lambda rows: (rows[:, -2] <= now_s) & (now_s < rows[:, -1]))
        return kept[:, :-2], ids, kept[:, -2:]

    def _agent_rows(self, agents: Sequence[AgentProfile], roster: Roster, topics: np.ndarray, row_agent: np.ndarray,
                    row_topic: np.ndarray, row_speaks: np.ndarray, row_customer: np.ndarray,
                    now_s: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """`_agent_side`'s rows computed at `now_s`: the matrix (`AGENT_FEATURES` in order) and the features by name."""
        ids = np.array([a.agent_id for a in agents], dtype=object)
        n_rows, n_k = len(row_agent), len(topics)
        served = np.flatnonzero(np.array([c is not None for c in row_customer.tolist()], dtype=bool))
        ac_n, ac_last = np.zeros(n_rows), np.full(n_rows, np.nan)
        if len(served):
            ac_n[served], ac_last[served] = self.index.agent_customer(ids[row_agent[served]], row_customer[served],
                                                                      np.full(len(served), now_s))
        grid_n, grid_sums, grid_last = self.index.agent_topic(np.repeat(ids, n_k), np.tile(topics, len(ids)),
                                                              np.full(len(ids) * n_k, now_s))
        a_n, a_sums = self.index.agent_totals(ids, np.full(len(ids), now_s))
        cell = row_agent * n_k + row_topic
        stats = PairStats(
            at_n=grid_n[cell], at_resolved=grid_sums[cell, 0], at_resid_resolve=grid_sums[cell, 1],
            at_resid_handle=grid_sums[cell, 2], at_last_s=grid_last[cell], a_n=a_n[row_agent],
            a_resolved=a_sums[row_agent, 0], a_resid_resolve=a_sums[row_agent, 1], a_resid_handle=a_sums[row_agent, 2],
            ac_n=ac_n, ac_last_resolved=ac_last, c_recent=np.zeros(n_rows))
        features = self.builder.agent_features(ids[row_agent], topics[row_topic], np.array([0.0, 1.0, np.nan])[row_speaks],
                                               roster, stats, np.full(n_rows, now_s))
        return np.column_stack([features[name] for name in AGENT_FEATURES]), features

    def _ticket_side(self, tickets: Mapping[str, Sequence[Any]], created_s: np.ndarray, customer_recent: np.ndarray,
                     factored: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per ticket: its `ticket_matrix` row, then `p_resolve_ref` and `log_handle_ref` (cached per distinct
        ticket), and the id the `RowCache` gave that row."""
        cache = self.__dict__.get("_ticket_cache")
        if cache is None:
            cache = self.__dict__["_ticket_cache"] = RowCache()
        n = len(created_s)
        if n == 0:
            return np.empty((0, len(self.builder.ticket_columns) + 2)), np.empty(0, dtype=np.int64)
        fields = self.builder.ticket_fields
        values = [list(_values(tickets, name, n)) for name in fields]
        keys = list(zip([factored] * n, created_s.tolist(), customer_recent.tolist(), *values))

        def compute(rows: np.ndarray) -> np.ndarray:
            subset = {name: [column[i] for i in rows] for name, column in zip(fields, values)}
            matrix = self.builder.ticket_matrix(subset, created_s[rows], customer_recent[rows])
            p_ref, log_handle_ref = self.difficulty.reference_matrix(matrix, factored=factored)
            return np.column_stack([matrix, p_ref, log_handle_ref])

        return cache.rows_with_ids(keys, compute)

    def round_ready(self) -> bool:
        """Whether `predict_round` can serve this model (its pair features are the builder's ticket + agent features)."""
        names = [*self.builder.ticket_columns, *REFERENCE_FEATURES, *AGENT_FEATURES]
        return sorted(names) == sorted(self.agent_fit.features_) and len(set(names)) == len(names)

    def _served_pairs(self, customers: np.ndarray, ids: np.ndarray, time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ticket, agent index) of the round whose agent has an outcome with the ticket's customer before `time_s`."""
        where: dict[object, list[int]] = {}
        for i, agent in enumerate(ids.tolist()):
            where.setdefault(agent, []).append(i)
        tickets, agents = [], []
        served_by = self.index.served_by(customers, time_s)
        lengths = np.fromiter(map(len, served_by), dtype=np.int64, count=len(served_by))
        for t in np.flatnonzero(lengths).tolist():  # most customers were served by nobody of the round
            for agent in served_by[t].tolist():
                for i in where.get(agent, ()):
                    tickets.append(t)
                    agents.append(i)
        return np.asarray(tickets, dtype=np.int64), np.asarray(agents, dtype=np.int64)


@dataclass
class RoundPredictions:
    """`SkillmatchModel.predict_round`: the reference difficulty per ticket, the predictions per pair."""

    p_resolve_ref: np.ndarray  # per ticket
    log_handle_ref: np.ndarray  # per ticket
    pairs: dict[str, np.ndarray]  # per pair: p_resolve, p_resolve_raw, handle_time_s, csat


def _values(tickets: Mapping[str, Sequence[Any]], name: str, n: int) -> Sequence[Any]:
    values = tickets.get(name)
    return [None] * n if values is None else values


def _factorize(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values (in order of appearance, as an object array) and each value's position among them."""
    code = {v: i for i, v in enumerate(dict.fromkeys(values))}
    positions = np.fromiter(map(code.__getitem__, values), dtype=np.int64, count=len(values))
    return np.array(list(code), dtype=object), positions


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return np.asarray(frame[name].astype(object).where(frame[name].notna(), None), dtype=object)
