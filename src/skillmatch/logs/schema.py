"""The log contract (CONTRACT section 1) as data: one place that says which columns exist and what they hold.

Readers, validators, the simulator's writer and the docs all read these tables; nothing else
spells out column names or ranges.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["str", "timestamp", "date", "int", "float", "bool", "list", "levels"]
"""How a column is parsed. `list` is `a;b;c`; `levels` is `topic:level;topic:level` with levels 1..5."""

LIST_SEPARATOR = ";"
LEVEL_SEPARATOR = ":"


@dataclass(frozen=True)
class Column:
    """One column of a log table."""

    name: str
    kind: Kind
    required: bool
    meaning: str
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple[str, ...] | None = None
    default: object = None

    def expected(self) -> str:
        """Human words for what a valid value looks like (used in error messages)."""
        words = {
            "str": "a non-empty text",
            "timestamp": "an ISO-8601 timestamp such as 2026-11-23T10:15:00Z",
            "date": "a date such as 2024-03-01",
            "int": "a whole number",
            "float": "a number",
            "bool": "true/false (also 1/0, yes/no)",
            "list": "a ';'-separated list such as en;es",
            "levels": "a ';'-separated list of topic:level with levels 1..5, such as billing:4;returns:2",
        }[self.kind]
        if self.choices is not None:
            words = "one of " + ", ".join(self.choices)
        if self.min is not None and self.max is not None:
            words += f" from {self.min:g} to {self.max:g}"
        elif self.min is not None:
            words += f" {'>' if self.min_exclusive else '>='} {self.min:g}"
        return words


@dataclass(frozen=True)
class TableSchema:
    """A log table: its columns and the column that must be unique, if any."""

    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    meaning: str = ""
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


EVENT_NAMES: tuple[str, ...] = (
    "queued", "viewed", "claimed", "assigned", "unassigned", "transferred", "closed",
    "agent_online", "agent_offline",
)
AGENT_EVENTS: tuple[str, ...] = ("agent_online", "agent_offline")
"""Events about an agent, with an empty ticket_id."""
TICKET_EVENTS_WITHOUT_AGENT: tuple[str, ...] = ("queued",)
"""Events about a ticket, with an empty agent_id."""

DEFAULT_LANGUAGE = "en"
DEFAULT_PRIORITY = 3
DEFAULT_CAPACITY = 1

INTERACTIONS = TableSchema(
    name="interactions",
    key="ticket_id",
    meaning="one row per ticket handled by one agent",
    columns=(
        Column("ticket_id", "str", True, "unique per row"),
        Column("created_at", "timestamp", True, "when the customer contacted"),
        Column("assigned_at", "timestamp", False, "when an agent took it (free selection: claimed)"),
        Column("closed_at", "timestamp", False, "when the agent finished"),
        Column("agent_id", "str", True, "who handled it"),
        Column("topic", "str", True, "the skill area (billing, returns, technical, ...)"),
        Column("channel", "str", False, "email, chat, sms, voice, social, ..."),
        Column("language", "str", False, "ISO 639-1 code", default=DEFAULT_LANGUAGE),
        Column("priority", "int", False, "1 = most urgent", min=1, max=4, default=DEFAULT_PRIORITY),
        Column("customer_id", "str", False, "repeat customers, affinity"),
        Column("customer_tier", "str", False, "standard, vip, ..."),
        Column("sentiment", "float", False, "customer sentiment at intake", min=-1, max=1),
        Column("handle_time_s", "float", False,
               "active handling time (required unless assigned_at and closed_at are both given)",
               min=0, min_exclusive=True),
        Column("resolved", "bool", True, "resolved by this agent, without transfer or escalation"),
        Column("reopened", "bool", False, "the customer came back on the same issue"),
        Column("transferred", "bool", False, "passed on to another agent or tier"),
        Column("csat", "int", False, "customer satisfaction survey, often missing", min=1, max=5),
        Column("qa_score", "float", False, "quality-management score of the interaction", min=1, max=5),
    ),
)

AGENTS = TableSchema(
    name="agents",
    key="agent_id",
    meaning="the roster",
    columns=(
        Column("agent_id", "str", True, ""),
        Column("languages", "list", False, "languages spoken, en;es", default=(DEFAULT_LANGUAGE,)),
        Column("skills", "levels", False, "declared levels, billing:4;returns:2 (1..5)"),
        Column("certifications", "list", False, "topics the agent may handle when they are restricted"),
        Column("growth_topics", "list", False, "topics in the agent's development plan"),
        Column("team", "str", False, ""),
        Column("hire_date", "date", False, "tenure"),
        Column("capacity", "int", False, "concurrent tickets", min=1, default=DEFAULT_CAPACITY),
    ),
)

EVENTS = TableSchema(
    name="events",
    key=None,
    meaning="the queue as it happened, for the cherry-pick audit and for replay",
    columns=(
        Column("ts", "timestamp", True, ""),
        Column("event", "str", True, "what happened", choices=EVENT_NAMES),
        Column("ticket_id", "str", False, "empty for agent events"),
        Column("agent_id", "str", False, "empty for queued"),
    ),
)

TABLES: dict[str, TableSchema] = {t.name: t for t in (INTERACTIONS, AGENTS, EVENTS)}
