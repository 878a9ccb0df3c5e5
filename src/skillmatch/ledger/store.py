"""The ledger store: routing rounds, outcomes, fair-share and growth counters, one transaction per call.

SQLite (the default, a file in the working directory) or PostgreSQL (several API replicas sharing
one ledger), chosen by URL: explicit, else `SKILLMATCH_DATABASE_URL`, else `DEFAULT_URL`.

Guarantees:
- durability: a call returns only after its transaction committed (SQLite: WAL + synchronous=FULL;
  PostgreSQL: synchronous commit), so nothing acknowledged is lost if the process is killed;
- idempotency: a request_id is recorded once (unique index; a concurrent duplicate is caught and the
  stored round returned), an outcome once per ticket_id (INSERT ... ON CONFLICT DO NOTHING);
- exact counters under concurrency: an INSERT ... ON CONFLICT DO NOTHING creates the counter row,
  then an atomic `UPDATE ... SET n = n + :d` adds to it, rows taken in sorted key order (no deadlock
  between rounds); never read-modify-write in Python;
- SQLite writers take the write lock up front (BEGIN IMMEDIATE) and wait for it (busy_timeout);
  "database is locked" and PostgreSQL serialization failures / deadlocks are retried with bounded,
  jittered backoff.
"""
from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from skillmatch.ledger.errors import LedgerError
from skillmatch.ledger.point_reads import PointReader, PointReadUnavailable, PointStatement
from skillmatch.ledger.records import (
    DecisionRow, FairShareCounter, OutcomeReport, OutcomeRow, RoundRecord, TicketHold, UnavailablePeriod, WorkItem,
)
from skillmatch.ledger.holds import release_holds, select_active_holds, select_holds, take_holds
from skillmatch.ledger.snapshot import RoutingState
from skillmatch.ledger.tables import decisions, fair_share, growth_quota, metadata, outcomes, rounds, work_items
from skillmatch.ledger.work import claim, insert_unavailable, select_unavailable, select_work, work_values

DEFAULT_URL = "sqlite:///skillmatch-ledger.db"
URL_ENV_VAR = "SKILLMATCH_DATABASE_URL"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")

BUSY_TIMEOUT_S = 10.0  # SQLite: how long one attempt waits for the write lock
CONNECT_TIMEOUT_S = 10  # PostgreSQL: how long connecting may take before the ledger is "unreachable"
MAX_ATTEMPTS = 8  # tries of one transaction on "database is locked" / serialization failure / deadlock
BACKOFF_FIRST_S = 0.02
BACKOFF_MAX_S = 1.0
ROWS_PER_INSERT = 500  # multi-row INSERTs stay well under SQLite's bound-parameter limit

_IMMEDIATE = "skillmatch_sqlite_begin_immediate"  # execution option read by the SQLite "begin" hook
_CREATE_LOCK_KEY = 0x736B6C67  # PostgreSQL advisory lock serialising create_all across replicas
_PG_TRANSIENT = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
_SQLITE_TRANSIENT = ("database is locked", "database is busy", "database table is locked")
_T = TypeVar("_T")
_log = logging.getLogger(__name__)


def database_url(explicit: str | None = None) -> str:
    """The ledger URL: `explicit`, else env SKILLMATCH_DATABASE_URL, else the SQLite file DEFAULT_URL."""
    if explicit is not None and explicit.strip():
        return explicit.strip()
    from_env = os.environ.get(URL_ENV_VAR, "").strip()
    return from_env or DEFAULT_URL


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


class _DuplicateRequest(Exception):
    """Raised inside a round's transaction when another writer recorded the same request_id first."""


