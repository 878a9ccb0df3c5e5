"""Ledger store, on SQLite and PostgreSQL: rounds, idempotency, outcomes, counters, timestamps, errors."""
from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from skillmatch.errors import SkillmatchError
from skillmatch.ledger import (
    DEFAULT_URL,
    URL_ENV_VAR,
    DecisionRow,
    FairShareCounter,
    Ledger,
    LedgerError,
    OutcomeReport,
    OutcomeRow,
    RoundRecord,
    database_url,
)
from skillmatch.ledger import store
from skillmatch.ledger.tables import decisions, rounds

UTC = timezone.utc
WINDOW = datetime(2026, 11, 23, tzinfo=UTC)
NEXT_WINDOW = WINDOW + timedelta(days=1)
NOW = datetime(2026, 11, 23, 10, 15, 30, 123456, tzinfo=UTC)
VERSION = "2026-11-23T09-00-00Z-ab12"
T = TypeVar("T")


def _decision(request_id: str | None, ticket_id: str, agent_id: str, *, topic: str = "billing",
              difficulty: float = 0.5, hard: bool = False, stretch: bool = False,
              decided_at: datetime = NOW) -> DecisionRow:
    return DecisionRow(request_id=request_id, ticket_id=ticket_id, agent_id=agent_id, topic=topic, score=0.71,
                       components={"match": 0.64, "fairness": 0.05, "growth": 0.0, "urgency": 0.02},
                       predicted={"p_resolve": 0.88, "handle_time_s": 410.0, "difficulty": difficulty},
                       difficulty=difficulty, hard=hard, stretch=stretch,
                       reasons=["speaks es", "strong on billing"], model_version=VERSION, decided_at=decided_at)


def _round(request_id: str | None, *, tag: str = "") -> tuple[dict[str, object], list[DecisionRow]]:
    rows = [_decision(request_id, f"T1{tag}", "A7", difficulty=0.75, hard=True, stretch=True, topic="technical"),
            _decision(request_id, f"T2{tag}", "A7", difficulty=0.25),
            _decision(request_id, f"T3{tag}", "A9", difficulty=0.5)]
    response = {"model_version": VERSION, "tag": tag,
                "assignments": [{"ticket_id": r.ticket_id, "agent_id": r.agent_id, "score": r.score} for r in rows],
                "unassigned": [{"ticket_id": "T4", "reason": "no free agent speaks de"}]}
    return response, rows


def _record(ledger: Ledger, request_id: str | None, *, tag: str = "", window: datetime = WINDOW) -> RoundRecord:
    response, rows = _round(request_id, tag=tag)
    return ledger.record_round(request_id, f"hash{tag}", response, VERSION, NOW, rows, window)


def _count(ledger: Ledger, table: sa.Table) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


ROUND_COUNTERS = {"A7": FairShareCounter(n_assigned=2, difficulty_sum=1.0, hard_n=1),
                  "A9": FairShareCounter(n_assigned=1, difficulty_sum=0.5, hard_n=0)}


# ---------------------------------------------------------------------- rounds


def test_a_round_round_trips(ledger: Ledger) -> None:
    response, rows = _round("r-1")
    recorded = ledger.record_round("r-1", "hash", response, VERSION, NOW, rows, WINDOW)

    assert recorded == RoundRecord(existing=False, request_hash="hash", response=response)
    assert ledger.find_round("r-1") == RoundRecord(existing=True, request_hash="hash", response=response)
    assert ledger.find_round("r-unknown") is None
    assert ledger.agent_decisions("A7") == rows[:2]
    assert ledger.agent_decisions("A9") == rows[2:]
    assert ledger.agent_decisions("nobody") == []
    assert ledger.fair_share(WINDOW) == ROUND_COUNTERS
    assert ledger.growth_used(WINDOW) == {("A7", "technical"): 1}


