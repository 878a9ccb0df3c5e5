"""A whole log-replay backtest: cut, decision model, evaluation model, every policy replayed, figures, report.

Everything is written into a hidden sibling of the output folder and renamed at the end, so an output
folder that exists is complete (report.html, metrics.json, the model folders and their cards).
"""
from __future__ import annotations

import math
import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skillmatch.backtest.lineup import PolicySpec
from skillmatch.backtest.metrics import MetricSettings, summarize
from skillmatch.backtest.offpolicy import BanditFeedback, estimate_with_intervals
from skillmatch.backtest.pipeline import BacktestResult
from skillmatch.backtest.record import RunRecord
from skillmatch.backtest.replay.center import ReplayRun, logged_run, run_replay
from skillmatch.backtest.replay.evaluation import OutcomeEstimates, fit_evaluation
from skillmatch.backtest.replay.policies import build_replay_policy
from skillmatch.backtest.replay.records import LOGGED, LOGGED_ACTUAL, BlockTimedPolicy, to_record
from skillmatch.backtest.replay.window import SESSION_GAP_S, ReplayData, eval_cut, prepare_replay
from skillmatch.backtest.report import write_report
from skillmatch.backtest.scenario import ProgressFactory, Say, no_progress
from skillmatch.config import PolicyConfig, TrainConfig
from skillmatch.errors import InputError
from skillmatch.logs import Logs

DAY_S = 86400.0
NOT_IN_LOGS = ("growth.skill_gain", "growth.skill_gain_other", "coverage.start", "coverage.end", "coverage.gain")
"""Simulated-mode figures that need the true skill, which no log has."""


@dataclass(frozen=True)
class ReplaySettings:
    """Where the window starts, how the evaluation model is cross-fitted, how engine policies run, the bootstrap."""

    eval_from: str | None = None
    eval_share: float = 0.25
    folds: int = 2
    round_interval_s: float = 30.0
    report_interval_s: float = 1800.0
    session_gap_s: float = SESSION_GAP_S
    n_boot: int = 400
    workers: int = 1
    seed: int = 0


