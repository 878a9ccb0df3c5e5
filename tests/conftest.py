"""Shared fixtures: simulated histories are built once per session and reused read-only."""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from skillmatch.config import load_train_config
from skillmatch.ledger import safe_url
from skillmatch.logs import load_logs
from skillmatch.models.publish import train_to_folder
from skillmatch.simulation import SimulatedHistory, SimulationConfig, simulate_history

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("SKILLMATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def _fresh_postgres_schema() -> Iterator[str]:
    """A URL whose search_path is a new schema of the test PostgreSQL, dropped on exit (required, never skipped)."""
    schema = f"sm_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.DBAPIError as error:
        admin.dispose()
        pytest.fail(f"this test needs PostgreSQL at {safe_url(POSTGRES_URL)} and could not use it: {error.orig}",
                    pytrace=False)
    try:
        yield sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture()
def postgres_schema_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test."""
    with _fresh_postgres_schema() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for the session (tests that share it empty it themselves)."""
    with _fresh_postgres_schema() as url:
        yield url


@pytest.fixture(scope="session")
def week_history() -> SimulatedHistory:
    """A 7-day, 30-agent simulated center under free selection (seed 1)."""
    return simulate_history(SimulationConfig(days=7, n_agents=30, seed=1))


@pytest.fixture(scope="session")
def week_history_files(week_history: SimulatedHistory, tmp_path_factory: pytest.TempPathFactory):
    """The week history written to disk as contract logs."""
    return week_history.write(tmp_path_factory.mktemp("week") / "logs")


@pytest.fixture(scope="session")
def two_weeks(tmp_path_factory: pytest.TempPathFactory):
    """14 days x 30 agents under free selection (seed 2): its history and log files."""
    history = simulate_history(SimulationConfig(days=14, n_agents=30, seed=2))
    return history, history.write(tmp_path_factory.mktemp("two-weeks") / "logs")


@pytest.fixture(scope="session")
def trained(two_weeks, tmp_path_factory: pytest.TempPathFactory):
    """(folder, result, metadata) of a model trained with the ground truth, in a models/ directory."""
    history, paths = two_weeks
    logs = load_logs(paths["interactions"], paths["agents"])
    config = load_train_config(ROOT / "training" / "simulated.toml")
    models_dir = tmp_path_factory.mktemp("models")
    return train_to_folder(logs, config, models_dir / "v1", truth=history.truth)