def test_a_repeated_request_id_records_nothing_twice(ledger: Ledger) -> None:
    first = _record(ledger, "r-42", tag="first")
    again = _record(ledger, "r-42", tag="second")  # other tickets, other answer: must be ignored

    assert not first.existing
    assert again == RoundRecord(existing=True, request_hash="hashfirst", response=first.response)
    assert _count(ledger, rounds) == 1
    assert _count(ledger, decisions) == 3
    assert [d.ticket_id for d in ledger.agent_decisions("A7")] == ["T1first", "T2first"]
    assert ledger.fair_share(WINDOW) == ROUND_COUNTERS
    assert ledger.growth_used(WINDOW) == {("A7", "technical"): 1}


def test_without_request_id_every_call_is_a_new_round(ledger: Ledger) -> None:
    assert not _record(ledger, None).existing
    assert not _record(ledger, None).existing

    assert _count(ledger, rounds) == 2
    assert ledger.fair_share(WINDOW)["A7"] == FairShareCounter(n_assigned=4, difficulty_sum=2.0, hard_n=2)
    assert ledger.growth_used(WINDOW) == {("A7", "technical"): 2}


def test_a_duplicate_committed_by_another_writer_meanwhile_returns_the_stored_round(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lookup misses (the other writer had not committed yet), the insert hits the unique request_id."""
    first = _record(ledger, "r-7", tag="first")
    real_select = store._select_round
    misses = iter([True])

    def select_missing_once(conn: sa.Connection, request_id: str) -> RoundRecord | None:
        return None if next(misses, False) else real_select(conn, request_id)

    monkeypatch.setattr(store, "_select_round", select_missing_once)
    again = _record(ledger, "r-7", tag="second")

    assert next(misses, "used") == "used"  # the race path was taken
    assert again == RoundRecord(existing=True, request_hash="hashfirst", response=first.response)
    assert _count(ledger, rounds) == 1
    assert _count(ledger, decisions) == 3
    assert ledger.fair_share(WINDOW) == ROUND_COUNTERS


def test_a_round_without_assignments_is_recorded_for_idempotency(ledger: Ledger) -> None:
    assert not ledger.record_round("r-empty", "h", {"assignments": []}, VERSION, NOW, [], WINDOW).existing
    assert ledger.record_round("r-empty", "h2", {"x": 1}, VERSION, NOW, [], WINDOW).response == {"assignments": []}
    assert ledger.fair_share(WINDOW) == {}


def test_counters_are_kept_per_window(ledger: Ledger) -> None:
    _record(ledger, "r-1", window=WINDOW)
    _record(ledger, "r-2", tag="x", window=NEXT_WINDOW)
    _record(ledger, "r-3", tag="y", window=NEXT_WINDOW)

    assert ledger.fair_share(WINDOW) == ROUND_COUNTERS
    assert ledger.fair_share(NEXT_WINDOW)["A9"] == FairShareCounter(n_assigned=2, difficulty_sum=1.0, hard_n=0)
    assert ledger.growth_used(NEXT_WINDOW) == {("A7", "technical"): 2}
    assert ledger.fair_share(NEXT_WINDOW + timedelta(days=1)) == {}


def test_agent_decisions_since_is_inclusive_and_ordered(ledger: Ledger) -> None:
    times = [NOW + timedelta(minutes=m) for m in (10, 0, 5)]
    for i, at in enumerate(times):
        row = _decision(f"r-{i}", f"T{i}", "A1", decided_at=at)
        ledger.record_round(f"r-{i}", "h", {}, VERSION, at, [row], WINDOW)

    assert [d.ticket_id for d in ledger.agent_decisions("A1")] == ["T1", "T2", "T0"]
    assert [d.ticket_id for d in ledger.agent_decisions("A1", since=NOW + timedelta(minutes=5))] == ["T2", "T0"]


# ---------------------------------------------------------------------- timestamps


def test_timestamps_come_back_aware_utc_whatever_zone_went_in(ledger: Ledger) -> None:
    plus_two = timezone(timedelta(hours=2))
    decided_local = NOW.astimezone(plus_two)
    row = _decision("r-tz", "T1", "A1", decided_at=decided_local)
    window_naive = WINDOW.replace(tzinfo=None)  # naive means UTC
    ledger.record_round("r-tz", "h", {}, VERSION, decided_local, [row], window_naive)

    (stored,) = ledger.agent_decisions("A1")
    assert stored.decided_at == NOW and stored.decided_at.tzinfo == UTC
    assert stored.decided_at.utcoffset() == timedelta(0)
    # the same instant written in another zone finds the same window
    assert ledger.fair_share(WINDOW.astimezone(timezone(timedelta(hours=-5))))["A1"].n_assigned == 1
    assert ledger.agent_decisions("A1", since=decided_local) == [replace(row, decided_at=NOW)]


# ---------------------------------------------------------------------- outcomes


def _outcome(ticket_id: str, closed_min: int, *, agent_id: str = "A1", **changes: object) -> OutcomeRow:
    row = OutcomeRow(ticket_id=ticket_id, agent_id=agent_id, topic="billing", customer_id="C9",
                     created_at=NOW, closed_at=NOW + timedelta(minutes=closed_min), resolved=True,
                     handle_time_s=410.5, csat=4, qa_score=4.5, resid_resolve=0.12, resid_log_handle=-0.3,
                     extra={"channel": "chat", "sentiment": -0.6})
    return replace(row, **changes)


def test_outcomes_round_trip_in_closing_order(ledger: Ledger) -> None:
    rows = [_outcome("T3", 30), _outcome("T1", 10, customer_id=None, csat=None, qa_score=None, extra={}),
            _outcome("T2", 20, resolved=False, resid_resolve=None, resid_log_handle=None)]
    report = ledger.record_outcomes(rows)

    assert report == OutcomeReport(inserted=3, duplicates=0, inserted_ids=("T3", "T1", "T2"))
    assert ledger.outcome_history() == [rows[1], rows[2], rows[0]]
    assert ledger.outcome_history(since=NOW + timedelta(minutes=20)) == [rows[2], rows[0]]
    assert all(r.closed_at.tzinfo == UTC for r in ledger.outcome_history())


def test_outcomes_are_idempotent_per_ticket(ledger: Ledger) -> None:
    first = ledger.record_outcomes([_outcome("T1", 10), _outcome("T2", 20)])
    # T2 again (reported by someone else: ignored), T3 new, T3 repeated within the batch
    second = ledger.record_outcomes([_outcome("T2", 25, agent_id="B"), _outcome("T3", 30), _outcome("T3", 30)])

    assert (first.inserted, first.duplicates) == (2, 0)
    assert second == OutcomeReport(inserted=1, duplicates=2, inserted_ids=("T3",))
    assert [(r.ticket_id, r.agent_id) for r in ledger.outcome_history()] == [("T1", "A1"), ("T2", "A1"), ("T3", "A1")]
    assert ledger.record_outcomes([]) == OutcomeReport(inserted=0, duplicates=0)


def test_outcomes_recorded_since_finds_what_other_writers_stored_late(ledger: Ledger) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    ledger.record_outcomes([_outcome("T1", 10)])
    cut = datetime.now(UTC)
    ledger.record_outcomes([_outcome("T0", -50)])  # closed long ago, reported now

    assert [r.ticket_id for r in ledger.outcomes_recorded_since(before)] == ["T1", "T0"]
    assert [r.ticket_id for r in ledger.outcomes_recorded_since(cut)] == ["T0"]
    assert ledger.outcomes_recorded_since(datetime.now(UTC) + timedelta(minutes=1)) == []


def test_nan_residuals_are_stored_as_missing_on_both_backends(ledger: Ledger) -> None:
    ledger.record_outcomes([_outcome("T1", 10, resid_resolve=math.nan, qa_score=math.nan)])
    (stored,) = ledger.outcome_history()
    assert stored.resid_resolve is None and stored.qa_score is None and stored.resid_log_handle == -0.3


# ---------------------------------------------------------------------- refused input


@pytest.mark.parametrize(("changes", "message"), [
    ({"components": {"match": math.nan}}, r"components is not storable as JSON"),
    ({"predicted": {"p_resolve": object()}}, r"predicted is not storable as JSON"),
    ({"score": math.inf}, r"score must be a finite number"),
    ({"difficulty": math.nan}, r"difficulty must be a finite number"),
    ({"request_id": "other"}, r"request_id 'other' differs from the round's 'r-1'"),
    ({"model_version": "v0"}, r"model_version 'v0' differs"),
], ids=["nan-component", "object-in-predicted", "inf-score", "nan-difficulty", "other-request", "other-version"])
def test_unstorable_decisions_are_refused_and_nothing_is_written(ledger: Ledger, changes: dict[str, object],
                                                                 message: str) -> None:
    good = _decision("r-1", "T1", "A1")
    with pytest.raises(ValueError, match=message):
        ledger.record_round("r-1", "h", {}, VERSION, NOW, [good, replace(good, ticket_id="T2", **changes)], WINDOW)
    assert ledger.find_round("r-1") is None
    assert ledger.fair_share(WINDOW) == {}


@pytest.mark.parametrize(("changes", "message"), [
    ({"handle_time_s": math.nan}, r"outcome 0 \(ticket 'T1'\): handle_time_s must be a finite number"),
    ({"extra": {"x": math.inf}}, r"extra is not storable as JSON"),
    ({"ticket_id": ""}, r"ticket_id must be a non-empty string"),
], ids=["nan-handle-time", "inf-extra", "empty-ticket"])
def test_unstorable_outcomes_are_refused(ledger: Ledger, changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ledger.record_outcomes([replace(_outcome("T1", 10), **changes)])
    assert ledger.outcome_history() == []


# ---------------------------------------------------------------------- URLs, errors, SQLite settings


@pytest.mark.parametrize(("explicit", "env", "expected"), [
    ("sqlite:///a.db", "sqlite:///env.db", "sqlite:///a.db"),
    (None, "postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    (None, None, DEFAULT_URL),
    (None, "  ", DEFAULT_URL),
    ("", "sqlite:///env.db", "sqlite:///env.db"),
], ids=["explicit-wins", "env", "default", "blank-env", "blank-explicit"])
def test_database_url_precedence(monkeypatch: pytest.MonkeyPatch, explicit: str | None, env: str | None,
                                 expected: str) -> None:
    if env is None:
        monkeypatch.delenv(URL_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(URL_ENV_VAR, env)
    assert database_url(explicit) == expected


def test_default_ledger_is_a_sqlite_file_in_the_working_directory(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    with Ledger.connect() as ledger:
        monkeypatch.chdir(tmp_path.parent)  # later connections keep using the same file
        _record(ledger, "r-1")
        assert ledger.backend == "sqlite"
    assert (tmp_path / "skillmatch-ledger.db").is_file()
    with Ledger.connect(f"sqlite:///{tmp_path / 'skillmatch-ledger.db'}") as again:
        assert again.find_round("r-1") is not None


def test_the_url_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_ENV_VAR, f"sqlite:///{tmp_path / 'env.db'}")
    with Ledger.connect():
        pass
    assert (tmp_path / "env.db").is_file()


def test_sqlite_is_durable_and_concurrent(tmp_path: Path) -> None:
    with Ledger.connect(f"sqlite:///{tmp_path / 'l.db'}", busy_timeout_s=3.5) as ledger, \
            ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 3500


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test",
    "postgresql://postgres:s3cret@127.0.0.1:1/test",
], ids=["psycopg", "default-driver"])
def test_an_unreachable_postgres_raises_ledger_error_without_the_password(url: str) -> None:
    with pytest.raises(LedgerError, match=r"127\.0\.0\.1:1/test.*open failed") as caught:
        Ledger.connect(url, connect_timeout_s=3)
    assert "s3cret" not in str(caught.value)
    assert isinstance(caught.value, SkillmatchError)


@pytest.mark.parametrize(("url", "message"), [
    ("sqlite:////nonexistent-dir/sub/ledger.db", r"/nonexistent-dir/sub/ledger\.db: open failed: unable to open"),
    ("mysql://root:pw@localhost/db", r"unsupported ledger database mysql://root:\*\*\*@localhost/db"),
    ("not a url", r"cannot parse the ledger database URL 'not a url'"),
], ids=["sqlite-missing-dir", "unsupported-backend", "garbage"])
def test_a_database_that_cannot_be_opened_raises_ledger_error(url: str, message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        Ledger.connect(url)


def _hold_write_lock(path: Path, seconds: float, work: Callable[[], T]) -> T:
    """Run `work()` in a thread while another connection holds SQLite's write lock for `seconds`."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(work)
            time.sleep(seconds)
            holder.execute("ROLLBACK")
            return future.result(timeout=30)
    finally:
        holder.close()


def test_sqlite_retries_a_locked_database_with_backoff(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger.connect(f"sqlite:///{path}", busy_timeout_s=0.01) as ledger:
        recorded = _hold_write_lock(path, 0.4, lambda: _record(ledger, "r-1"))
        assert not recorded.existing
        assert ledger.fair_share(WINDOW) == ROUND_COUNTERS


def test_sqlite_gives_up_on_a_lock_that_is_not_released(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            _record(ledger, "r-1")
        except LedgerError as error:
            errors.append(error)

    with Ledger.connect(f"sqlite:///{path}", busy_timeout_s=0.01, max_attempts=3) as ledger:
        _hold_write_lock(path, 1.0, attempt)
        assert len(errors) == 1 and "record_round failed: database is locked" in str(errors[0])
        assert ledger.find_round("r-1") is None


def test_connecting_twice_keeps_the_data(ledger_url: str) -> None:
    with Ledger.connect(ledger_url) as first:
        _record(first, "r-1")
    with Ledger.connect(ledger_url) as second:
        assert second.find_round("r-1") is not None
        assert second.fair_share(WINDOW) == ROUND_COUNTERS


def test_importing_the_ledger_opens_nothing(tmp_path: Path) -> None:
    """No import-time side effects: importing creates no database file in the working directory."""
    env = {k: v for k, v in os.environ.items() if k != URL_ENV_VAR}
    code = "import skillmatch.ledger, os; print(sorted(os.listdir('.')))"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_an_in_memory_ledger_is_one_database_for_every_thread() -> None:
    """`sqlite://` (a throwaway ledger, as backtests use) must not hand each thread its own empty database."""
    with Ledger.connect("sqlite://") as ledger:
        with ThreadPoolExecutor(4) as pool:
            recorded = list(pool.map(lambda i: _record(ledger, f"r-{i}"), range(8)))
        assert not any(r.existing for r in recorded)
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(ledger.find_round, "r-3").result() is not None


# ---------------------------------------------------------------------- request_id look-ups outside transactions


def test_a_round_recorded_by_another_ledger_is_found_at_once(ledger_url: str) -> None:
    """Another replica's commit shows in the next look-up, though look-ups reuse their connections."""
    with Ledger.connect(ledger_url) as reader, Ledger.connect(ledger_url) as writer:
        assert reader.find_round("r-late") is None
        recorded = _record(writer, "r-late")
        assert reader.find_round("r-late") == RoundRecord(existing=True, request_hash="hash",
                                                           response=recorded.response)


def test_look_ups_survive_the_database_closing_their_connections(postgres_url: str) -> None:
    """After a database restart (here: the ledger's sessions terminated by the server) look-ups still answer."""
    name = f"skillmatch-restart-{os.getpid()}"
    url = make_url(postgres_url).update_query_dict({"application_name": name}).render_as_string(hide_password=False)
    with Ledger.connect(url) as ledger:
        recorded = _record(ledger, "r-restart")
        assert ledger.find_round("r-none") is None
        with Ledger.connect(postgres_url) as admin, admin.engine.connect() as conn:
            killed = conn.exec_driver_sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                          "WHERE application_name = %(name)s", {"name": name}).scalar_one()
        assert killed >= 1  # the connection kept for look-ups (taken from the pool)
        for request_id, expected in (("r-none", None), ("r-restart", recorded.response)):
            found = ledger.find_round(request_id)
            assert (found.response if found else None) == expected


def test_look_ups_after_close_still_answer(ledger_url: str) -> None:
    ledger = Ledger.connect(ledger_url)
    _record(ledger, "r-closed")
    ledger.close()
    assert ledger.find_round("r-closed") is not None
    assert ledger.find_round("r-other") is None
    ledger.close()