def replay_backtest(logs: Logs, config: TrainConfig, policy_config: PolicyConfig, specs: Sequence[PolicySpec],
                    out_dir: Path, settings: ReplaySettings = ReplaySettings(), *, overwrite: bool = False,
                    progress: ProgressFactory = no_progress, say: Say = lambda m: None) -> BacktestResult:
    """Replay the log's latest window under every policy; figures with 95% intervals; report.html and metrics.json."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise InputError("the output folder exists and is not empty", file=out_dir,
                         expected="a new or empty --out folder (or --overwrite)")
    cut = eval_cut(logs, settings.eval_from, settings.eval_share)
    extra = (*config.features.extra_numeric, *config.features.extra_categorical)
    data = prepare_replay(logs, cut, restricted_topics=policy_config.restricted_topics, extra_columns=extra,
                          session_gap_s=settings.session_gap_s)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        result = _run(logs, config, policy_config, specs, data, tmp, settings, progress, say)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    paths = {k: out_dir / Path(p).name for k, p in result.paths.items()}
    return BacktestResult(summary=result.summary, runs=result.runs, paths=paths)


def _run(logs: Logs, config: TrainConfig, policy_config: PolicyConfig, specs: Sequence[PolicySpec], data: ReplayData,
         workdir: Path, settings: ReplaySettings, progress: ProgressFactory, say: Say) -> BacktestResult:
    from skillmatch.models.publish import train_to_folder

    clock = _Stages()
    created = logs.interactions["created_at"]
    before = Logs(logs.interactions[created < data.start_ts].reset_index(drop=True), logs.agents, None, logs.sources)
    say(f"decision model: trained on the {len(before.interactions):,} interactions created before "
        f"{data.start_ts.isoformat()}")
    decision, _, _ = train_to_folder(before, config, workdir / "models" / "decision", overwrite=True)
    clock.done("decision_model")
    estimates = fit_evaluation(logs, config, data, workdir / "models", folds=settings.folds, seed=settings.seed,
                               say=say)
    clock.done("evaluation_model")
    span_s = float(data.tickets.created_s.max()) if len(data.tickets) else 0.0
    block_s = DAY_S if span_s >= 5 * DAY_S else 4 * 3600.0
    n_blocks = max(1, math.ceil((span_s + 1.0) / block_s))
    runs: dict[str, RunRecord] = {}
    logged = logged_run(data)
    runs[LOGGED] = to_record(LOGGED, logged, data, estimates, policy_config, block_s, n_blocks,
                             meta={"kind": "free_selection", "replayed": False})
    runs[LOGGED_ACTUAL] = to_record(LOGGED_ACTUAL, logged, data, estimates, policy_config, block_s, n_blocks,
                                    actual=True, meta={"kind": "free_selection", "replayed": False})
    replayed = [s for s in specs if s.kind != "free_selection"]
    advance = progress(f"replaying {len(data.tickets):,} tickets under {len(replayed)} policies", len(replayed))
    for spec, (record_args, timed) in zip(replayed, _replay_all(replayed, data, estimates, decision, policy_config,
                                                               settings, block_s, n_blocks, advance)):
        run, wall_s = record_args
        runs[spec.name] = to_record(spec.name, run, data, estimates, policy_config, block_s, n_blocks, timed=timed,
                                    meta={"kind": spec.kind, "preset": spec.preset, "replayed": True,
                                          "wall_s": wall_s, "round_interval_s": settings.round_interval_s})
    clock.done("replays")
    say("bootstrap intervals")
    summary = summarize([runs], n_boot=settings.n_boot, seed=settings.seed, settings=MetricSettings())
    _drop_not_in_logs(summary, has_growth=bool(data.roster.growth.any()))
    summary["estimation"] = _estimation_notes(data, estimates, decision, block_s)
    summary["off_policy"] = _off_policy(data, estimates, runs, settings)
    clock.done("bootstrap")
    summary["stage_wall_s"] = clock.seconds
    say("writing the report")
    shown = {"window_start": data.start_ts.isoformat(), "window_tickets": len(data.tickets),
             "agents": data.n_agents, "evaluation_folds": settings.folds,
             "round_interval_s": settings.round_interval_s, "report_interval_s": settings.report_interval_s,
             "session_gap_h": settings.session_gap_s / 3600, "block_hours": block_s / 3600,
             "hard_quantile": MetricSettings().hard_quantile, "min_agent_tickets": MetricSettings().min_agent_tickets,
             "policies": list(runs)}
    paths = write_report(workdir, summary, [runs], shown)
    return BacktestResult(summary=summary, runs=[runs], paths=paths)


class _Stages:
    """Wall time of each stage of the run, for metrics.json (what a user waits for)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._last, 1)
        self._last = now


def _replay_all(specs: Sequence[PolicySpec], data: ReplayData, estimates: OutcomeEstimates, decision: Path,
                policy_config: PolicyConfig, settings: ReplaySettings, block_s: float, n_blocks: int,
                advance: Any) -> list[tuple[tuple[ReplayRun, float], BlockTimedPolicy]]:
    """Each policy's replay, here or in `settings.workers` processes (results in the specs' order)."""
    args = (data, estimates, decision, policy_config, settings, block_s, n_blocks)
    if settings.workers <= 1 or len(specs) <= 1:
        out = []
        for spec in specs:
            out.append(_replay_one(spec, *args))
            advance(1)
        return out
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(settings.workers, len(specs)), mp_context=context,
                             initializer=_init_worker, initargs=args) as pool:
        futures = [pool.submit(_work, spec) for spec in specs]
        results = []
        for future in futures:
            results.append(future.result())
            advance(1)
        return results


def _replay_one(spec: PolicySpec, data: ReplayData, estimates: OutcomeEstimates, decision: Path,
                policy_config: PolicyConfig, settings: ReplaySettings, block_s: float,
                n_blocks: int) -> tuple[tuple[ReplayRun, float], BlockTimedPolicy]:
    policy, release = build_replay_policy(spec, data, decision, policy_config, settings.round_interval_s,
                                          settings.report_interval_s)
    timed = BlockTimedPolicy(policy, block_s, n_blocks)
    started = time.perf_counter()
    try:
        run = run_replay(data, estimates, timed, settings.round_interval_s, settings.seed)
    finally:
        release()
    timed.policy = None  # type: ignore[assignment]  # the engine stays in the worker; the timings travel back
    return (run, round(time.perf_counter() - started, 2)), timed


_WORKER: dict[str, Any] = {}


def _init_worker(*args: Any) -> None:
    """Keep the window and estimates in the worker process (sent once, not once per policy)."""
    _WORKER["args"] = args


