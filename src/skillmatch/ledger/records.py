"""Typed records the ledger takes and gives back: no SQLAlchemy here, so callers never see a row object."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class DecisionRow:
    """One assignment of a routing round as recorded in the audit trail (the contract's assignment object).

    `difficulty` and `hard` feed the fair-share counters; `stretch` (a growth ticket in the agent's
    growth topics) feeds the growth quota of (agent_id, topic). The optional ticket fields at the end
    (channel, created_at, customer_id, priority, the agent's capacity, the ticket as routed) go to
    `work_items` for supervision.
    """

    request_id: str | None
    ticket_id: str
    agent_id: str
    topic: str
    score: float
    components: dict[str, float]
    predicted: dict[str, float]
    difficulty: float
    hard: bool
    stretch: bool
    reasons: list[str]
    model_version: str
    decided_at: datetime
    channel: str | None = None
    created_at: datetime | None = None
    customer_id: str | None = None
    priority: int | None = None
    capacity: int | None = None
    ticket: dict[str, object] | None = None


@dataclass(frozen=True)
class OutcomeRow:
    """What happened to one handled ticket; one row per ticket_id (the live history's unit).

    `resid_resolve` / `resid_log_handle` are the difficulty-adjusted residuals computed by the engine,
    stored as given (NaN is stored as None so that SQLite and PostgreSQL agree).
    """

    ticket_id: str
    agent_id: str
    topic: str
    customer_id: str | None
    created_at: datetime
    closed_at: datetime
    resolved: bool
    handle_time_s: float
    csat: int | None = None
    qa_score: float | None = None
    resid_resolve: float | None = None
    resid_log_handle: float | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class FairShareCounter:
    """An agent's load in one window: tickets assigned, summed difficulty, hard tickets."""

    n_assigned: int
    difficulty_sum: float
    hard_n: int


@dataclass(frozen=True)
class RoundRecord:
    """A recorded routing round: `existing` tells a replayed request_id (stored answer) from a new one."""

    existing: bool
    request_hash: str
    response: dict[str, object]


@dataclass(frozen=True)
class OutcomeReport:
    """What `record_outcomes` did: rows inserted, rows skipped because their ticket was already recorded.

    `inserted_ids` lists the ticket_ids actually inserted, in input order, so that a caller can update
    an in-memory history with exactly the new outcomes (a re-reported ticket must not count twice).
    """

    inserted: int
    duplicates: int
    inserted_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkItem:
    """A ticket routed to an agent (its latest decision) and, once reported, how it closed.

    `predicted_handle_s` is the handle time predicted at the decision; `closed_at` / `handle_time_s`
    are None while no outcome has been reported (the ticket is open work).
    """

    ticket_id: str
    agent_id: str
    topic: str
    channel: str | None
    created_at: datetime
    customer_id: str | None
    priority: int | None
    capacity: int | None
    decided_at: datetime
    predicted_handle_s: float | None
    closed_at: datetime | None = None
    handle_time_s: float | None = None
    ticket: dict[str, object] | None = None

    @property
    def is_open(self) -> bool:
        """No outcome reported yet."""
        return self.closed_at is None


@dataclass(frozen=True)
class UnavailablePeriod:
    """A period an agent spends outside the queue (training, campaign, mentoring), with the reason."""

    agent_id: str
    start_at: datetime
    end_at: datetime
    reason: str


@dataclass(frozen=True)
class TicketHold:
    """Who holds a ticket until when. `pulled`: the agent claimed it (claim-next), so no one else may take it."""

    ticket_id: str
    agent_id: str
    pulled: bool
    held_until: datetime