class Ledger:
    """The ledger of one deployment; build it with `Ledger.connect(url)`, share it between threads."""

    def __init__(self, engine: Engine, *, url: str, max_attempts: int = MAX_ATTEMPTS,
                 rng: random.Random | None = None) -> None:
        """Wrap a configured engine (use `connect`, which configures it); `url` is shown in errors."""
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        # an in-memory database is one shared connection (see _sqlite_engine): one transaction at a time
        self._serial: AbstractContextManager[Any] = (threading.RLock() if isinstance(engine.pool, StaticPool)
                                                     else nullcontext())
        self._insert = sqlite.insert if self._sqlite else postgresql.insert
        self._max_attempts = max_attempts
        self._rng = rng if rng is not None else random.Random()
        self.url = url
        self._generation = 0
        self._generation_lock = threading.Lock()
        self._point_reads = PointReader(engine)
        self._hash_of_request = PointStatement(_HASH_OF_REQUEST, engine)

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def connect(cls, url: str | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S,
                max_attempts: int = MAX_ATTEMPTS, connect_timeout_s: int = CONNECT_TIMEOUT_S) -> Ledger:
        """Open the ledger at `database_url(url)` and create its tables if missing; LedgerError if it cannot."""
        text = database_url(url)
        shown = safe_url(text)
        try:
            parsed = make_url(text)
        except exc.ArgumentError as error:
            raise LedgerError(f"cannot parse the ledger database URL {shown!r}; expected e.g. {DEFAULT_URL} "
                              "or postgresql+psycopg://user@host:5432/dbname", url=shown) from error
        backend = parsed.get_backend_name()
        if backend not in SUPPORTED_BACKENDS:
            raise LedgerError(f"unsupported ledger database {shown}: expected a sqlite:/// or "
                              f"postgresql+psycopg:// URL, got backend {backend!r}", url=shown)
        try:
            engine = (_sqlite_engine(parsed, busy_timeout_s) if backend == "sqlite"
                      else _postgres_engine(parsed, connect_timeout_s))
        except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
            raise LedgerError(f"cannot use the ledger database {shown}: {error}", url=shown) from error
        ledger = cls(engine, url=shown, max_attempts=max_attempts)
        try:
            ledger._run("open", ledger._create_tables, write=True)
        except BaseException:
            engine.dispose()
            raise
        return ledger

    def close(self) -> None:
        """Release the pooled connections (the data is already committed)."""
        self._point_reads.close()
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        """Use as a context manager that closes the ledger on exit."""
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc_value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Close on leaving the `with` block."""
        self.close()

    @property
    def backend(self) -> str:
        """"sqlite" or "postgresql"."""
        return self._engine.dialect.name

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for administration and tests; the store's methods are the API."""
        return self._engine

    def __repr__(self) -> str:
        return f"Ledger({self.url!r})"

    @property
    def generation(self) -> int:
        """How many write transactions this object has committed (a reading taken before a write is stale)."""
        return self._generation

    def ping(self) -> None:
        """Check that the database answers (a readiness probe); LedgerError if it does not."""
        self._run("ping", lambda conn: conn.execute(sa.text("SELECT 1")).scalar_one(), write=False)

    # ------------------------------------------------------------------ routing rounds

    def record_round(self, request_id: str | None, request_hash: str, response: dict[str, Any],
                     model_version: str, decided_at: datetime, assignments: Sequence[DecisionRow],
                     window_start: datetime, holds: Sequence[TicketHold] = ()) -> RoundRecord:
        """Record a round, its decisions, its counter increments and its ticket holds atomically, or return the stored round.

        A request_id already recorded (also by a concurrent writer) returns `existing=True` with the
        stored hash and response and writes nothing; `request_id=None` means no idempotency. If another
        agent holds one of the tickets (see `skillmatch.ledger.holds`), TicketHeld is raised and nothing
        is written.
        """
        _check_json("response", response)
        for i, row in enumerate(assignments):
            _check_decision(i, row, request_id, model_version)
        fair, growth = _increments(assignments)
        values = {"request_id": request_id, "request_hash": request_hash, "model_version": model_version,
                  "decided_at": decided_at, "window_start": window_start, "n_assignments": len(assignments),
                  "response": response, "recorded_at": _now()}

        def work(conn: Connection) -> RoundRecord:
            if request_id is not None:
                stored = _select_round(conn, request_id)
                if stored is not None:
                    return stored
            try:
                round_id = conn.execute(rounds.insert(), values).inserted_primary_key[0]
            except exc.IntegrityError as error:
                if request_id is None:
                    raise
                raise _DuplicateRequest(request_id) from error
            take_holds(conn, self._insert, holds, decided_at)
            if assignments:
                conn.execute(decisions.insert(), [_decision_values(round_id, row) for row in assignments])
                conn.execute(work_items.insert(), [work_values(round_id, row) for row in assignments])
            self._add_counters(conn, window_start, fair, growth)
            return RoundRecord(existing=False, request_hash=request_hash, response=response)

        try:
            return self._run("record_round", work, write=True)
        except _DuplicateRequest as duplicate:
            assert request_id is not None
            _log.info("request_id %r was recorded concurrently by another writer; returning the stored round",
                      request_id)
            stored = self.find_round(request_id)
            if stored is None:
                raise LedgerError(f"ledger database {self.url}: record_round failed: request_id {request_id!r} "
                                  "conflicted but no stored round was found", url=self.url) from duplicate
            return stored

    def find_round(self, request_id: str) -> RoundRecord | None:
        """The stored round of a request_id (existing=True), or None if it was never recorded.

        Most request_ids are new: whether one was recorded is asked in one statement outside a transaction
        (`PointReader`); a recorded round is then read through the pool.
        """
        try:
            if self._point_reads.first(self._hash_of_request, {"request_id": request_id}) is None:
                return None
        except PointReadUnavailable:
            pass
        return self._run("find_round", lambda conn: _select_round(conn, request_id), write=False)

    def _add_counters(self, conn: Connection, window_start: datetime,
                      fair: dict[str, tuple[int, float, int]], growth: dict[tuple[str, str], int]) -> None:
        """Create missing counter rows, then add the increments atomically in the database, in key order."""
        if fair:
            agents = sorted(fair)
            for chunk in _chunks(agents, ROWS_PER_INSERT):
                conn.execute(self._insert(fair_share).values(
                    [{"agent_id": a, "window_start": window_start, "n_assigned": 0, "difficulty_sum": 0.0,
                      "hard_n": 0} for a in chunk]).on_conflict_do_nothing(
                    index_elements=[fair_share.c.agent_id, fair_share.c.window_start]))
            conn.execute(
                fair_share.update()
                .where(fair_share.c.agent_id == sa.bindparam("b_agent"),
                       fair_share.c.window_start == window_start)
                .values(n_assigned=fair_share.c.n_assigned + sa.bindparam("b_n", type_=sa.Integer()),
                        difficulty_sum=fair_share.c.difficulty_sum + sa.bindparam("b_difficulty", type_=sa.Float()),
                        hard_n=fair_share.c.hard_n + sa.bindparam("b_hard", type_=sa.Integer())),
                [{"b_agent": a, "b_n": fair[a][0], "b_difficulty": fair[a][1], "b_hard": fair[a][2]}
                 for a in agents])
        if growth:
            keys = sorted(growth)
            for chunk in _chunks(keys, ROWS_PER_INSERT):
                conn.execute(self._insert(growth_quota).values(
                    [{"agent_id": a, "window_start": window_start, "topic": t, "stretch_n": 0}
                     for a, t in chunk]).on_conflict_do_nothing(
                    index_elements=[growth_quota.c.agent_id, growth_quota.c.window_start, growth_quota.c.topic]))
            conn.execute(
                growth_quota.update()
                .where(growth_quota.c.agent_id == sa.bindparam("b_agent"),
                       growth_quota.c.window_start == window_start,
                       growth_quota.c.topic == sa.bindparam("b_topic"))
                .values(stretch_n=growth_quota.c.stretch_n + sa.bindparam("b_n", type_=sa.Integer())),
                [{"b_agent": a, "b_topic": t, "b_n": growth[(a, t)]} for a, t in keys])

    # ------------------------------------------------------------------ outcomes

    def record_outcomes(self, rows: Sequence[OutcomeRow]) -> OutcomeReport:
        """Insert outcomes in one transaction; a ticket already recorded (or repeated in `rows`) is a duplicate."""
        rows = list(rows)
        recorded_at = _now()
        batch: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i, row in enumerate(rows):
            values = _outcome_values(i, row, recorded_at)
            if values["ticket_id"] not in seen:
                seen.add(values["ticket_id"])
                batch.append(values)
        if not batch:
            return OutcomeReport(inserted=0, duplicates=len(rows))

        def work(conn: Connection) -> set[str]:
            new: set[str] = set()
            for chunk in _chunks(batch, ROWS_PER_INSERT):
                stmt = (self._insert(outcomes).values(chunk)
                        .on_conflict_do_nothing(index_elements=[outcomes.c.ticket_id])
                        .returning(outcomes.c.ticket_id))
                new.update(conn.execute(stmt).scalars())
            release_holds(conn, list(new))
            return new

        new = self._run("record_outcomes", work, write=True)
        inserted_ids = tuple(v["ticket_id"] for v in batch if v["ticket_id"] in new)
        return OutcomeReport(inserted=len(inserted_ids), duplicates=len(rows) - len(inserted_ids),
                             inserted_ids=inserted_ids)

    def holds(self, ticket_ids: Sequence[str], now: datetime) -> dict[str, TicketHold]:
        """The holds in force at `now` on these tickets (whoever took them and has not reported an outcome)."""
        return self._run("holds", lambda conn: select_holds(conn, ticket_ids, now), write=False)

    def outcome_history(self, since: datetime | None = None, agent_id: str | None = None) -> list[OutcomeRow]:
        """Stored outcomes closed at or after `since` (all if None), of one agent or all, by closed_at, ticket_id."""
        stmt = sa.select(outcomes).order_by(outcomes.c.closed_at, outcomes.c.ticket_id)
        if since is not None:
            stmt = stmt.where(outcomes.c.closed_at >= since)
        if agent_id is not None:
            stmt = stmt.where(outcomes.c.agent_id == agent_id)
        return self._run("outcome_history",
                         lambda conn: [_outcome_row(r) for r in conn.execute(stmt).mappings()], write=False)

    def outcomes_recorded_since(self, since: datetime) -> list[OutcomeRow]:
        """Outcomes stored at or after `since` by any process (for replicas catching up), oldest first."""
        stmt = (sa.select(outcomes).where(outcomes.c.recorded_at >= since)
                .order_by(outcomes.c.recorded_at, outcomes.c.ticket_id))
        return self._run("outcomes_recorded_since",
                         lambda conn: [_outcome_row(r) for r in conn.execute(stmt).mappings()], write=False)

    # ------------------------------------------------------------------ counters and audit trail

    def fair_share(self, window_start: datetime) -> dict[str, FairShareCounter]:
        """Per agent, the load carried in the window starting at `window_start` (agents with none are absent)."""
        return self._run("fair_share", lambda conn: _select_fair_share(conn, window_start), write=False)

    def growth_used(self, window_start: datetime) -> dict[tuple[str, str], int]:
        """(agent_id, topic) -> stretch tickets given in the window starting at `window_start`."""
        return self._run("growth_used", lambda conn: _select_growth_used(conn, window_start), write=False)

    def agent_decisions(self, agent_id: str, since: datetime | None = None) -> list[DecisionRow]:
        """The agent's recorded assignments decided at or after `since`, oldest first (the audit trail)."""
        stmt = (sa.select(decisions).where(decisions.c.agent_id == agent_id)
                .order_by(decisions.c.decided_at, decisions.c.decision_id))
        if since is not None:
            stmt = stmt.where(decisions.c.decided_at >= since)
        return self._run("agent_decisions",
                         lambda conn: [_decision_row(r) for r in conn.execute(stmt).mappings()], write=False)

    # ------------------------------------------------------------------ supervision

    def work_since(self, since: datetime, agent_id: str | None = None) -> list[WorkItem]:
        """Tickets routed at or after `since` (latest decision each), oldest first; open ones have no closed_at."""
        return self._run("work_since", lambda conn: select_work(conn, since, agent_id), write=False)

    def record_unavailable(self, period: UnavailablePeriod) -> int:
        """Store a period an agent spends outside the queue (end after start); returns its id."""
        if not period.end_at > period.start_at:
            raise ValueError(f"an unavailable period ends after it starts, got {period.start_at} .. {period.end_at}")
        if not period.agent_id or not period.reason:
            raise ValueError("an unavailable period needs an agent_id and a reason")
        return self._run("record_unavailable", lambda conn: insert_unavailable(conn, period, _now()), write=True)

    def routing_state(self, window_start: datetime, window_end: datetime, now: datetime) -> RoutingState:
        """Everything a round reads, in one transaction: the window's counters, periods out of the queue, holds in force."""

        def work(conn: Connection) -> RoutingState:
            periods: dict[str, list[UnavailablePeriod]] = {}
            for p in select_unavailable(conn, window_start, window_end):
                periods.setdefault(p.agent_id, []).append(p)
            return RoutingState(window_start=window_start, window_end=window_end, as_of=now,
                                fair_share=_select_fair_share(conn, window_start),
                                growth_used=_select_growth_used(conn, window_start), unavailable=periods,
                                holds=select_active_holds(conn, now))

        return self._run("routing_state", work, write=False)

    def unavailable(self, start: datetime, end: datetime,
                    agent_ids: Sequence[str] | None = None) -> list[UnavailablePeriod]:
        """Periods out of the queue that overlap [start, end), optionally of some agents only."""
        return self._run("unavailable", lambda conn: select_unavailable(conn, start, end, agent_ids), write=False)

    def claim_alerts(self, keys: Sequence[str], owner: str) -> set[str]:
        """Take on delivering the alerts `keys` not yet claimed by any process; the ones claimed now."""
        keys = sorted(set(keys))
        return self._run("claim_alerts", lambda conn: claim(conn, self._insert, keys, owner, _now()), write=True)

    # ------------------------------------------------------------------ transactions

    def _create_tables(self, conn: Connection) -> None:
        """Create missing tables; serialised across processes (SQLite write lock, PostgreSQL advisory lock)."""
        if not self._sqlite:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_CREATE_LOCK_KEY)))
        metadata.create_all(conn)

    def _run(self, what: str, work: Callable[[Connection], _T], *, write: bool) -> _T:
        """Run `work` in one transaction, retrying transient lock conflicts; database errors become LedgerError."""
        delay = BACKOFF_FIRST_S
        for attempt in range(1, self._max_attempts + 1):
            try:
                with self._serial, self._engine.connect() as conn:
                    if write and self._sqlite:
                        conn.execution_options(**{_IMMEDIATE: True})
                    with conn.begin():
                        result = work(conn)
                if write:
                    with self._generation_lock:
                        self._generation += 1
                return result
            except exc.DBAPIError as error:
                if attempt < self._max_attempts and self._transient(error):
                    _log.info("%s: transient conflict on attempt %d of %d, retrying: %s", what, attempt,
                              self._max_attempts, _reason(error))
                    time.sleep(delay * (1.0 + self._rng.random()))
                    delay = min(2.0 * delay, BACKOFF_MAX_S)
                    continue
                raise LedgerError(f"ledger database {self.url}: {what} failed: {_reason(error)}",
                                  url=self.url) from error
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _transient(self, error: exc.DBAPIError) -> bool:
        """A conflict that a fresh attempt of the same transaction can get past."""
        if error.connection_invalidated:
            return False  # the outcome of the lost transaction is unknown: do not guess
        if self._sqlite:
            return (isinstance(error.orig, sqlite3.OperationalError)
                    and any(s in str(error.orig).lower() for s in _SQLITE_TRANSIENT))
        return getattr(error.orig, "sqlstate", None) in _PG_TRANSIENT


