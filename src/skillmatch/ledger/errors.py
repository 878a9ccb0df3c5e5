"""The ledger's domain error: SQLAlchemy and driver exceptions never leave `ledger/`."""
from __future__ import annotations

from skillmatch.errors import SkillmatchError


class LedgerError(SkillmatchError):
    """The ledger database cannot be reached, opened or written; the message names the URL without password."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(message)


class TicketHeld(SkillmatchError):
    """A decision lost a race: another agent took the ticket first (the round was not recorded)."""

    def __init__(self, ticket_id: str, agent_id: str) -> None:
        self.ticket_id = ticket_id
        self.agent_id = agent_id
        super().__init__(f"ticket {ticket_id!r} is held by agent {agent_id!r}")
