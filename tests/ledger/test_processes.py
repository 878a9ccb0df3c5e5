"""Ledger across processes, on SQLite and PostgreSQL: SIGKILL loses nothing acknowledged, concurrent writers
keep counters exact, racing duplicates of a request_id end as one round.

The writers are `ledger_worker.py` subprocesses; every round they record follows its PLAN:
A1 gets 2 tickets (difficulty 0.25 + 0.5, one a stretch in "technical"), A2 one hard ticket (1.0),
A3 one ticket (0.75).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from skillmatch.ledger import FairShareCounter, Ledger
from skillmatch.ledger.tables import decisions, outcomes, rounds

WORKER = Path(__file__).with_name("ledger_worker.py")
WINDOW = datetime(2026, 11, 23, tzinfo=timezone.utc)  # the worker's window_start
TIMEOUT_S = 120


def _per_round(n: int) -> dict[str, FairShareCounter]:
    """Fair-share counters after `n` PLAN rounds."""
    return {"A1": FairShareCounter(n_assigned=2 * n, difficulty_sum=0.75 * n, hard_n=0),
            "A2": FairShareCounter(n_assigned=n, difficulty_sum=1.0 * n, hard_n=n),
            "A3": FairShareCounter(n_assigned=n, difficulty_sum=0.75 * n, hard_n=0)}


def _count(ledger: Ledger, table: sa.Table, where: sa.ColumnElement[bool] | None = None) -> int:
    stmt = sa.select(sa.func.count()).select_from(table)
    if where is not None:
        stmt = stmt.where(where)
    with ledger.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def _worker(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "SKILLMATCH_DATABASE_URL"}
    return subprocess.Popen([sys.executable, str(WORKER), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _read_line(proc: subprocess.Popen[str], expected_prefix: str) -> str:
    """The worker's next stdout line, which must start with `expected_prefix` (else kill it and show stderr)."""
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    if not line.startswith(expected_prefix):
        proc.kill()
        raise AssertionError(f"worker said {line!r}, expected {expected_prefix!r}...; stderr:\n{proc.stderr.read()}")
    return line


def _run_together(ledger_url: str, n: int, prefixes: list[str]) -> list[tuple[int, float, float]]:
    """Start one worker per prefix, release them at once, return each one's (new rounds, start, end)."""
    procs = [_worker("rounds", ledger_url, str(n), prefix) for prefix in prefixes]
    try:
        for proc in procs:
            _read_line(proc, "READY")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("GO\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT_S)
            assert proc.returncode == 0, err
            word, new, start, end = out.split()
            assert word == "DONE"
            results.append((int(new), float(start), float(end)))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_acknowledged_writes_survive_sigkill(ledger_url: str) -> None:
    Ledger.connect(ledger_url).close()  # tables exist before the worker starts
    proc = _worker("durable", ledger_url)
    acked = -1
    try:
        while acked < 25:
            acked = int(_read_line(proc, "ACK ").split()[1])
        os.kill(proc.pid, signal.SIGKILL)  # while it is writing the next rounds
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=TIMEOUT_S)
    assert proc.returncode == -signal.SIGKILL

    with Ledger.connect(ledger_url) as ledger:
        for i in range(acked + 1):
            assert ledger.find_round(f"dur-{i}") is not None, f"acknowledged round dur-{i} lost"
        stored_outcomes = {r.ticket_id for r in ledger.outcome_history()}
        assert {f"dur-{i}" for i in range(acked + 1)} <= stored_outcomes
        # whole transactions only: counters and decisions match the rounds that are there
        n_rounds = _count(ledger, rounds)
        assert acked + 1 <= n_rounds <= acked + 2
        assert _count(ledger, decisions) == 4 * n_rounds
        assert ledger.fair_share(WINDOW) == _per_round(n_rounds)
        assert ledger.growth_used(WINDOW) == {("A1", "technical"): n_rounds}
        assert n_rounds - 1 <= _count(ledger, outcomes) <= n_rounds


def test_two_processes_committing_at_once_keep_counters_exact(ledger_url: str) -> None:
    Ledger.connect(ledger_url).close()
    n = 200
    (new_a, start_a, end_a), (new_b, start_b, end_b) = _run_together(ledger_url, n, ["p1", "p2"])

    assert max(start_a, start_b) < min(end_a, end_b), "the writers did not overlap: the test proves nothing"
    assert new_a == new_b == n
    with Ledger.connect(ledger_url) as ledger:
        assert ledger.fair_share(WINDOW) == _per_round(2 * n)
        assert ledger.growth_used(WINDOW) == {("A1", "technical"): 2 * n}
        assert _count(ledger, rounds) == 2 * n
        assert _count(ledger, decisions) == 4 * 2 * n


def test_two_processes_racing_the_same_request_ids_record_each_once(ledger_url: str) -> None:
    Ledger.connect(ledger_url).close()
    n = 50
    (new_a, start_a, end_a), (new_b, start_b, end_b) = _run_together(ledger_url, n, ["race", "race"])

    assert max(start_a, start_b) < min(end_a, end_b), "the writers did not overlap: the test proves nothing"
    assert new_a + new_b == n  # every id answered as new by exactly one of them
    with Ledger.connect(ledger_url) as ledger:
        assert _count(ledger, rounds) == n
        assert _count(ledger, rounds, rounds.c.request_id.like("race-%")) == n
        assert _count(ledger, decisions) == 4 * n
        assert ledger.fair_share(WINDOW) == _per_round(n)
        assert ledger.growth_used(WINDOW) == {("A1", "technical"): n}