# ---------------------------------------------------------------------- engines

def _sqlite_engine(url: URL, busy_timeout_s: float) -> Engine:
    """A SQLite engine: absolute file path, WAL, synchronous=FULL, busy_timeout, our own BEGIN."""
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        # resolve now: a relative path would follow later changes of the working directory
        url = url.set(database=str(Path(database).expanduser().resolve()))
    if database in ("", ":memory:"):
        # one in-memory database for every thread (SQLAlchemy's default gives each thread its own, empty one)
        engine = sa.create_engine(url, json_serializer=_dumps, poolclass=StaticPool,
                                  connect_args={"check_same_thread": False})
    else:
        engine = sa.create_engine(url, json_serializer=_dumps)
    busy_ms = max(0, int(busy_timeout_s * 1000))

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        """Let SQLAlchemy (not the sqlite3 module) emit BEGIN; durable, concurrent settings per connection."""
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    def on_begin(conn: Connection) -> None:
        """Writers take the write lock at BEGIN (waiting up to busy_timeout), readers do not."""
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_IMMEDIATE) else "BEGIN")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


def _postgres_engine(url: URL, connect_timeout_s: int) -> Engine:
    """A PostgreSQL engine on psycopg 3 with pre-ping (replicas survive a database restart)."""
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": int(connect_timeout_s)}
    return sa.create_engine(url, pool_pre_ping=True, json_serializer=_dumps, connect_args=connect_args)


