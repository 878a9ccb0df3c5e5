"""The evaluation model of a log replay: cross-fitted by day, never the model that made the decisions.

The log's days are dealt at random into K folds. For each fold, a model is trained with the ordinary
training pipeline on the interactions of the *other* folds (all of the log, before and after the cut),
and it estimates, for every window ticket of its own fold, P(resolved), handle time and csat with every
replayed agent, plus the ticket's difficulty. So no ticket's outcome is estimated by a model that saw
it, and the decision model (trained before the cut only) never scores a policy. Point-in-time agent
histories are those of the log: an agent's estimated fit is what the logged history says about it when
the ticket arrived, not what the replayed policy would have taught it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skillmatch.backtest.replay.window import REQUEST_FIELDS, ReplayData
from skillmatch.config import SplitConfig, TrainConfig
from skillmatch.features import AgentProfile, OutcomeHistory, posix_seconds
from skillmatch.logs import Logs
from skillmatch.models.bundle import SkillmatchModel

DAY_S = 86400.0
HANDLE_RATIO_BOUNDS = (0.2, 5.0)
"""A counterfactual handle time is at most 5x (at least 1/5) the logged one: one extreme prediction must not dominate."""
FOLD_EVAL_FRACTION = 0.1
"""Each fold model holds out the latest 10% of its own rows for its model card (the training pipeline's time split)."""


@dataclass
class OutcomeEstimates:
    """The evaluation model's estimates for every (window ticket, replayed agent): `(n_tickets, n_agents)` arrays."""

    p_resolve: np.ndarray
    handle_time_s: np.ndarray
    csat: np.ndarray  # nan everywhere when the log has no satisfaction surveys
    difficulty: np.ndarray  # (n_tickets,) 1 - P(resolved) of a typical agent
    fold: np.ndarray  # (n_tickets,) the fold whose model estimated the ticket
    folders: list[Path]  # one model folder per fold
    n_train_rows: list[int]

    def handle_time(self, ticket: int, agent: int, logged_agent: int, logged_handle_s: float) -> float:
        """Handle time of a pair: the logged one scaled by predicted(agent) / predicted(logged agent), within
        HANDLE_RATIO_BOUNDS; the prediction when the ticket has no logged handle time."""
        predicted = self.handle_time_s[ticket, agent]
        if np.isnan(logged_handle_s) or logged_handle_s <= 0:
            return float(predicted)
        ratio = predicted / self.handle_time_s[ticket, logged_agent]
        if not np.isfinite(ratio) or ratio <= 0:
            return float(logged_handle_s)
        return float(logged_handle_s * np.clip(ratio, *HANDLE_RATIO_BOUNDS))

    def describe(self) -> str:
        """One sentence saying which model estimated the outcomes."""
        return (f"a LightGBM agent-fit model (the training pipeline), cross-fitted over {len(self.folders)} folds of "
                f"whole days of the log: each window ticket is estimated by the model trained on the other folds' "
                f"interactions ({', '.join(f'{n:,}' for n in self.n_train_rows)} rows); never the decision model")


def fold_of_days(created: pd.Series, folds: int, seed: int) -> np.ndarray:
    """A fold per interaction: its (UTC) day's fold, days dealt at random into `folds` equal groups."""
    day = np.floor(posix_seconds(created) / DAY_S).astype(np.int64)
    days = np.unique(day)
    order = np.random.default_rng([seed, 11]).permutation(len(days))
    fold_of = dict(zip(days[order].tolist(), (np.arange(len(days)) % folds).tolist()))
    return np.array([fold_of[d] for d in day.tolist()], dtype=int)


def fit_evaluation(logs: Logs, config: TrainConfig, data: ReplayData, workdir: Path, *, folds: int = 2,
                   seed: int = 0, say: Callable[[str], None] = lambda m: None) -> OutcomeEstimates:
    """Train one model per fold on the other folds' interactions and estimate every window ticket with every agent."""
    from skillmatch.models.folder import read_model_folder
    from skillmatch.models.publish import train_to_folder

    rows = logs.interactions
    fold_all = fold_of_days(rows["created_at"], folds, seed)
    window_fold = fold_of_days(data.window["created_at"], folds, seed)
    fold_config = config.model_copy(update={"split": SplitConfig(
        eval_fraction=FOLD_EVAL_FRACTION, calibration_fraction=config.split.calibration_fraction)})
    shape = (len(data.tickets), data.n_agents)
    p, handle, csat = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    difficulty = np.full(shape[0], np.nan)
    folders, n_rows = [], []
    for k in range(folds):
        say(f"evaluation model, fold {k + 1} of {folds} (trained without the fold's days)")
        subset = Logs(rows[fold_all != k].reset_index(drop=True), logs.agents, None, logs.sources)
        folder, _, _ = train_to_folder(subset, fold_config, Path(workdir) / f"evaluation-fold-{k + 1}", overwrite=True)
        model, _ = read_model_folder(folder)
        model.history = whole_log_history(model, rows)
        folders.append(folder)
        n_rows.append(int((fold_all != k).sum()))
        mine = np.flatnonzero(window_fold == k)
        _estimate(model, data, mine, p, handle, csat, difficulty)
    return OutcomeEstimates(p_resolve=p, handle_time_s=handle, csat=csat, difficulty=difficulty, fold=window_fold,
                            folders=folders, n_train_rows=n_rows)


def whole_log_history(model: SkillmatchModel, rows: pd.DataFrame) -> OutcomeHistory:
    """Every logged outcome as the fold model's history (residuals against its own reference difficulty).

    The fold model was fitted without its fold's rows, but the history its features read should hold the
    whole log, as the decision-time history did: without the fold's days, a customer's recent contacts
    and an agent's latest outcomes would be missing from exactly the tickets it estimates. Features stay
    point in time: a ticket reads only outcomes closed before it was created (never its own).
    """
    rows = rows.sort_values("created_at", kind="stable").reset_index(drop=True)
    created = posix_seconds(rows["created_at"])
    handle = rows["handle_time_s"].to_numpy(dtype=float)
    start = posix_seconds(rows["assigned_at"]) if "assigned_at" in rows else np.full(len(rows), np.nan)
    start = np.where(np.isnan(start), created, start)
    closed = posix_seconds(rows["closed_at"]) if "closed_at" in rows else np.full(len(rows), np.nan)
    closed = np.where(np.isnan(closed), start + handle, closed)
    customer = (np.asarray(rows["customer_id"].astype(object).where(rows["customer_id"].notna(), None), dtype=object)
                if "customer_id" in rows else np.full(len(rows), None, dtype=object))
    resolved = rows["resolved"].to_numpy(dtype=float)
    zeros = np.zeros(len(rows))
    plain = OutcomeHistory(agent=np.asarray(rows["agent_id"], dtype=object),
                           topic=np.asarray(rows["topic"].astype(str), dtype=object), customer=customer,
                           closed_s=closed, resolved=resolved, resid_resolve=zeros, resid_log_handle=zeros)
    model.history = plain  # customer recency (all the reference reads from history) needs no residuals
    _, reference = model.ticket_reference(rows, created)
    return OutcomeHistory(agent=plain.agent, topic=plain.topic, customer=customer, closed_s=closed, resolved=resolved,
                          resid_resolve=resolved - reference["p_resolve_ref"].to_numpy(),
                          resid_log_handle=np.log(handle) - reference["log_handle_ref"].to_numpy())


def _estimate(model: SkillmatchModel, data: ReplayData, tickets: np.ndarray, p: np.ndarray, handle: np.ndarray,
              csat: np.ndarray, difficulty: np.ndarray) -> None:
    """Fill the rows of `tickets` with every agent, one batch per day, as of the batch's first arrival (point in time)."""
    if not len(tickets):
        return
    profiles = [model.roster.profiles.get(a, AgentProfile(agent_id=a)) for a in data.agent_ids]
    created = posix_seconds(data.window["created_at"])
    names = [n for n in {*REQUEST_FIELDS, *model.builder.extra_categorical, *model.builder.extra_numeric}
             if n in data.window.columns]
    columns = {n: data.window[n].astype(object).where(data.window[n].notna(), None).to_numpy() for n in names}
    n_a = data.n_agents
    day = np.floor(created[tickets] / DAY_S)
    for d in np.unique(day):
        batch = tickets[day == d]
        pair_t, pair_a = np.repeat(np.arange(len(batch)), n_a), np.tile(np.arange(n_a), len(batch))
        now_s = float(created[batch].min())
        if model.round_ready():
            out = model.predict_round({n: list(v[batch]) for n, v in columns.items()}, created[batch], profiles,
                                      pair_t, pair_a, now_s)
            pairs, p_ref = out.pairs, out.p_resolve_ref
        else:  # the frame-based path
            frame = data.window.iloc[batch].reset_index(drop=True)
            ids = np.array(data.agent_ids, dtype=object)
            frame_out = model.predict_pairs(frame, pair_t, ids[pair_a], np.full(len(batch), now_s))
            pairs = {k: frame_out[k].to_numpy() for k in ("p_resolve", "handle_time_s", "csat")}
            p_ref = 1.0 - frame_out["difficulty"].to_numpy()[::n_a]
        p[batch] = np.asarray(pairs["p_resolve"], dtype=float).reshape(len(batch), n_a)
        handle[batch] = np.asarray(pairs["handle_time_s"], dtype=float).reshape(len(batch), n_a)
        csat[batch] = np.asarray(pairs["csat"], dtype=float).reshape(len(batch), n_a)
        difficulty[batch] = 1.0 - np.asarray(p_ref, dtype=float)
