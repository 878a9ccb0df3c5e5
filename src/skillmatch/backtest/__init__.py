"""Backtests: policies compared on a simulated center (ground truth) or a replayed log (estimated outcomes), with intervals and a report."""
from skillmatch.backtest.lineup import KINDS, PolicySpec, RunSettings, default_lineup, parse_lineup
from skillmatch.backtest.metrics import MetricSettings, summarize
from skillmatch.backtest.pipeline import BacktestResult, backtest
from skillmatch.backtest.record import RunRecord
from skillmatch.backtest.runner import EvalSettings, run_policy, run_scenario
from skillmatch.backtest.scenario import Scenario, ScenarioSource, SimulatedSource

__all__ = ["KINDS", "BacktestResult", "EvalSettings", "MetricSettings", "PolicySpec", "RunRecord", "RunSettings",
           "Scenario", "ScenarioSource", "SimulatedSource", "backtest", "default_lineup", "parse_lineup",
           "run_policy", "run_scenario", "summarize"]
