"""The input logs: the contract as data (schema), reading, validation into typed frames, and a summary."""
from skillmatch.logs.read import read_table
from skillmatch.logs.schema import (
    AGENT_EVENTS,
    AGENTS,
    DEFAULT_CAPACITY,
    DEFAULT_LANGUAGE,
    DEFAULT_PRIORITY,
    EVENT_NAMES,
    EVENTS,
    INTERACTIONS,
    LEVEL_SEPARATOR,
    LIST_SEPARATOR,
    TABLES,
    TICKET_EVENTS_WITHOUT_AGENT,
    Column,
    TableSchema,
)
from skillmatch.logs.summary import LogSummary, summarize
from skillmatch.logs.validate import (
    Logs,
    check_roster,
    load_logs,
    validate_agents,
    validate_events,
    validate_interactions,
)

__all__ = [
    "AGENTS", "AGENT_EVENTS", "DEFAULT_CAPACITY", "DEFAULT_LANGUAGE", "DEFAULT_PRIORITY", "EVENTS",
    "EVENT_NAMES", "INTERACTIONS", "LEVEL_SEPARATOR", "LIST_SEPARATOR", "TABLES",
    "TICKET_EVENTS_WITHOUT_AGENT", "Column", "LogSummary", "Logs", "TableSchema", "check_roster",
    "load_logs", "read_table", "summarize", "validate_agents", "validate_events", "validate_interactions",
]