# ---------------------------------------------------------------------- rows in and out

def _select_fair_share(conn: Connection, window_start: datetime) -> dict[str, FairShareCounter]:
    stmt = sa.select(fair_share).where(fair_share.c.window_start == window_start)
    return {r.agent_id: FairShareCounter(n_assigned=int(r.n_assigned), difficulty_sum=float(r.difficulty_sum),
                                         hard_n=int(r.hard_n)) for r in conn.execute(stmt)}


def _select_growth_used(conn: Connection, window_start: datetime) -> dict[tuple[str, str], int]:
    stmt = sa.select(growth_quota).where(growth_quota.c.window_start == window_start)
    return {(r.agent_id, r.topic): int(r.stretch_n) for r in conn.execute(stmt)}


_ROUND_OF_REQUEST = sa.select(rounds.c.request_hash, rounds.c.response).where(
    rounds.c.request_id == sa.bindparam("request_id"))
"""Built once: every claim with a request_id asks it, and building the statement cost as much as running it."""
_HASH_OF_REQUEST = sa.select(rounds.c.request_hash).where(rounds.c.request_id == sa.bindparam("request_id"))


def _select_round(conn: Connection, request_id: str) -> RoundRecord | None:
    """The stored round of a request_id inside the caller's transaction."""
    row = conn.execute(_ROUND_OF_REQUEST, {"request_id": request_id}).first()
    if row is None:
        return None
    return RoundRecord(existing=True, request_hash=row.request_hash, response=row.response)


