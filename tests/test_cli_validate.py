"""`skillmatch validate`: exit 0 and a summary on valid logs, exit 2 and one error line on broken ones.

The table of broken files run through this command is in tests/logs/test_validate.py (it uses the
valid log set of tests/logs/conftest.py).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skillmatch.cli import app

INTERACTIONS = """ticket_id,created_at,assigned_at,closed_at,agent_id,topic,handle_time_s,resolved,csat,extra
T1,2026-11-23T09:00:00Z,2026-11-23T09:01:00Z,2026-11-23T09:11:00Z,A1,billing,,true,5,x
T2,2026-11-23T09:30:00,2026-11-23T09:40:00,,A2,returns,420,false,,y
T3,2026-11-23T10:00:00+01:00,,,A1,Billing,300,1,4,
"""
AGENTS = "agent_id,languages,skills,capacity\nA1,en;es,billing:4,2\nA2,,,\n"
EVENTS = "ts,event,ticket_id,agent_id\n2026-11-23T09:00:00Z,queued,T1,\n2026-11-23T09:01:00Z,claimed,T1,A1\n"


@pytest.fixture
def logs(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, text in (("interactions", INTERACTIONS), ("agents", AGENTS), ("events", EVENTS)):
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(text)
    return paths


def _args(paths: dict[str, Path]) -> list[str]:
    args = ["validate"]
    for name, path in paths.items():
        args += [f"--{name}", str(path)]
    return args


def test_valid_logs_exit_0_and_print_the_summary(logs: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, _args(logs))
    assert result.exit_code == 0, result.output
    assert "logs are valid" in result.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in result.output.splitlines() if line.count("│") == 3}
    assert rows["interactions"] == "3"
    assert rows["topics"] == "billing 2 (67%), returns 1 (33%)"
    assert rows["resolved"] == "66.7%"
    assert rows["handle time"] == "median 420 s (7.0 min)"  # 600 derived, 420, 300
    assert rows["events"].startswith("2: ")
    assert rows["period"].startswith("2026-11-23 09:00 to 2026-11-23 09:30 UTC")  # T3 is 09:00 UTC


def test_events_are_optional(logs: dict[str, Path]) -> None:
    del logs["events"]
    result = CliRunner().invoke(app, _args(logs))
    assert result.exit_code == 0, result.output
    assert "not given" in result.output


def test_parquet_logs_are_accepted(logs: dict[str, Path], tmp_path: Path) -> None:
    import pandas as pd

    for name in ("interactions", "agents"):
        frame = pd.read_csv(logs[name], dtype=str, keep_default_na=False)
        logs[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(logs[name], index=False)
    result = CliRunner().invoke(app, _args(logs))
    assert result.exit_code == 0, result.output


def test_a_broken_file_exits_2_with_one_line_on_stderr(logs: dict[str, Path]) -> None:
    logs["agents"].write_text("agent_id,capacity\nA1,2\nA2,0\n")
    result = CliRunner().invoke(app, _args(logs))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (f"error: {logs['agents']}, column 'capacity', row 2: value out of range; "
                                     "expected a whole number >= 1, got '0'")


def test_the_installed_command_exits_2_without_a_traceback(logs: dict[str, Path]) -> None:
    command = Path(sys.executable).with_name("skillmatch")
    if not command.exists():
        pytest.skip("the skillmatch console script is not installed next to this Python")
    logs["interactions"].write_text(INTERACTIONS.replace("T2,", "T1,"))
    done = subprocess.run([str(command), *_args(logs)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "column 'ticket_id', rows 1, 2: duplicate ticket_id" in done.stderr
    assert done.stdout == ""


def test_help_shows_an_example() -> None:
    result = CliRunner().invoke(app, ["validate", "--help"])
    assert result.exit_code == 0
    assert "Example: skillmatch validate --interactions" in result.output


def test_cell_values_that_look_like_markup_are_shown_as_written(logs: dict[str, Path]) -> None:
    logs["agents"].write_text("agent_id,capacity\nA1,2\nA2,[/x]\n")
    result = CliRunner().invoke(app, _args(logs))
    assert result.exit_code == 2
    assert "got '[/x]'" in result.output
