"""A valid minimal set of logs as text tables (as a user's CSV holds them), to write out and break."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

INTERACTIONS_ROWS = [
    # T1: everything given; T2: handle time derived (10 min), language and priority defaulted;
    # T3: Spanish VIP, not resolved, transferred, no survey; T4: another agent's returns ticket.
    {"ticket_id": "T1", "created_at": "2026-11-23T09:00:00Z", "assigned_at": "2026-11-23T09:02:00Z",
     "closed_at": "2026-11-23T09:12:00Z", "agent_id": "A1", "topic": "billing", "channel": "chat",
     "language": "en", "priority": "2", "customer_id": "C1", "customer_tier": "standard",
     "sentiment": "-0.5", "handle_time_s": "540", "resolved": "true", "reopened": "false",
     "transferred": "false", "csat": "5", "qa_score": "4.5"},
    {"ticket_id": "T2", "created_at": "2026-11-23T09:05:00Z", "assigned_at": "2026-11-23T09:06:00Z",
     "closed_at": "2026-11-23T09:16:00Z", "agent_id": "A1", "topic": "billing", "channel": "email",
     "language": "", "priority": "", "customer_id": "C2", "customer_tier": "standard",
     "sentiment": "0.1", "handle_time_s": "", "resolved": "yes", "reopened": "", "transferred": "0",
     "csat": "4", "qa_score": ""},
    {"ticket_id": "T3", "created_at": "2026-11-23T10:00:00Z", "assigned_at": "2026-11-23T10:10:00Z",
     "closed_at": "2026-11-23T10:30:00Z", "agent_id": "A2", "topic": "technical", "channel": "chat",
     "language": "es", "priority": "1", "customer_id": "C1", "customer_tier": "vip",
     "sentiment": "-0.9", "handle_time_s": "900", "resolved": "false", "reopened": "true",
     "transferred": "1", "csat": "", "qa_score": "3"},
    {"ticket_id": "T4", "created_at": "2026-11-23T11:00:00Z", "assigned_at": "2026-11-23T11:03:00Z",
     "closed_at": "2026-11-23T11:08:00Z", "agent_id": "A2", "topic": "returns", "channel": "email",
     "language": "en", "priority": "3", "customer_id": "C3", "customer_tier": "standard",
     "sentiment": "0.4", "handle_time_s": "300", "resolved": "True", "reopened": "no",
     "transferred": "false", "csat": "3", "qa_score": "4"},
]
AGENTS_ROWS = [
    {"agent_id": "A1", "languages": "en;es", "skills": "billing:4;returns:2", "certifications": "fraud",
     "growth_topics": "technical", "team": "north", "hire_date": "2024-03-01", "capacity": "2"},
    {"agent_id": "A2", "languages": "es", "skills": "technical:5", "certifications": "",
     "growth_topics": "", "team": "south", "hire_date": "2025-01-15", "capacity": ""},
    {"agent_id": "A3", "languages": "", "skills": "", "certifications": "", "growth_topics": "billing",
     "team": "", "hire_date": "", "capacity": "1"},
]
EVENTS_ROWS = [
    {"ts": "2026-11-23T08:55:00Z", "event": "agent_online", "ticket_id": "", "agent_id": "A1"},
    {"ts": "2026-11-23T09:00:00Z", "event": "queued", "ticket_id": "T1", "agent_id": ""},
    {"ts": "2026-11-23T09:01:00Z", "event": "viewed", "ticket_id": "T1", "agent_id": "A1"},
    {"ts": "2026-11-23T09:02:00Z", "event": "claimed", "ticket_id": "T1", "agent_id": "A1"},
    {"ts": "2026-11-23T09:12:00Z", "event": "closed", "ticket_id": "T1", "agent_id": "A1"},
    {"ts": "2026-11-23T12:00:00Z", "event": "agent_offline", "ticket_id": "", "agent_id": "A1"},
]


@dataclass
class LogTables:
    """The three logs as all-text frames; tests edit cells (`set`) and write them in any format."""

    interactions: pd.DataFrame
    agents: pd.DataFrame
    events: pd.DataFrame

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def set(self, name: str, row: int, column: str, value: str) -> None:
        """Set one cell; `row` is the 1-based data-row number an error message would show."""
        self.table(name).loc[row - 1, column] = value

    def write(self, folder: Path, suffix: str = ".csv") -> dict[str, Path]:
        """Write each log as `<name><suffix>` (CSV, .csv.gz, .parquet or .pq); empty cells stay empty."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name in ("interactions", "agents", "events"):
            path = folder / f"{name}{suffix}"
            frame = self.table(name)
            if suffix in (".parquet", ".pq"):
                frame.replace("", None).to_parquet(path, index=False)
            else:
                frame.to_csv(path, index=False)
            paths[name] = path
        return paths


def make_tables() -> LogTables:
    """A fresh valid set (every call returns new frames)."""
    def frame(rows: list[dict[str, str]]) -> pd.DataFrame:
        return pd.DataFrame(rows, dtype="str")

    return LogTables(frame(INTERACTIONS_ROWS), frame(AGENTS_ROWS), frame(EVENTS_ROWS))


@pytest.fixture
def tables() -> LogTables:
    """A valid minimal interactions / agents / events set, as text, ready to break."""
    return make_tables()


@pytest.fixture
def write_logs(tmp_path: Path) -> Callable[..., dict[str, Path]]:
    """Write a LogTables to tmp_path in the given format and return the paths by log name."""
    def write(logs: LogTables, suffix: str = ".csv", folder: str = "logs") -> dict[str, Path]:
        return logs.write(tmp_path / folder, suffix)

    return write