def _increments(assignments: Sequence[DecisionRow]) -> tuple[dict[str, tuple[int, float, int]],
                                                             dict[tuple[str, str], int]]:
    """Per agent (n, difficulty, hard) and per (agent, topic) stretch counts of one round."""
    fair: dict[str, tuple[int, float, int]] = {}
    growth: dict[tuple[str, str], int] = {}
    for row in assignments:
        n, difficulty, hard = fair.get(row.agent_id, (0, 0.0, 0))
        fair[row.agent_id] = (n + 1, difficulty + float(row.difficulty), hard + int(bool(row.hard)))
        if row.stretch:
            key = (row.agent_id, row.topic)
            growth[key] = growth.get(key, 0) + 1
    return fair, growth


def _decision_values(round_id: int, row: DecisionRow) -> dict[str, Any]:
    return {"round_id": round_id, "request_id": row.request_id, "ticket_id": row.ticket_id,
            "agent_id": row.agent_id, "topic": row.topic, "score": float(row.score),
            "components": dict(row.components), "predicted": dict(row.predicted),
            "difficulty": float(row.difficulty), "hard": bool(row.hard), "stretch": bool(row.stretch),
            "reasons": list(row.reasons), "model_version": row.model_version, "decided_at": row.decided_at}


def _decision_row(r: Any) -> DecisionRow:
    return DecisionRow(request_id=r["request_id"], ticket_id=r["ticket_id"], agent_id=r["agent_id"],
                       topic=r["topic"], score=float(r["score"]), components=r["components"],
                       predicted=r["predicted"], difficulty=float(r["difficulty"]), hard=bool(r["hard"]),
                       stretch=bool(r["stretch"]), reasons=r["reasons"], model_version=r["model_version"],
                       decided_at=r["decided_at"])


