"""The ledger: decisions, outcomes, fair-share and growth counters in SQLite (default) or PostgreSQL.

The only place SQLAlchemy is used; nothing connects at import time (`Ledger.connect` does).
"""
from skillmatch.ledger.errors import LedgerError, TicketHeld
from skillmatch.ledger.records import (
    DecisionRow, FairShareCounter, OutcomeReport, OutcomeRow, RoundRecord, TicketHold, UnavailablePeriod, WorkItem,
)
from skillmatch.ledger.store import DEFAULT_URL, URL_ENV_VAR, Ledger, database_url, safe_url

__all__ = [
    "DEFAULT_URL",
    "URL_ENV_VAR",
    "DecisionRow",
    "FairShareCounter",
    "Ledger",
    "LedgerError",
    "OutcomeReport",
    "OutcomeRow",
    "RoundRecord",
    "TicketHeld",
    "TicketHold",
    "UnavailablePeriod",
    "WorkItem",
    "database_url",
    "safe_url",
]