def _work(spec: PolicySpec) -> tuple[tuple[ReplayRun, float], BlockTimedPolicy]:
    return _replay_one(spec, *_WORKER["args"])


def _drop_not_in_logs(summary: dict[str, Any], has_growth: bool) -> None:
    """Remove figures that need the true skill; growth practice share is n/a when no agent has growth topics."""
    tables = [summary["policies"], summary["differences"], *summary["by_scenario"].values()]
    for table in tables:
        for estimates in table.values():
            for key in NOT_IN_LOGS:
                estimates.pop(key, None)
            if not has_growth and "growth.practice_share" in estimates:
                estimates["growth.practice_share"] = {"value": float("nan"), "lo": float("nan"), "hi": float("nan")}
    summary.pop("coverage_by_topic", None)


def _estimation_notes(data: ReplayData, estimates: OutcomeEstimates, decision: Path, block_s: float) -> dict[str, Any]:
    """What is estimated, by which model, and what is as logged: the report states it, metrics.json keeps it."""
    return {
        "mode": "log replay",
        "estimated": ["resolution_rate", "p_resolve_true", "csat", "fairness.*", "handle_time_s (except "
                      f"{LOGGED_ACTUAL})"],
        "as_logged": ["arrivals (created_at)", "agent availability", "work not replayed",
                      f"every figure of {LOGGED_ACTUAL}"],
        "evaluation_model": estimates.describe(),
        "evaluation_model_folders": [str(Path("models") / f.name) for f in estimates.folders],
        "decision_model_folder": str(Path("models") / decision.name),
        "availability": data.availability,
        "handle_time": "the logged handle time of the ticket scaled by the evaluation model's predicted handle time "
                       "of the new agent over that of the logged agent (the ratio kept within 1/5 and 5)",
        "resolution": "the evaluation model's probability of resolution for the chosen pair (an expected rate, "
                      "no coin flip); engine policies are told outcomes drawn from it (the logged outcome for "
                      "the logged pair)",
        "difficulty": "1 - the evaluation model's P(resolved) for a typical agent (its difficulty model); hard = "
                      "top quarter of the window",
        "growth": ("practice share on growth topics only: logs have no true skill" if data.roster.growth.any()
                   else "n/a: no agent in the roster has growth topics, and logs have no true skill"),
        "cluster": f"blocks of {block_s / 3600:g} h of arrival time",
        "logged_pairs": _logged_pair_check(data, estimates),
    }


def _logged_pair_check(data: ReplayData, estimates: OutcomeEstimates) -> dict[str, float]:
    """The evaluation model on the pairs the log holds: estimated against actual resolution rate."""
    rows = np.arange(len(data.tickets))
    p = estimates.p_resolve[rows, data.logged_agent]
    return {"estimated_resolution_rate": float(np.nanmean(p)), "actual_resolution_rate": float(data.logged_resolved.mean()),
            "brier": float(np.nanmean((p - data.logged_resolved) ** 2))}


def _off_policy(data: ReplayData, estimates: OutcomeEstimates, runs: dict[str, RunRecord],
                settings: ReplaySettings) -> dict[str, Any]:
    """IPS, self-normalised IPS and doubly robust resolution per replayed policy, when the log carries propensities."""
    if data.propensity is None:
        return {"available": False,
                "reason": "the interactions carry no propensity column (the probability the logging policy gave "
                          "the logged agent), so inverse-propensity and doubly robust estimates cannot be made"}
    rows = np.arange(len(data.tickets))
    q_logged = np.nan_to_num(estimates.p_resolve[rows, data.logged_agent])
    block = next(iter(runs.values())).block
    out: dict[str, Any] = {"available": True, "estimand": "resolution per window ticket (a ticket never served "
                                                          "counts as unresolved)", "policies": {}}
    for name, run in runs.items():
        if name == LOGGED_ACTUAL:
            continue
        handled = run.agent >= 0
        q_target = np.where(handled, np.nan_to_num(estimates.p_resolve[rows, np.maximum(run.agent, 0)]), 0.0)
        feedback = BanditFeedback(reward=data.logged_resolved, propensity=data.propensity,
                                  match=run.agent == data.logged_agent, q_logged=q_logged, q_target=q_target,
                                  block=block)
        out["policies"][name] = {**estimate_with_intervals(feedback, settings.n_boot, settings.seed),
                                 "match_share": float(feedback.match.mean())}
    return out
