"""Request and response bodies of the HTTP API (CONTRACT section 3), with the examples OpenAPI shows."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from skillmatch.records import Agent, Ticket, Weights

_TICKET_EXAMPLE = {"ticket_id": "T1", "created_at": "2026-11-23T10:01:00Z", "topic": "billing", "channel": "chat",
                   "language": "es", "priority": 2, "customer_id": "C9", "customer_tier": "vip", "sentiment": -0.6}
_AGENT_EXAMPLE = {"agent_id": "A7", "languages": ["en", "es"], "free_slots": 1, "growth_topics": ["technical"]}
_ASSIGNMENT_EXAMPLE = {
    "ticket_id": "T1", "agent_id": "A7", "score": 0.71,
    "components": {"match": 0.64, "fairness": 0.05, "growth": 0.0, "urgency": 0.02},
    "predicted": {"p_resolve": 0.88, "handle_time_s": 410, "difficulty": 0.35},
    "stretch": False, "hard": False,
    "reasons": ["speaks es", "strong on billing", "below fair share of hard tickets"],
}
RequestId = Field(None, min_length=1, max_length=200,
                  description="Idempotency key: the same id with the same body returns the first answer, "
                              "records nothing twice; with a different body it is refused (409).")


class AssignRequest(BaseModel):
    """One routing round: the waiting tickets and the agents with free capacity."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "request_id": "r-42", "now": "2026-11-23T10:15:00Z", "tickets": [_TICKET_EXAMPLE], "agents": [_AGENT_EXAMPLE],
        "weights": {"match": 1.0, "fairness": 0.5, "growth": 0.3}, "commit": True}]})

    request_id: str | None = RequestId
    now: datetime = Field(description="The routing moment (waiting times and fair-share windows are taken at it).")
    tickets: list[Ticket]
    agents: list[Agent]
    weights: Weights | None = None
    commit: bool = Field(True, description="Record the decisions in the ledger (fair shares, growth quotas, audit).")


class NextRequest(BaseModel):
    """Claim next: one agent asks for its next ticket out of `queue`; `others` are the other free agents."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "request_id": "n-7", "now": "2026-11-23T10:15:00Z", "agent": _AGENT_EXAMPLE, "queue": [_TICKET_EXAMPLE],
        "others": [{"agent_id": "A8", "languages": ["en"], "free_slots": 2}], "commit": True}]})

    request_id: str | None = RequestId
    now: datetime | None = Field(None, description="Defaults to the server's clock.")
    agent: Agent
    queue: list[Ticket]
    others: list[Agent] = Field(default_factory=list)
    weights: Weights | None = None
    commit: bool = True


class OutcomeIn(BaseModel):
    """One outcome row: the interactions columns of the contract (extra columns are kept)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "ticket_id": "T1", "agent_id": "A7", "created_at": "2026-11-23T10:01:00Z",
        "closed_at": "2026-11-23T10:22:00Z", "topic": "billing", "channel": "chat", "language": "es",
        "priority": 2, "customer_id": "C9", "customer_tier": "vip", "sentiment": -0.6, "handle_time_s": 410,
        "resolved": True, "csat": 5}]})

    ticket_id: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    created_at: datetime
    topic: str = Field(min_length=1)
    resolved: bool
    handle_time_s: float | None = Field(None, gt=0, description="Or both assigned_at and closed_at.")
    assigned_at: datetime | None = None
    closed_at: datetime | None = None
    csat: int | None = Field(None, ge=1, le=5)


class Components(BaseModel):
    match: float
    fairness: float
    growth: float
    urgency: float


class Predicted(BaseModel):
    model_config = ConfigDict(extra="allow")

    p_resolve: float
    handle_time_s: float
    difficulty: float
    csat: float | None = None


