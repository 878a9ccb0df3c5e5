"""Ledger fixtures: every ledger test runs on SQLite (a temp file) and on the PostgreSQL at 127.0.0.1:5432.

PostgreSQL is required, never skipped: the session gets a fresh schema (dropped at the end) and fails
loudly if the server cannot be reached. SKILLMATCH_TEST_POSTGRES_URL overrides the server URL.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from skillmatch.ledger import Ledger, safe_url

POSTGRES_URL = os.environ.get("SKILLMATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TABLES = ("rounds", "decisions", "outcomes", "fair_share", "growth_quota", "work_items", "unavailability",
          "alert_claims")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema of the test database, dropped after the session."""
    schema = f"sm_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.DBAPIError as error:
        admin.dispose()
        pytest.fail(f"the ledger tests need PostgreSQL at {safe_url(POSTGRES_URL)} and could not use it: "
                    f"{error.orig}", pytrace=False)
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


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