def _outcome_values(i: int, row: OutcomeRow, recorded_at: datetime) -> dict[str, Any]:
    where = f"outcome {i} (ticket {row.ticket_id!r})"
    if not isinstance(row.ticket_id, str) or not row.ticket_id:
        raise ValueError(f"{where}: ticket_id must be a non-empty string")
    _check_finite(f"{where}: handle_time_s", row.handle_time_s)
    _check_json(f"{where}: extra", row.extra)
    return {"ticket_id": row.ticket_id, "agent_id": row.agent_id, "topic": row.topic,
            "customer_id": None if _missing(row.customer_id) else str(row.customer_id),
            "created_at": row.created_at, "closed_at": row.closed_at, "resolved": bool(row.resolved),
            "handle_time_s": float(row.handle_time_s),
            "csat": None if _missing(row.csat) else int(row.csat),  # type: ignore[arg-type]
            "qa_score": _optional_float(row.qa_score), "resid_resolve": _optional_float(row.resid_resolve),
            "resid_log_handle": _optional_float(row.resid_log_handle), "extra": dict(row.extra),
            "recorded_at": recorded_at}


def _outcome_row(r: Any) -> OutcomeRow:
    return OutcomeRow(ticket_id=r["ticket_id"], agent_id=r["agent_id"], topic=r["topic"],
                      customer_id=r["customer_id"], created_at=r["created_at"], closed_at=r["closed_at"],
                      resolved=bool(r["resolved"]), handle_time_s=float(r["handle_time_s"]), csat=r["csat"],
                      qa_score=r["qa_score"], resid_resolve=r["resid_resolve"],
                      resid_log_handle=r["resid_log_handle"], extra=r["extra"])


