"""A whole backtest: run every policy on every scenario, summarise with intervals, write the report."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillmatch.backtest.lineup import PolicySpec, RunSettings
from skillmatch.backtest.metrics import MetricSettings, summarize
from skillmatch.backtest.record import RunRecord
from skillmatch.backtest.report import write_report
from skillmatch.backtest.runner import EvalSettings, run_scenario
from skillmatch.backtest.scenario import ProgressFactory, Say, Scenario, no_progress


@dataclass(frozen=True)
class BacktestResult:
    """The summary (see `metrics.summarize`), the raw runs per scenario, and the files written."""

    summary: dict[str, Any]
    runs: list[dict[str, RunRecord]]
    paths: dict[str, Path]


def backtest(scenarios: Iterable[Scenario], specs: Sequence[PolicySpec], out_dir: Path, *,
             settings: RunSettings = RunSettings(), evaluation: EvalSettings = EvalSettings(),
             metric_settings: MetricSettings = MetricSettings(), n_boot: int = 400, workers: int = 1,
             described: Mapping[str, Any] | None = None, progress: ProgressFactory = no_progress,
             say: Say = lambda message: None, keep_replicates: bool = False) -> BacktestResult:
    """Every policy on every scenario from the same paused state; figures with 95% intervals; report.html and metrics.json."""
    runs = []
    for scenario in scenarios:
        runs.append(run_scenario(scenario, specs, settings, evaluation, workers=workers, progress=progress))
    if not runs:
        raise ValueError("no scenario to backtest")
    say("bootstrap intervals")
    summary = summarize(runs, n_boot=n_boot, settings=metric_settings, keep_replicates=keep_replicates)
    say("writing the report")
    shown = {**(described or {}), "round_interval_s": settings.round_interval_s,
             "report_interval_s": settings.report_interval_s, "block_hours": evaluation.block_hours,
             "proficiency_bar": evaluation.proficiency_bar, "hard_quantile": metric_settings.hard_quantile,
             "min_agent_tickets": metric_settings.min_agent_tickets, "policies": [s.name for s in specs]}
    paths = write_report(Path(out_dir), summary, runs, shown)
    return BacktestResult(summary=summary, runs=runs, paths=paths)
