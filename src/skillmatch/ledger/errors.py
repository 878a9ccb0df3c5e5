"""The ledger's domain error: SQLAlchemy and driver exceptions never leave `ledger/`."""
from __future__ import annotations

from skillmatch.errors import SkillmatchError


class LedgerError(SkillmatchError):
    """The ledger database cannot be reached, opened or written; the message names the URL without password."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(message)
