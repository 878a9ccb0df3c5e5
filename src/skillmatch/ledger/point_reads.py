"""One-statement reads outside a transaction, on connections kept for them: the request_id look-up of every claim.

A read through the pool checks a connection out (on PostgreSQL with a pre-ping round trip), opens a
transaction, runs the statement and commits: 0.6 ms on a local PostgreSQL and 0.07 ms on SQLite, against
0.12 and 0.005 ms for the statement alone. One SELECT needs no transaction of its own (it reads committed
rows either way), so `PointReader` runs it in autocommit on DBAPI connections detached from the pool and
kept for this use. A connection that fails is closed and dropped, and the caller reads through the pool
instead, with its retries and its errors.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import Select

_log = logging.getLogger(__name__)
MAX_IDLE = 4
"""Connections kept between reads (reads run one per thread at a time; more are closed when returned)."""


class PointReadUnavailable(Exception):
    """This read could not run on a kept connection; read through the pool instead."""


class PointStatement:
    """A SELECT compiled once for the engine's driver, with its parameters in the driver's order."""

    def __init__(self, statement: Select[Any], engine: Engine) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self.sql = compiled.string
        self._order = compiled.positiontup if compiled.positional else None

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        return values if self._order is None else tuple(values[name] for name in self._order)


class PointReader:
    """Runs `PointStatement`s in autocommit on kept DBAPI connections of `engine` (shared between threads)."""

    def __init__(self, engine: Engine, max_idle: int = MAX_IDLE) -> None:
        self._engine = engine
        # an in-memory SQLite database is the pool's one connection: it cannot be taken out of the pool
        self.enabled = not isinstance(engine.pool, StaticPool)
        self._postgres = engine.dialect.name == "postgresql"
        self._max_idle = max_idle
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False

    def first(self, statement: PointStatement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of `statement` (None: no row); PointReadUnavailable if it could not run here."""
        if not self.enabled or self._closed:
            raise PointReadUnavailable("point reads are off for this ledger")
        connection = self._take()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(statement.sql, statement.parameters(values))
                row = cursor.fetchone()
            finally:
                cursor.close()
        except Exception as error:  # noqa: BLE001 - any driver failure: drop the connection, read through the pool
            _log.info("point read failed, reading through the pool: %s", error)
            _close_quietly(connection)
            raise PointReadUnavailable(str(error)) from error
        self._give_back(connection)
        return None if row is None else tuple(row)

    def close(self) -> None:
        """Close the kept connections; later reads go through the pool."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            _close_quietly(connection)

    def _take(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            pooled = self._engine.raw_connection()
            connection = pooled.dbapi_connection
            pooled.detach()  # the DBAPI connection is ours now: never returned to the pool
            if self._postgres:
                connection.autocommit = True
        except Exception as error:  # noqa: BLE001 - the pool path reports the database's error
            raise PointReadUnavailable(str(error)) from error
        return connection

    def _give_back(self, connection: Any) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        _close_quietly(connection)


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001, S110 - a broken connection may fail to close; it is dropped either way
        pass


__all__ = ["MAX_IDLE", "PointReadUnavailable", "PointReader", "PointStatement"]
