"""Typed records of a routing request, shared by the engine and the HTTP layer (contract names unchanged)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from skillmatch.errors import InputError
from skillmatch.logs.schema import DEFAULT_LANGUAGE, DEFAULT_PRIORITY


MAX_SLOTS = 1000
"""Most concurrent tickets one agent may hold (a bound that keeps slot counts within machine integers)."""


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


Lowered = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True)]
"""Text compared without case or surrounding blanks (topics, languages), normalised by pydantic's core."""


class Ticket(BaseModel):
    """A waiting ticket. Fields beyond the contract's are kept (they may be declared model features)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    ticket_id: str = Field(min_length=1)
    created_at: datetime
    topic: Lowered = Field(min_length=1)
    channel: str | None = None
    language: Lowered = DEFAULT_LANGUAGE
    priority: int = Field(DEFAULT_PRIORITY, ge=1, le=4)
    customer_id: str | None = None
    customer_tier: str | None = None
    sentiment: float | None = Field(None, ge=-1.0, le=1.0)

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _utc(value)


class Agent(BaseModel):
    """An agent of a routing round. Fields not sent come from the roster the models were trained with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_id: str = Field(min_length=1)
    languages: list[str] | None = None
    free_slots: int | None = Field(None, ge=0, le=MAX_SLOTS)
    growth_topics: list[str] | None = None
    certifications: list[str] | None = None
    capacity: int | None = Field(None, ge=1, le=MAX_SLOTS)


class Weights(BaseModel):
    """Per-request override of the objective's weights (missing ones keep the policy's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: float | None = Field(None, ge=0.0)
    fairness: float | None = Field(None, ge=0.0)
    growth: float | None = Field(None, ge=0.0)


def utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime (naive ones are UTC, as in the logs)."""
    return _utc(value)


def moment(value: datetime | str) -> datetime:
    """A call's `now` (a datetime or ISO-8601 text) as aware UTC; InputError when the text is not a timestamp."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError("not a timestamp", column="now", expected="an ISO-8601 timestamp", got=value) from None
    return _utc(value)
