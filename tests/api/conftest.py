"""A server on a copy of the two-week model: models directory with `latest`, fresh SQLite ledger per test."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from skillmatch.api import ApiSettings, create_app
from skillmatch.models.folder import METADATA_FILE, promote

from ..engine.conftest import NOW, agents_from, logged, tickets_from

__all__ = ["NOW", "add_version", "agents_from", "logged", "tickets_from"]


def add_version(models_dir: Path, trained_folder: Path, name: str) -> str:
    """Copy the trained folder as model version `name` (its metadata names the version); returns the version."""
    target = models_dir / name
    shutil.copytree(trained_folder, target)
    metadata = json.loads((target / METADATA_FILE).read_text())
    metadata["version"] = f"{metadata['version']}-{name}"
    (target / METADATA_FILE).write_text(json.dumps(metadata))
    return metadata["version"]


@pytest.fixture()
def models_dir(tmp_path: Path, trained) -> Path:
    """A models directory holding v1, promoted."""
    folder = tmp_path / "models"
    folder.mkdir()
    add_version(folder, trained[0], "v1")
    promote(folder, "v1")
    return folder


@pytest.fixture()
def settings(models_dir: Path, tmp_path: Path) -> ApiSettings:
    return ApiSettings(models_dir=models_dir, database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
                       reload_interval_s=0.1)


@pytest.fixture()
def client(settings: ApiSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture()
def round_body(logged, two_weeks) -> dict:
    """A routing round of 12 logged tickets and 6 roster agents, as a routing service sends it."""
    return {"request_id": "r-1", "now": NOW.isoformat(), "tickets": tickets_from(logged, 12),
            "agents": agents_from(two_weeks, 6), "commit": True}
