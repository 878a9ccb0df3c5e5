"""Ledger fixtures: every ledger test runs on SQLite (a temp file) and on the PostgreSQL at 127.0.0.1:5432.

PostgreSQL is required, never skipped: the session gets a fresh schema (`postgres_url` in tests/conftest.py,
dropped at the end) and fails loudly if the server cannot be reached. SKILLMATCH_TEST_POSTGRES_URL overrides
the server URL.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skillmatch.ledger import Ledger
from skillmatch.ledger.tables import metadata

TABLES = tuple(metadata.tables)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty ledger database: a new SQLite file, or the session's PostgreSQL schema emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("postgres_url")
    with Ledger.connect(url) as ledger, ledger.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
    return url


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """A connected ledger on an empty database, closed after the test."""
    with Ledger.connect(ledger_url) as opened:
        yield opened
