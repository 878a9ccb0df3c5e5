"""Real slices of the two public raw files, adapted once per session through the command line.

The raw files live outside the repository (SKILLMATCH_REAL_DATA, default ../shared/data/real beside the repository); these
tests need them and fail, not skip, without them.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from skillmatch.cli import app

def _real_data() -> Path:
    """SKILLMATCH_REAL_DATA, else ../shared/data/real beside the repository (where the brief keeps them)."""
    if os.environ.get("SKILLMATCH_REAL_DATA"):
        return Path(os.environ["SKILLMATCH_REAL_DATA"])
    beside = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
    return beside if beside.exists() else Path("/work/shared/data/real")


REAL = _real_data()
UCI_RAW = REAL / "uci_incident_event_log" / "incident_event_log.csv.xz"
BANK_RAW = REAL / "anonymous_bank_callcenter_1999_02" / "anonymous_bank_1999_02.tsv.gz"
UCI_ROWS = 20_000
"""The first 2,804 incidents; the slice ends inside INC0004359, which is still open there."""
BANK_ROWS = 8_000
"""Calls on VRU lines AA0101-AA0105 over the whole month (the file is ordered by line)."""


@dataclass(frozen=True)
class AdaptedSlice:
    """The output folder of one `skillmatch adapt` run and what it wrote."""

    out: Path
    output: str
    summary: dict
    interactions: pd.DataFrame
    agents: pd.DataFrame
    events: pd.DataFrame


def real_file(path: Path) -> Path:
    """The raw file, or a failed test saying where it was expected."""
    if not path.is_file():
        pytest.fail(f"these tests read the real dataset at {path} (set SKILLMATCH_REAL_DATA to its folder)",
                    pytrace=False)
    return path


def run_adapt(dataset: str, raw: Path, out: Path, *extra: str) -> object:
    """`skillmatch adapt` through typer's runner (wide terminal, so messages are not wrapped)."""
    return CliRunner().invoke(app, ["adapt", dataset, str(raw), "--out", str(out), *extra], terminal_width=400)


def _adapt(dataset: str, raw: Path, rows: int, out: Path) -> AdaptedSlice:
    result = run_adapt(dataset, real_file(raw), out, "--limit-rows", str(rows))
    assert result.exit_code == 0, result.output
    read = {"dtype": str, "keep_default_na": False, "na_values": [""]}
    return AdaptedSlice(out=out, output=result.output, summary=json.loads((out / "adapted.json").read_text()),
                        interactions=pd.read_csv(out / "interactions.csv.gz", **read),
                        agents=pd.read_csv(out / "agents.csv", **read),
                        events=pd.read_csv(out / "events.csv.gz", **read))


@pytest.fixture(scope="session")
def uci_slice(tmp_path_factory: pytest.TempPathFactory) -> AdaptedSlice:
    return _adapt("uci-incidents", UCI_RAW, UCI_ROWS, tmp_path_factory.mktemp("uci") / "adapted")


@pytest.fixture(scope="session")
def uci_raw() -> pd.DataFrame:
    """The same raw rows as the README says to read them ('?' is missing)."""
    return pd.read_csv(real_file(UCI_RAW), na_values=["?"], nrows=UCI_ROWS, low_memory=False)


@pytest.fixture(scope="session")
def bank_slice(tmp_path_factory: pytest.TempPathFactory) -> AdaptedSlice:
    return _adapt("anonymous-bank", BANK_RAW, BANK_ROWS, tmp_path_factory.mktemp("bank") / "adapted")


@pytest.fixture(scope="session")
def bank_raw() -> pd.DataFrame:
    return pd.read_csv(real_file(BANK_RAW), sep="\t", dtype=str, nrows=BANK_ROWS)
