"""Predicted difficulty and expected handle time of every audited ticket, from a model folder or fitted here.

The audit compares what an agent took with what it could have taken, so it needs the difficulty
of every ticket for a typical agent: the de-confounded DifficultyModel (handling agent held
fixed, averaged over a reference population). Given no model folder, one is fitted on the audited
logs with two-fold cross-fitting, so no ticket's difficulty comes from a model that saw its outcome.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillmatch.config import TrainConfig
from skillmatch.errors import InsufficientDataError
from skillmatch.features import OutcomeHistory, PairFeatureBuilder, posix_seconds, stats_before
from skillmatch.logs import Logs
from skillmatch.models.bundle import SkillmatchModel
from skillmatch.models.difficulty import DifficultyModel

CROSS_FIT_FOLDS = 2
Progress = Callable[[str], None]


@dataclass(frozen=True)
class TicketDifficulty:
    """Per ticket_id: `difficulty` (chance a typical agent does not resolve it) and `expected_handle_s`."""

    table: pd.DataFrame
    source: str


def difficulty_from_model(model: SkillmatchModel, interactions: pd.DataFrame, source: str) -> TicketDifficulty:
    """Reference difficulty and handle time from a trained model, at each ticket's creation time."""
    rows = interactions.reset_index(drop=True)
    _, reference = model.ticket_reference(rows, posix_seconds(rows["created_at"]))
    return TicketDifficulty(_table(rows, reference["p_resolve_ref"].to_numpy(), reference["log_handle_ref"].to_numpy()),
                            source)


def fit_difficulty(logs: Logs, config: TrainConfig, progress: Progress | None = None) -> TicketDifficulty:
    """Cross-fitted reference difficulty for the audited interactions (DifficultyModel with agent effects)."""
    say = progress or (lambda message: None)
    rows = logs.interactions.sort_values("created_at", kind="stable").reset_index(drop=True)
    if len(rows) < config.minimum.rows:
        raise InsufficientDataError("too few interactions to fit a difficulty model for the audit",
                                    file=logs.sources.get("interactions"),
                                    expected=f"at least {config.minimum.rows} rows, or --models with a trained "
                                             "model folder", got=f"{len(rows)} rows")
    say("difficulty model (agent effects, cross-fitted)")
    created = posix_seconds(rows["created_at"])
    agent = np.asarray(rows["agent_id"], dtype=object)
    topic = np.asarray(rows["topic"].astype(str), dtype=object)
    resolved = rows["resolved"].to_numpy(dtype=bool)
    log_handle = np.log(rows["handle_time_s"].to_numpy(dtype=float))
    closed = created + rows["handle_time_s"].to_numpy(dtype=float)
    if "closed_at" in rows.columns:
        closed = np.where(rows["closed_at"].isna().to_numpy(), closed, posix_seconds(rows["closed_at"]))
    customer = (np.asarray(rows["customer_id"].astype(object).where(rows["customer_id"].notna(), None), dtype=object)
                if "customer_id" in rows.columns else np.full(len(rows), None, dtype=object))
    zeros = np.zeros(len(rows))
    history = OutcomeHistory(agent=agent, topic=topic, customer=customer, closed_s=closed,
                             resolved=resolved.astype(float), resid_resolve=zeros, resid_log_handle=zeros)
    recent = stats_before(history, agent, topic, customer, created).c_recent
    builder = PairFeatureBuilder(extra_numeric=tuple(config.features.extra_numeric),
                                 extra_categorical=tuple(config.features.extra_categorical),
                                 prior_strength=config.features.prior_strength).fit(rows)
    tickets = builder.ticket_features(rows, created, recent)
    fold = np.random.default_rng(config.lightgbm.seed).integers(0, CROSS_FIT_FOLDS, len(rows))
    p_ref, h_ref = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    for k in range(CROSS_FIT_FOLDS):
        learn, apply = fold != k, fold == k
        model = DifficultyModel(config.lightgbm, agent_effects=True, max_reference_agents=config.max_reference_agents,
                                min_rows_per_agent=config.minimum.rows_per_reference_agent)
        model.fit(tickets[learn], agent[learn], resolved[learn], log_handle[learn])
        reference = model.reference(tickets[apply])
        p_ref[apply] = reference["p_resolve_ref"].to_numpy()
        h_ref[apply] = reference["log_handle_ref"].to_numpy()
    return TicketDifficulty(_table(rows, p_ref, h_ref),
                            f"fitted on the audited interactions ({CROSS_FIT_FOLDS}-fold cross-fitted DifficultyModel)")


def _table(rows: pd.DataFrame, p_ref: np.ndarray, log_handle_ref: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"difficulty": 1.0 - p_ref, "expected_handle_s": np.exp(log_handle_ref)},
                        index=pd.Index(rows["ticket_id"].to_numpy(dtype=object), name="ticket_id"))
