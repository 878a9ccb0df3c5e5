"""A separate process writing to the ledger, for the durability and concurrency tests (run as a script).

    ledger_worker.py durable URL           rounds + outcomes dur-0, dur-1, ... printing "ACK i" after each
    ledger_worker.py rounds URL N PREFIX   prints READY, waits for a line on stdin, records rounds
                                           PREFIX-0 .. PREFIX-(N-1), prints "DONE new t_start t_end"

Every round follows PLAN, so a test knows the exact counter increments of one round.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

from skillmatch.ledger import DecisionRow, Ledger, OutcomeRow, RoundRecord

WINDOW_START = datetime(2026, 11, 23, tzinfo=timezone.utc)
DECIDED_AT = datetime(2026, 11, 23, 10, 15, tzinfo=timezone.utc)
MODEL_VERSION = "2026-11-23T09-00-00Z-ab12"
# per round: (ticket suffix, agent, topic, difficulty, hard, stretch); difficulties are exact binary fractions
PLAN = [("a", "A1", "billing", 0.25, False, False),
        ("b", "A1", "technical", 0.5, False, True),
        ("c", "A2", "billing", 1.0, True, False),
        ("d", "A3", "returns", 0.75, False, False)]
MAX_DURABLE_ROUNDS = 100_000  # the parent kills long before; a bound in case it does not


def record(ledger: Ledger, request_id: str) -> RoundRecord:
    """Record one PLAN round under `request_id`."""
    rows = [DecisionRow(request_id=request_id, ticket_id=f"{request_id}-{suffix}", agent_id=agent, topic=topic,
                        score=0.5, components={"match": 0.4, "fairness": 0.1}, predicted={"p_resolve": 0.8},
                        difficulty=difficulty, hard=hard, stretch=stretch, reasons=["test"],
                        model_version=MODEL_VERSION, decided_at=DECIDED_AT)
            for suffix, agent, topic, difficulty, hard, stretch in PLAN]
    response = {"model_version": MODEL_VERSION, "request_id": request_id,
                "assignments": [{"ticket_id": r.ticket_id, "agent_id": r.agent_id} for r in rows]}
    return ledger.record_round(request_id, f"hash-{request_id}", response, MODEL_VERSION, DECIDED_AT, rows,
                               WINDOW_START)


def outcome(ticket_id: str) -> OutcomeRow:
    """An outcome of one ticket handled by A1."""
    return OutcomeRow(ticket_id=ticket_id, agent_id="A1", topic="billing", customer_id="C1",
                      created_at=DECIDED_AT, closed_at=DECIDED_AT + timedelta(minutes=7), resolved=True,
                      handle_time_s=420.0, csat=5)


def main(argv: list[str]) -> int:
    mode, url = argv[1], argv[2]
    ledger = Ledger.connect(url)
    if mode == "durable":
        for i in range(MAX_DURABLE_ROUNDS):
            record(ledger, f"dur-{i}")
            ledger.record_outcomes([outcome(f"dur-{i}")])
            print(f"ACK {i}", flush=True)
        return 0
    n, prefix = int(argv[3]), argv[4]
    print("READY", flush=True)
    sys.stdin.readline()
    t_start = time.time()
    new = sum(not record(ledger, f"{prefix}-{i}").existing for i in range(n))
    print(f"DONE {new} {t_start} {time.time()}", flush=True)
    ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
