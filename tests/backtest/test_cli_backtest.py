"""`skillmatch backtest` on a tiny simulated center, and its refusals of bad arguments."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from skillmatch.cli import app


def test_backtest_on_a_tiny_simulated_center(tmp_path):
    out = tmp_path / "bt"
    result = CliRunner().invoke(app, ["backtest", "--simulate", "--days", "7", "--eval-days", "1", "--agents", "20",
                                      "--seeds", "3", "--policies", "free_selection,fifo,oracle", "--bootstrap", "60",
                                      "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "free_selection" in result.output and "oracle" in result.output
    assert (out / "report.html").exists()
    assert set(json.loads((out / "metrics.json").read_text())["policies"]) == {"free_selection", "fifo", "oracle"}


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--seeds", "4x"], "invalid --seeds", id="seeds"),
    pytest.param(["--policies", "fifo,best"], "unknown policy 'best'", id="policy"),
    pytest.param([], "nothing to backtest", id="no-simulate-no-logs"),
])
def test_bad_arguments_exit_2_with_one_message(tmp_path, args, message):
    simulate = [] if not args else ["--simulate"]
    result = CliRunner().invoke(app, ["backtest", *simulate, *args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("error:")
    assert not (tmp_path / "x").exists()


def test_an_out_of_range_number_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["backtest", "--simulate", "--eval-days", "0", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--eval-days" in result.output
