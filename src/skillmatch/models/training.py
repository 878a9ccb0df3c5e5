"""The training pipeline: validated logs -> point-in-time features -> models -> held-out evaluation.

The time axis decides everything: the latest `eval_fraction` of the interactions (a cut in time, at that
quantile of created_at, so an uneven volume over time still leaves a usable slice) is held out for
evaluation (never a random split), the latest part of the training rows calibrates probabilities, and
every history feature of a row comes only from outcomes that closed before the row was created.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from skillmatch.config import TrainConfig
from skillmatch.errors import InsufficientDataError
from skillmatch.features import OutcomeHistory, PairFeatureBuilder, Roster, posix_seconds, stats_before
from skillmatch.logs import Logs
from skillmatch.models.agent_fit import AgentFitModel
from skillmatch.models.bundle import SkillmatchModel
from skillmatch.models.difficulty import DifficultyModel
from skillmatch.models.evaluation import (
    mae, mean_ranking_spearman, median_by, resolution_metrics, smoothed_rates, spearman, with_lift,
)

CROSS_FIT_FOLDS = 2
RANKING_TICKETS = 300
Progress = Callable[[str], None]


@dataclass
class TrainingResult:
    """The fitted model and what was measured about it."""

    model: SkillmatchModel
    metrics: dict[str, Any]
    window: dict[str, str]
    features: list[str]
    feature_importance: pd.Series
    n_rows: dict[str, int]


@dataclass
class _Prepared:
    """Interactions in time order with their POSIX times and the train / calibration / eval masks."""

    rows: pd.DataFrame
    created_s: np.ndarray
    closed_s: np.ndarray
    train: np.ndarray
    fit: np.ndarray
    cal: np.ndarray
    held_out: np.ndarray
    split_s: float


def _prepare(logs: Logs, config: TrainConfig) -> _Prepared:
    rows = logs.interactions.sort_values("created_at", kind="stable").reset_index(drop=True)
    minimum = config.minimum
    if len(rows) < minimum.rows:
        raise InsufficientDataError("too few interactions to train", file=logs.sources.get("interactions"),
                                    expected=f"at least {minimum.rows} rows (minimum.rows in the config)",
                                    got=f"{len(rows)} rows")
    n_agents = rows["agent_id"].nunique()
    if n_agents < minimum.agents:
        raise InsufficientDataError("too few agents to train", file=logs.sources.get("interactions"),
                                    column="agent_id", expected=f"at least {minimum.agents} agents",
                                    got=f"{n_agents} agents")
    created = posix_seconds(rows["created_at"])
    span_days = (created[-1] - created[0]) / 86400.0
    if span_days < minimum.days:
        raise InsufficientDataError("the logs cover too short a time to split by time",
                                    file=logs.sources.get("interactions"), column="created_at",
                                    expected=f"at least {minimum.days:g} days", got=f"{span_days:.2f} days")
    handle = rows["handle_time_s"].to_numpy(dtype=float)
    closed = (posix_seconds(rows["closed_at"]) if "closed_at" in rows.columns else np.full(len(rows), np.nan))
    assigned = (posix_seconds(rows["assigned_at"]) if "assigned_at" in rows.columns else np.full(len(rows), np.nan))
    start = np.where(np.isnan(assigned), created, assigned)
    closed = np.where(np.isnan(closed), start + handle, closed)

    split_s = float(np.quantile(created, 1.0 - config.split.eval_fraction))
    train = created < split_s
    held_out = ~train
    if held_out.sum() < minimum.eval_rows:
        raise InsufficientDataError("the evaluation slice (the last part of the time span) is too small",
                                    file=logs.sources.get("interactions"), column="created_at",
                                    expected=f"at least {minimum.eval_rows} rows after the split "
                                             f"(split.eval_fraction = {config.split.eval_fraction})",
                                    got=f"{int(held_out.sum())} rows")
    cal_s = float(np.quantile(created[train], 1.0 - config.split.calibration_fraction)) if train.any() else split_s
    cal = train & (created >= cal_s)
    fit = train & ~cal
    if cal.sum() < 50 or fit.sum() < 50:
        raise InsufficientDataError("the training part is too small to fit and calibrate",
                                    file=logs.sources.get("interactions"),
                                    expected="at least 50 rows in each of the fitting and calibration slices",
                                    got=f"{int(fit.sum())} and {int(cal.sum())}")
    return _Prepared(rows, created, closed, train, fit, cal, held_out, float(split_s))


def _history(p: _Prepared, p_ref: np.ndarray, log_handle_ref: np.ndarray) -> OutcomeHistory:
    rows = p.rows
    customer = np.asarray(rows["customer_id"].astype(object).where(rows["customer_id"].notna(), None), dtype=object) \
        if "customer_id" in rows.columns else np.full(len(rows), None, dtype=object)
    resolved = rows["resolved"].to_numpy(dtype=float)
    return OutcomeHistory(
        agent=np.asarray(rows["agent_id"], dtype=object), topic=np.asarray(rows["topic"].astype(str), dtype=object),
        customer=customer, closed_s=p.closed_s, resolved=resolved,
        resid_resolve=resolved - p_ref,
        resid_log_handle=np.log(rows["handle_time_s"].to_numpy(dtype=float)) - log_handle_ref,
    )


def _difficulty(config: TrainConfig, agent_effects: bool) -> DifficultyModel:
    return DifficultyModel(config.lightgbm, agent_effects=agent_effects,
                           max_reference_agents=config.max_reference_agents,
                           min_rows_per_agent=config.minimum.rows_per_reference_agent)


def _cross_fitted_reference(config: TrainConfig, tickets: pd.DataFrame, agent: np.ndarray, resolved: np.ndarray,
                            log_handle: np.ndarray, train: np.ndarray) -> pd.DataFrame:
    """Reference difficulty of training rows from models that did not see them (K folds by ticket)."""
    rng = np.random.default_rng(config.lightgbm.seed)
    fold = rng.integers(0, CROSS_FIT_FOLDS, len(tickets))
    out = pd.DataFrame({"p_resolve_ref": np.nan, "log_handle_ref": np.nan}, index=range(len(tickets)))
    for k in range(CROSS_FIT_FOLDS):
        learn, apply = train & (fold != k), train & (fold == k)
        model = _difficulty(config, True).fit(tickets[learn], agent[learn], resolved[learn], log_handle[learn])
        out.loc[np.flatnonzero(apply)] = model.reference(tickets[apply]).to_numpy()
    return out


def train_models(logs: Logs, config: TrainConfig, truth: Any | None = None,
                 progress: Progress | None = None) -> TrainingResult:
    """Fit the difficulty and agent-fit models on the earlier part of the logs and evaluate on the later part."""
    say = progress or (lambda message: None)
    p = _prepare(logs, config)
    rows = p.rows
    agent = np.asarray(rows["agent_id"], dtype=object)
    topic = np.asarray(rows["topic"].astype(str), dtype=object)
    resolved = rows["resolved"].to_numpy(dtype=bool)
    handle = rows["handle_time_s"].to_numpy(dtype=float)
    log_handle = np.log(handle)
    csat = (pd.to_numeric(rows["csat"], errors="coerce").to_numpy(dtype=float) if "csat" in rows.columns
            else np.full(len(rows), np.nan))

    say("ticket features")
    builder = PairFeatureBuilder(extra_numeric=tuple(config.features.extra_numeric),
                                 extra_categorical=tuple(config.features.extra_categorical),
                                 prior_strength=config.features.prior_strength).fit(rows[p.train])
    plain = _history(p, np.zeros(len(rows)), np.zeros(len(rows)))
    customer_recent = stats_before(plain, agent, topic, plain.customer, p.created_s).c_recent
    tickets = builder.ticket_features(rows, p.created_s, customer_recent)

    say("difficulty model (agent effects, cross-fitted)")
    reference = _cross_fitted_reference(config, tickets, agent, resolved, log_handle, p.train)
    difficulty = _difficulty(config, True).fit(tickets[p.train], agent[p.train], resolved[p.train],
                                                log_handle[p.train])
    reference.loc[np.flatnonzero(p.held_out)] = difficulty.reference(tickets[p.held_out]).to_numpy()

    say("agent history (point in time)")
    history = _history(p, reference["p_resolve_ref"].to_numpy(), reference["log_handle_ref"].to_numpy())
    stats = stats_before(history, agent, topic, history.customer, p.created_s)
    roster = Roster.from_frame(logs.agents)
    X = builder.pair_features(tickets, rows, agent, roster, stats, p.created_s, reference)

    say("agent-fit models")
    agent_fit = AgentFitModel(config.lightgbm, fit_csat=config.targets.csat,
                              fit_handle_time=config.targets.handle_time)
    agent_fit.fit(X[p.fit], resolved[p.fit], handle[p.fit], csat[p.fit], X[p.cal], resolved[p.cal])
    train_difficulty = 1.0 - reference["p_resolve_ref"].to_numpy()[p.train]
    model = SkillmatchModel(builder=builder, difficulty=difficulty, agent_fit=agent_fit, roster=roster,
                            history=history, difficulty_quantiles=np.quantile(train_difficulty, np.linspace(0, 1, 21)))

    say("evaluation on the later time slice")
    metrics = _evaluate(p, X, agent_fit, rows, resolved, handle, csat)
    if truth is not None:
        say("evaluation against the ground truth")
        metrics["truth"] = _truth_metrics(config, p, model, tickets, agent, resolved, log_handle, truth)
    metrics["summary"] = _summary(metrics)
    window = {name: pd.Timestamp(seconds, unit="s", tz="UTC").isoformat(timespec="seconds")
              for name, seconds in (("start", p.created_s[0]), ("split", p.split_s), ("end", p.created_s[-1]))}
    return TrainingResult(model=model, metrics=metrics, window=window, features=list(X.columns),
                          feature_importance=agent_fit.feature_importance(),
                          n_rows={"fit": int(p.fit.sum()), "calibration": int(p.cal.sum()),
                                  "evaluation": int(p.held_out.sum())})


def _evaluate(p: _Prepared, X: pd.DataFrame, agent_fit: AgentFitModel, rows: pd.DataFrame, resolved: np.ndarray,
              handle: np.ndarray, csat: np.ndarray) -> dict[str, Any]:
    ev, tr = p.held_out, p.train
    pred = agent_fit.predict(X[ev])
    y = resolved[ev]
    topic_rate = smoothed_rates(rows.loc[tr, "topic"], resolved[tr].astype(float), rows.loc[ev, "topic"])
    agent_rate = smoothed_rates(rows.loc[tr, "agent_id"], resolved[tr].astype(float), rows.loc[ev, "agent_id"])
    ticket_rate = X.loc[ev, "p_resolve_ref"].to_numpy(dtype=float)  # the difficulty model: a typical agent
    resolution = with_lift(resolution_metrics(y, pred["p_resolve"].to_numpy()),
                           {"topic_only": resolution_metrics(y, topic_rate),
                            "agent_only": resolution_metrics(y, agent_rate),
                            "ticket_only": resolution_metrics(y, ticket_rate)})
    topic_channel = rows["topic"].astype(str) + "/" + rows["channel"].astype(str) if "channel" in rows.columns \
        else rows["topic"].astype(str)
    handle_time = {
        "model": {"mae_s": mae(handle[ev], pred["handle_time_s"].to_numpy())},
        "baselines": {"topic_channel_median": {"mae_s": mae(handle[ev], median_by(topic_channel[tr], handle[tr],
                                                                                   topic_channel[ev]))},
                      "agent_median": {"mae_s": mae(handle[ev], median_by(rows.loc[tr, "agent_id"], handle[tr],
                                                                           rows.loc[ev, "agent_id"]))}},
    }
    answered = ev & ~np.isnan(csat)
    csat_metrics: dict[str, Any] = {"n_surveys_train": agent_fit.n_surveys_, "n_surveys_eval": int(answered.sum())}
    if answered.any() and agent_fit.csat_ is not None:
        csat_pred = agent_fit.predict(X[answered])["csat"].to_numpy()
        answered_tr = tr & ~np.isnan(csat)
        csat_metrics["model"] = {"mae": mae(csat[answered], csat_pred)}
        csat_metrics["baselines"] = {"topic_only": {"mae": mae(csat[answered], smoothed_rates(
            rows.loc[answered_tr, "topic"], csat[answered_tr], rows.loc[answered, "topic"]))}}
    return {"resolution": resolution, "handle_time": handle_time, "csat": csat_metrics,
            "n_eval": int(ev.sum())}


def _truth_metrics(config: TrainConfig, p: _Prepared, model: SkillmatchModel, tickets: pd.DataFrame,
                   agent: np.ndarray, resolved: np.ndarray, log_handle: np.ndarray, truth: Any) -> dict[str, Any]:
    """Difficulty and agent-ranking quality against the simulator's hidden truth, on held-out tickets."""
    ev = p.held_out
    ids = p.rows.loc[ev, "ticket_id"]
    true_difficulty = truth.difficulty(ids)
    naive = _difficulty(config, False).fit(tickets[p.train], agent[p.train], resolved[p.train], log_handle[p.train])
    deconfounded = spearman(model.difficulty.difficulty(tickets[ev]), true_difficulty)
    naive_rho = spearman(naive.difficulty(tickets[ev]), true_difficulty)

    rng = np.random.default_rng(config.lightgbm.seed)
    sample = rng.choice(np.flatnonzero(ev), size=min(RANKING_TICKETS, int(ev.sum())), replace=False)
    chosen = p.rows.iloc[sample].reset_index(drop=True)
    pair_ticket, pair_agent = _eligible_pairs(chosen, model.roster)
    predicted = model.predict_pairs(chosen, pair_ticket, pair_agent, p.created_s[sample])
    true_p = truth.p_resolve(chosen["ticket_id"].to_numpy()[pair_ticket], pair_agent)
    ranking, n_tickets = mean_ranking_spearman(pair_ticket, predicted["p_resolve"].to_numpy(), true_p)
    ranking_raw, _ = mean_ranking_spearman(pair_ticket, predicted["p_resolve_raw"].to_numpy(), true_p)
    return {"difficulty_spearman": deconfounded, "naive_difficulty_spearman": naive_rho,
            "agent_ranking_spearman": ranking, "agent_ranking_spearman_uncalibrated": ranking_raw,
            "ranking_tickets": n_tickets, "ranking_pairs": int(len(pair_agent))}


