"""`skillmatch demo` runs the whole path on its own: simulate, validate, train, evaluate, promote, backtest."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from skillmatch.cli import app


def test_demo_goes_from_nothing_to_an_evaluated_promoted_model(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--days", "7", "--agents", "15",
                                      "--eval-days", "1"])
    assert result.exit_code == 0, result.output
    assert "simulated history under free selection" in result.output
    assert "resolution AUC" in result.output and "difficulty vs truth" in result.output
    latest = tmp_path / "demo" / "models" / "latest"
    metadata = json.loads((latest / "metadata.json").read_text())
    assert metadata["metrics"]["summary"]["auc"] > 0.5
    assert (tmp_path / "demo" / "data" / "truth.json.gz").exists()
    assert "the policies over 1 more days" in result.output and "greedy_best_fit" in result.output
    report = json.loads((tmp_path / "demo" / "backtest" / "metrics.json").read_text())
    assert {"free_selection", "fifo", "greedy_best_fit", "skillmatch", "oracle"} <= set(report["policies"])
