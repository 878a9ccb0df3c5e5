"""Backtests: policies compared on the same simulated center (log replay to come), ground-truth metrics with intervals, a report."""
from skillmatch.backtest.lineup import KINDS, PolicySpec, RunSettings, default_lineup, parse_lineup
from skillmatch.backtest.metrics import MetricSettings, summarize
from skillmatch.backtest.pipeline import BacktestResult, backtest
from skillmatch.backtest.record import RunRecord
from skillmatch.backtest.runner import EvalSettings, run_policy, run_scenario
from skillmatch.backtest.scenario import Scenario, ScenarioSource, SimulatedSource

__all__ = ["KINDS", "BacktestResult", "EvalSettings", "MetricSettings", "PolicySpec", "RunRecord", "RunSettings",
           "Scenario", "ScenarioSource", "SimulatedSource", "backtest", "default_lineup", "parse_lineup",
           "run_policy", "run_scenario", "summarize"]
