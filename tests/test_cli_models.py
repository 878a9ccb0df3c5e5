"""`skillmatch models list|promote`: what a data scientist sees and the exit codes scripts rely on."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from skillmatch.cli import app
from skillmatch.models.folder import LATEST, write_model_folder

SKILLMATCH = str(Path(sys.executable).with_name("skillmatch"))
T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)


def _write(models_dir: Path, name: str, created_at: datetime, summary: dict | None = None) -> Path:
    metadata = {"version": f"{name}-version", "created_at": created_at.isoformat()}
    if summary is not None:
        metadata["metrics"] = {"summary": summary}
    return write_model_folder(models_dir / name, {"w": np.zeros(3)}, metadata, f"# {name}\n")


@pytest.fixture()
def models_dir(tmp_path: Path) -> Path:
    """Two model folders, the older one promoted."""
    _write(tmp_path, "old", T0, {"auc": 0.7123, "handle_mae_s": 130.25})
    _write(tmp_path, "new", T0 + timedelta(hours=5), {"auc": 0.8456})
    os.symlink("old", tmp_path / LATEST)
    return tmp_path


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args), terminal_width=200)


def test_list_shows_models_oldest_first_with_latest_and_metrics(models_dir):
    result = _invoke("models", "list", "--dir", str(models_dir))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    old = next(i for i, line in enumerate(lines) if "old-version" in line)
    new = next(i for i, line in enumerate(lines) if "new-version" in line)
    assert old < new
    assert "<- latest" in lines[old] and "<- latest" not in lines[new]
    assert "2026-11-23 09:00:00" in lines[old] and "2026-11-23 14:00:00" in lines[new]
    assert "0.712" in lines[old] and "130.250" in lines[old] and "0.846" in lines[new]
    header = next(line for line in lines if "version" in line and "auc" in line)
    assert "handle_mae_s" in header


def test_list_of_an_empty_directory_says_how_to_make_a_model(tmp_path):
    result = _invoke("models", "list", "--dir", str(tmp_path))
    assert result.exit_code == 0
    assert "no model folders" in result.output and "skillmatch train" in result.output


def test_list_of_a_missing_directory_exits_2(tmp_path):
    result = _invoke("models", "list", "--dir", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "models directory not found" in result.output and "Traceback" not in result.output


def test_promote_moves_latest(models_dir):
    result = _invoke("models", "promote", "new", "--dir", str(models_dir))
    assert result.exit_code == 0, result.output
    assert os.readlink(models_dir / LATEST) == "new"
    assert "latest -> new" in result.output


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing", "no model folder here"), ("../old", "not a model folder name"), (LATEST, "not a model folder name")],
    ids=["missing", "path", "latest"],
)
def test_promote_of_a_bad_name_exits_2_and_leaves_latest(models_dir, name, message):
    result = _invoke("models", "promote", name, "--dir", str(models_dir))
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert os.readlink(models_dir / LATEST) == "old"


@pytest.mark.parametrize("sub", ["list", "promote"])
def test_every_models_command_has_help_with_an_example(sub):
    result = _invoke("models", sub, "--help")
    assert result.exit_code == 0
    assert f"Example: skillmatch models {sub}" in result.output


def test_models_alone_lists_its_commands():
    result = _invoke("models", "--help")
    assert result.exit_code == 0
    assert "list" in result.output and "promote" in result.output


def test_the_installed_command_promotes(models_dir):
    done = subprocess.run([SKILLMATCH, "models", "promote", "new", "--dir", str(models_dir)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert os.readlink(models_dir / LATEST) == "new"
    done = subprocess.run([SKILLMATCH, "models", "promote", "nope", "--dir", str(models_dir)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "cannot promote nope" in done.stderr
