"""The ledger's tables (SQLAlchemy Core), portable between SQLite and PostgreSQL.

rounds        one row per routing round; request_id unique (NULL = no idempotency), the stored answer
decisions     one row per assignment of a round: the audit trail, with components and model version
outcomes      one row per ticket_id: what happened; the live history the features read
fair_share    per (agent, window): tickets assigned, summed difficulty, hard tickets
growth_quota  per (agent, window, topic): stretch tickets given
work_items    per decision: the ticket's channel, creation time, customer (supervision: SLA risk, queues)
unavailability  periods an agent is out of the queue (training, campaigns, mentoring), with the reason
alert_claims  alert keys one process took on to deliver (each alert is sent by one replica only)
ticket_holds  per ticket, the agent that holds it since its latest committed decision, until its outcome or expiry
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only
_KEY = 200  # ids, topics, versions
_HASH = 128


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive ones are UTC (the contract's rule for timestamps)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timestamps that go in as any datetime and come back aware UTC on every backend.

    PostgreSQL stores `timestamptz`; SQLite stores naive UTC text in one fixed format, so that text
    order is time order and equality on window starts is exact.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; naive for SQLite, which has no time zones."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        utc = as_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach (SQLite) or convert to (PostgreSQL session zone) UTC."""
        if value is None:
            return None
        return as_utc(value)


rounds = sa.Table(
    "rounds", metadata,
    sa.Column("round_id", _ID, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(_KEY), nullable=True, unique=True),
    sa.Column("request_hash", sa.String(_HASH), nullable=False),
    sa.Column("model_version", sa.String(_KEY), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=False),
    sa.Column("window_start", UTCDateTime(), nullable=False),
    sa.Column("n_assignments", sa.Integer(), nullable=False),
    sa.Column("response", sa.JSON(), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
)

decisions = sa.Table(
    "decisions", metadata,
    sa.Column("decision_id", _ID, primary_key=True, autoincrement=True),
    sa.Column("round_id", _ID, sa.ForeignKey("rounds.round_id"), nullable=False),
    sa.Column("request_id", sa.String(_KEY), nullable=True),
    sa.Column("ticket_id", sa.String(_KEY), nullable=False),
    sa.Column("agent_id", sa.String(_KEY), nullable=False),
    sa.Column("topic", sa.String(_KEY), nullable=False),
    sa.Column("score", sa.Float(), nullable=False),
    sa.Column("components", sa.JSON(), nullable=False),
    sa.Column("predicted", sa.JSON(), nullable=False),
    sa.Column("difficulty", sa.Float(), nullable=False),
    sa.Column("hard", sa.Boolean(), nullable=False),
    sa.Column("stretch", sa.Boolean(), nullable=False),
    sa.Column("reasons", sa.JSON(), nullable=False),
    sa.Column("model_version", sa.String(_KEY), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=False),
    sa.Index("ix_decisions_agent_decided", "agent_id", "decided_at"),
    sa.Index("ix_decisions_round", "round_id"),
    sa.Index("ix_decisions_ticket", "ticket_id"),
)

outcomes = sa.Table(
    "outcomes", metadata,
    sa.Column("ticket_id", sa.String(_KEY), primary_key=True),
    sa.Column("agent_id", sa.String(_KEY), nullable=False),
    sa.Column("topic", sa.String(_KEY), nullable=False),
    sa.Column("customer_id", sa.String(_KEY), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("closed_at", UTCDateTime(), nullable=False),
    sa.Column("resolved", sa.Boolean(), nullable=False),
    sa.Column("handle_time_s", sa.Float(), nullable=False),
    sa.Column("csat", sa.Integer(), nullable=True),
    sa.Column("qa_score", sa.Float(), nullable=True),
    sa.Column("resid_resolve", sa.Float(), nullable=True),
    sa.Column("resid_log_handle", sa.Float(), nullable=True),
    sa.Column("extra", sa.JSON(), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Index("ix_outcomes_closed", "closed_at"),
    sa.Index("ix_outcomes_agent_closed", "agent_id", "closed_at"),
)

fair_share = sa.Table(
    "fair_share", metadata,
    sa.Column("agent_id", sa.String(_KEY), primary_key=True),
    sa.Column("window_start", UTCDateTime(), primary_key=True),
    sa.Column("n_assigned", sa.Integer(), nullable=False, default=0),
    sa.Column("difficulty_sum", sa.Float(), nullable=False, default=0.0),
    sa.Column("hard_n", sa.Integer(), nullable=False, default=0),
    sa.Index("ix_fair_share_window", "window_start"),
)

growth_quota = sa.Table(
    "growth_quota", metadata,
    sa.Column("agent_id", sa.String(_KEY), primary_key=True),
    sa.Column("window_start", UTCDateTime(), primary_key=True),
    sa.Column("topic", sa.String(_KEY), primary_key=True),
    sa.Column("stretch_n", sa.Integer(), nullable=False, default=0),
    sa.Index("ix_growth_quota_window", "window_start"),
)

work_items = sa.Table(
    "work_items", metadata,
    sa.Column("work_id", _ID, primary_key=True, autoincrement=True),
    sa.Column("round_id", _ID, nullable=False),  # no foreign key: truncating rounds stays possible
    sa.Column("ticket_id", sa.String(_KEY), nullable=False),
    sa.Column("agent_id", sa.String(_KEY), nullable=False),
    sa.Column("channel", sa.String(_KEY), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=True),
    sa.Column("customer_id", sa.String(_KEY), nullable=True),
    sa.Column("priority", sa.Integer(), nullable=True),
    sa.Column("capacity", sa.Integer(), nullable=True),
    sa.Column("ticket", sa.JSON(), nullable=True),  # the ticket as routed, to score it again for a hand-back
    sa.Column("decided_at", UTCDateTime(), nullable=False),
    sa.Index("ix_work_items_decided", "decided_at"),
    sa.Index("ix_work_items_round_ticket", "round_id", "ticket_id"),
    sa.Index("ix_work_items_ticket", "ticket_id"),
)

unavailability = sa.Table(
    "unavailability", metadata,
    sa.Column("period_id", _ID, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.String(_KEY), nullable=False),
    sa.Column("start_at", UTCDateTime(), nullable=False),
    sa.Column("end_at", UTCDateTime(), nullable=False),
    sa.Column("reason", sa.String(_KEY), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Index("ix_unavailability_agent_start", "agent_id", "start_at"),
    sa.Index("ix_unavailability_end", "end_at"),
)

alert_claims = sa.Table(
    "alert_claims", metadata,
    sa.Column("alert_key", sa.String(400), primary_key=True),
    sa.Column("claimed_by", sa.String(_KEY), nullable=False),
    sa.Column("claimed_at", UTCDateTime(), nullable=False),
)

ticket_holds = sa.Table(
    "ticket_holds", metadata,
    sa.Column("ticket_id", sa.String(_KEY), primary_key=True),
    sa.Column("agent_id", sa.String(_KEY), nullable=False),
    sa.Column("pulled", sa.Boolean(), nullable=False),  # taken through claim-next (locked), not pushed by a round
    sa.Column("decided_at", UTCDateTime(), nullable=False),
    sa.Column("held_until", UTCDateTime(), nullable=False),
    sa.Index("ix_ticket_holds_held_until", "held_until"),  # a round reads the holds in force
)