class Assignment(BaseModel):
    """One ticket given to one agent, with the score's parts, the predictions and short reasons."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ASSIGNMENT_EXAMPLE]})

    ticket_id: str
    agent_id: str
    score: float
    components: Components
    predicted: Predicted
    stretch: bool = Field(description="A growth (stretch) assignment in one of the agent's growth topics.")
    hard: bool = Field(description="In the hard quantile of difficulty.")
    reasons: list[str]


class Unassigned(BaseModel):
    ticket_id: str
    reason: str


class AssignResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "model_version": "2026-11-23T09-00-00Z-ab12", "now": "2026-11-23T10:15:00+00:00",
        "assignments": [_ASSIGNMENT_EXAMPLE], "unassigned": [{"ticket_id": "T2", "reason": "no free agent speaks de"}]}]})

    model_version: str
    now: str
    assignments: list[Assignment]
    unassigned: list[Unassigned]


class NextResponse(BaseModel):
    model_version: str
    now: str
    assignment: Assignment | None
    reason: str | None = Field(None, description="Why no ticket was given, when none was.")


class OutcomesResponse(BaseModel):
    model_version: str
    inserted: int
    duplicates: int


class AgentProfileResponse(BaseModel):
    """How the engine sees an agent (proficiency per topic, fair share, growth, audit index when present)."""

    model_config = ConfigDict(extra="allow")

    model_version: str
    agent_id: str
    topics: list[dict[str, Any]]
    window: dict[str, Any]
    growth: dict[str, Any]
    audit: dict[str, Any] | None = None


class ModelResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    model_version: str
    path: str
    loaded_at: str
    metadata: dict[str, Any]


class HealthResponse(BaseModel):
    status: str
    model_version: str | None = None


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    path: str | None = None
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every error: `{"error": {"code", "message", "details"}}` (and `model_version` when a model is loaded)."""

    error: ErrorBody
    model_version: str | None = None


class Alert(BaseModel):
    """A ticket likely to miss (or past) its channel's answer-time target, or an overloaded agent."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "key": "sla_risk:T1", "kind": "sla_risk", "agent_id": "A7", "ticket_id": "T1", "customer_id": "C9",
        "channel": "chat", "p_miss": 0.84, "position": 3, "deadline": "2026-11-23T10:03:00+00:00",
        "reason": "3 tickets ahead in A7's queue (about 24 min of work) and 1 min left to the chat target of "
                  "2 min: 84% likely to miss it",
        "suggested_action": "hand it back to A8", "to_agent_id": "A8"}]})

    key: str = Field(description="Stable identity of the alert (the webhook sends each key once).")
    kind: str = Field(description="sla_risk, sla_breached or overload.")
    agent_id: str
    ticket_id: str | None = None
    reason: str
    suggested_action: str


class AlertsResponse(BaseModel):
    model_version: str
    now: str
    threshold: float
    alerts: list[Alert]


class HandBackResponse(BaseModel):
    """Which of an agent's waiting tickets to hand back and to whom, with the expected misses before and after."""

    model_config = ConfigDict(extra="allow")

    model_version: str
    now: str
    agent_id: str
    overloaded: bool
    reasons: list[str]
    hand_back: list[dict[str, Any]]
    keep: list[str]
    expected_misses_before: float
    expected_misses_after: float


class UnavailableRequest(BaseModel):
    """A period the agent spends outside the queue (training, campaign, mentoring)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "start": "2026-11-23T13:00:00Z", "end": "2026-11-23T15:00:00Z", "reason": "training"}]})

    start: datetime
    end: datetime
    reason: str = Field(min_length=1, max_length=200)


class UnavailableResponse(BaseModel):
    model_version: str
    period_id: int
    agent_id: str
    start: str
    end: str
    reason: str
    available_share_of_window: float = Field(description="Share of the policy window holding `start` the agent is "
                                                         "available (pro-rates fair share and growth quota).")


class UnavailableListResponse(BaseModel):
    model_version: str
    agent_id: str
    periods: list[dict[str, str]]