def _check_decision(i: int, row: DecisionRow, request_id: str | None, model_version: str) -> None:
    """A decision row belongs to its round and holds storable values."""
    where = f"assignment {i} (ticket {row.ticket_id!r})"
    if row.request_id != request_id:
        raise ValueError(f"{where}: request_id {row.request_id!r} differs from the round's {request_id!r}")
    if row.model_version != model_version:
        raise ValueError(f"{where}: model_version {row.model_version!r} differs from the round's {model_version!r}")
    _check_finite(f"{where}: score", row.score)
    _check_finite(f"{where}: difficulty", row.difficulty)
    _check_json(f"{where}: components", row.components)
    _check_json(f"{where}: predicted", row.predicted)
    _check_json(f"{where}: reasons", row.reasons)


def _check_finite(name: str, value: object) -> None:
    try:
        ok = math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def _check_json(name: str, value: object) -> None:
    """Refuse at the boundary what JSON cannot hold (NaN, objects), identically on both backends."""
    try:
        _dumps(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} is not storable as JSON: {error}") from error


def _dumps(value: object) -> str:
    """Strict JSON (no NaN/Infinity, which PostgreSQL refuses); datetimes as ISO text, numpy scalars as numbers."""
    return json.dumps(value, default=_json_default, allow_nan=False, separators=(",", ":"))


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _optional_float(value: object) -> float | None:
    return None if _missing(value) else float(value)  # type: ignore[arg-type]


def _reason(error: exc.DBAPIError) -> str:
    """The driver's first message line (no SQL, no parameters)."""
    lines = str(error.orig).strip().splitlines()
    return lines[0] if lines else type(error.orig).__name__


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