def _eligible_pairs(tickets: pd.DataFrame, roster: Roster) -> tuple[np.ndarray, np.ndarray]:
    """Every (ticket, roster agent) pair where the agent speaks the language and holds any needed certification.

    A topic that appears in anyone's certifications is taken to be restricted to certified agents.
    """
    restricted = {t for prof in roster.profiles.values() for t in prof.certifications}
    pair_ticket, pair_agent = [], []
    for i, row in enumerate(tickets.itertuples(index=False)):
        language = getattr(row, "language", "en") or "en"
        for agent_id, prof in roster.profiles.items():
            if language in prof.languages and (row.topic not in restricted or row.topic in prof.certifications):
                pair_ticket.append(i)
                pair_agent.append(agent_id)
    return np.asarray(pair_ticket, dtype=int), np.asarray(pair_agent, dtype=object)


def _summary(metrics: dict[str, Any]) -> dict[str, float]:
    """A flat view of the headline numbers (for `skillmatch models list` and the card)."""
    res = metrics["resolution"]
    out = {"auc": res["model"]["auc"], "auc_topic_only": res["baselines"]["topic_only"]["auc"],
           "log_loss": res["model"]["log_loss"], "calibration_error": res["model"]["calibration_error"],
           "handle_mae_s": metrics["handle_time"]["model"]["mae_s"]}
    if "truth" in metrics:
        out["difficulty_spearman"] = metrics["truth"]["difficulty_spearman"]
        out["agent_ranking_spearman"] = metrics["truth"]["agent_ranking_spearman"]
    return {k: round(float(v), 4) for k, v in out.items()}
